/* Signal numbers of the fixture kernel (x86). */
#define SIGHUP		 1
#define SIGINT		 2
#define SIGQUIT		 3
#define SIGKILL		 9
#define SIGUSR1		10
#define SIGSEGV		11
#define SIGTERM		15
#define SIGCHLD		17
