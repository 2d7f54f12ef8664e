/*
 * fuzz.h -- what every fuzz target shares: a counting allocator, a check
 * that aborts (so libFuzzer keeps the input), an input cursor that lets
 * the first bytes choose options, and, built with -DMAIN, a main() that
 * replays files so the corpus runs as an ordinary test with any compiler.
 *
 * A target #includes the .c files it tests (so their static functions
 * are reachable), defines FUZZ_NAME, includes this file, then defines
 * LLVMFuzzerTestOneInput. The replay main runs every file named on the command
 * line (a directory: every file in it), or with no arguments the files of
 * fuzz/corpus/NAME and fuzz/regressions/NAME, and ends with the runner's
 * usual line, "NAME: N passed, 0 failed". A failed check aborts: in
 * replay that is a crash the test script reports.
 */
#ifndef OA_FUZZ_H
#define OA_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n",         \
			        __FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

/* ------------------------------------------------------------ allocator */

/* Counts live blocks, so a target can demand zero once a client is freed
 * (LeakSanitizer sees leaks too, but not in the plain replay build). */
struct fuzz_heap {
	long live;
};

static void *
fuzz_malloc(void *ctx, size_t n)
{
	void *p = malloc(n);

	if (p != NULL)
		((struct fuzz_heap *)ctx)->live++;
	return p;
}

static void *
fuzz_realloc(void *ctx, void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q != NULL && p == NULL)
		((struct fuzz_heap *)ctx)->live++;
	return q;
}

static void
fuzz_free(void *ctx, void *p)
{
	if (p != NULL)
		((struct fuzz_heap *)ctx)->live--;
	free(p);
}

static inline oa_allocator
fuzz_allocator(struct fuzz_heap *h)
{
	oa_allocator a;

	h->live = 0;
	a.malloc = fuzz_malloc;
	a.realloc = fuzz_realloc;
	a.free = fuzz_free;
	a.ctx = h;
	return a;
}

/* ---------------------------------------------------------------- input */

/* The input, read from the front: option bytes first, the rest is data.
 * Past the end every byte reads as 0, so any input is a valid one. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline unsigned
fuzz_byte(struct fuzz_in *in)
{
	unsigned b = 0;

	if (in->n > 0) {
		b = in->p[0];
		in->p++;
		in->n--;
	}
	return b;
}

/* A private copy of the rest, in an allocation of exactly its size, so
 * that ASan catches a read one byte past it. NULL for an empty rest. */
static inline char *
fuzz_copy(const struct fuzz_in *in)
{
	char *s;

	if (in->n == 0)
		return NULL;
	s = malloc(in->n);
	FUZZ_CHECK(s != NULL);
	memcpy(s, in->p, in->n);
	return s;
}

/* ---------------------------------------------------------------- replay */
#ifdef MAIN
#include <dirent.h>
#include <sys/stat.h>

static int fuzz_replayed;

static void
fuzz_replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (f == NULL) {
		fprintf(stderr, "%s: cannot open\n", path);
		exit(1);
	}
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
			FUZZ_CHECK(buf != NULL);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	fuzz_replayed++;
}

static void
fuzz_replay(const char *path, int must_exist)
{
	struct dirent *e;
	struct stat st;
	char sub[4096];
	DIR *d;

	if (stat(path, &st) != 0) {
		if (must_exist) {
			fprintf(stderr, "%s: no such file\n", path);
			exit(1);
		}
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		fuzz_replay_file(path);
		return;
	}
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		fuzz_replay(sub, 1);
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	int i;

	/* The empty input, and (NULL, 0) as libFuzzer may pass it. */
	LLVMFuzzerTestOneInput(NULL, 0);
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	for (i = 1; i < argc; i++)
		fuzz_replay(argv[i], 1);
	if (argc < 2) {
		fuzz_replay("fuzz/corpus/" FUZZ_NAME, 0);
		fuzz_replay("fuzz/regressions/" FUZZ_NAME, 0);
	}
	printf("fuzz_%s: %d passed, 0 failed\n", FUZZ_NAME, fuzz_replayed);
	return fuzz_replayed == 0;
}
#endif

#endif
