/* Scheduler statistics of the fixture kernel. */
extern unsigned long total_forks;
extern int nr_threads;
