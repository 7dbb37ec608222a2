#ifndef STP_FIXTURE_RWSEM_H
#define STP_FIXTURE_RWSEM_H
struct rw_semaphore {
	long count;
};
void down_read(struct rw_semaphore *sem);
int down_read_trylock(struct rw_semaphore *sem);
void up_read(struct rw_semaphore *sem);
#endif
