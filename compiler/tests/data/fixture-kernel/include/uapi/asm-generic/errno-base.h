/* Error numbers of the fixture kernel. */
#define	EPERM		 1
#define	ENOENT		 2
#define	ESRCH		 3
#define	EINTR		 4
#define	EBADF		 9
#define	EACCES		13
#define	EINVAL		22
