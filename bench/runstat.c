/*
 * runstat.c -- run one command and write what it cost to a file:
 *
 *     runstat OUT CMD [ARG...]
 *
 * OUT gets one line: "EXIT CPU WALL MAXRSS", the exit status (128 + the
 * signal if it was killed), user + system CPU seconds and wall seconds of
 * the child, and its peak resident set in KB. wait4() is not POSIX; with
 * a single child, getrusage(RUSAGE_CHILDREN) after waitpid() is the same.
 *
 * Why a C program and not the Python driver's own fork: on Linux a child's
 * peak RSS starts from its parent's at fork() and survives exec(), so a
 * child forked by a 40 MB Python process reports at least 40 MB. This
 * process is small, so the figure is the command's own (plus well under
 * 1 MB).
 */
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double
seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	pid_t pid;
	int st, code;
	FILE *f;

	if (argc < 3) {
		fputs("usage: runstat OUT CMD [ARG...]\n", stderr);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) < 0) {
		perror("runstat: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid ||
	    getrusage(RUSAGE_CHILDREN, &ru) != 0) {
		perror("runstat: waitpid");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if ((f = fopen(argv[1], "w")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	fprintf(f, "%d %.6f %.6f %ld\n", code,
	        seconds(ru.ru_utime) + seconds(ru.ru_stime),
	        (double)(t1.tv_sec - t0.tv_sec) +
	        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, ru.ru_maxrss);
	return fclose(f) != 0;
}
