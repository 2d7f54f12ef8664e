/*
 * jsondepth.c -- CPU per byte of the JSON reader against nesting, for
 * bench/run.py:
 *
 *     jsondepth [MAX_DEPTH [MAX_LEVELS]]
 *
 * One line per input, "NAME BYTES RESULT US_PER_PARSE US_PER_KB", each
 * input parsed into a fresh oa__json (so nothing of an earlier parse is
 * reused, as with a hostile server that varies every event) until 0.2 s
 * of CPU have gone, under the default limits. The inputs:
 *   flat       an event whose junk member is an array of short strings
 *   deepN      the same event with N nested arrays in place of the junk
 *              (the hostile event of 65,000 levels that cost seconds)
 *   nests      back-to-back arrays nested exactly MAX_DEPTH deep (default
 *              256, OA_MAX_JSON_DEPTH), up to the token limit: the
 *              deepest text the limits let through, which costs jsmn the
 *              most (it walks up the closed levels at each ']')
 * It uses only oa__json_parse and oa__json_free, so it also builds
 * against an older library for a before/after comparison.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "openagent.h"
#include "oa_private.h"

#define HEAD "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]," \
             "\"junk\":"

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse text[0..n) over and over for 0.2 s; print one line. */
static void
measure(const char *name, const char *text, size_t n)
{
	char *copy = malloc(n), err[OA__ERRLEN];
	double t0 = cpu_now(), t;
	oa__json j;
	long runs = 0;
	int r;

	if (copy == NULL)
		exit(1);
	do {
		memcpy(copy, text, n);
		memset(&j, 0, sizeof j);
		r = oa__json_parse(&j, copy, n, err);
		oa__json_free(&j);
		runs++;
		t = cpu_now() - t0;
	} while (t < 0.2);
	printf("%s %zu %s %.1f %.3f\n", name, n, r == 0 ? "ok" :
	       r == OA_ERR_LIMIT ? "limit" : "error", t / (double)runs * 1e6,
	       t / (double)runs * 1e6 / ((double)n / 1024));
	fflush(stdout);
	free(copy);
}

/* HEAD, then levels '[' and as many ']', then '}'. */
static size_t
deep(char *o, size_t levels)
{
	size_t n = strlen(HEAD);

	memcpy(o, HEAD, n);
	memset(o + n, '[', levels);
	memset(o + n + levels, ']', levels);
	n += 2 * levels;
	o[n++] = '}';
	return n;
}

/* HEAD, then an array of short strings, then '}': about n bytes. */
static size_t
flat(char *o, size_t n)
{
	size_t m = strlen(HEAD);

	memcpy(o, HEAD, m);
	o[m++] = '[';
	while (m + 12 < n)
		m += (size_t)sprintf(o + m, "\"abcdefgh\",");
	memcpy(o + m, "\"a\"]}", 5);
	return m + 5;
}

int
main(int argc, char **argv)
{
	static const size_t levels[] = { 10000, 20000, 40000, 100000 };
	size_t depth = argc > 1 ? (size_t)atol(argv[1]) : 256, n, i, k;
	size_t size = 2 * levels[3] + strlen(HEAD) + 1;
	char *o = malloc(size + 64), name[32];

	if (o == NULL || depth == 0)
		return 1;
	for (i = 0; i < sizeof levels / sizeof levels[0]; i++) {
		if (argc > 2 && levels[i] > (size_t)atol(argv[2]))
			break;   /* jsondepth 256 N: no deeper than N levels */
		/* flat first, at the same size: the reference */
		n = flat(o, 2 * levels[i] + strlen(HEAD) + 1);
		snprintf(name, sizeof name, "flat%zu", levels[i]);
		measure(name, o, n);
		n = deep(o, levels[i]);
		snprintf(name, sizeof name, "deep%zu", levels[i]);
		measure(name, o, n);
	}
	/* depth-deep nests while they fit in the default token limit */
	n = 0;
	o[n++] = '[';
	for (k = 0; (k + 1) * depth + 1 <= OA_MAX_JSON_TOKENS &&
	            n + 2 * depth + 2 < size; k++) {
		if (k > 0)
			o[n++] = ',';
		memset(o + n, '[', depth - 1);
		memset(o + n + depth - 1, ']', depth - 1);
		n += 2 * (depth - 1);
	}
	o[n++] = ']';
	measure("nests", o, n);
	free(o);
	return 0;
}
