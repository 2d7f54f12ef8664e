/*
 * consumer.c -- the smallest useful openagent program, instrumented: it
 * pulls a workload through oa_next() and prints what a correct client
 * prints, while a counting allocator watches the library's heap.
 *
 *     consumer text  BASE_URL   the reply text
 *     consumer args  BASE_URL   the arguments of the one tool call
 *     consumer tools BASE_URL   "NAME ARGS" per call (auto mode runs an
 *                               "add" tool), then the reply text
 *     consumer lat   BASE_URL   per text block, nanoseconds from the
 *                               server writing it to oa_next() returning it
 *     consumer stdin-lat        the same for raw SSE on standard input
 *                               (curl -sN's output): the transport floor
 *
 * Standard output gets the answer, fully buffered so printing costs
 * little; standard error gets one line "stats k=v ...": allocation calls
 * in all, those made after the first WARMUP blocks up to the last content
 * block (the steady state), the blocks counted there, and the heap's
 * high-water mark and final size in bytes.
 *
 * The allocator keeps each block's size in a 16-byte header so the live
 * total is exact; the library sees only its own pointers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "openagent.h"

#define WARMUP 1000
#define HDR 16

/* ------------------------------------------------ the counting allocator */

struct heap {
	size_t live, peak;
	unsigned long long calls;   /* malloc and realloc calls */
};

static void
grew(struct heap *h, size_t old, size_t n)
{
	h->live += n - old;
	if (h->live > h->peak)
		h->peak = h->live;
	h->calls++;
}

static void *
count_malloc(void *ctx, size_t n)
{
	unsigned char *p = malloc(n + HDR);

	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof n);
	grew(ctx, 0, n);
	return p + HDR;
}

static void *
count_realloc(void *ctx, void *q, size_t n)
{
	unsigned char *p;
	size_t old;

	if (q == NULL)
		return count_malloc(ctx, n);
	p = (unsigned char *)q - HDR;
	memcpy(&old, p, sizeof old);
	if ((p = realloc(p, n + HDR)) == NULL)
		return NULL;
	memcpy(p, &n, sizeof n);
	((struct heap *)ctx)->live -= old;
	grew(ctx, 0, n);
	return p + HDR;
}

static void
count_free(void *ctx, void *q)
{
	size_t old;

	if (q == NULL)
		return;
	memcpy(&old, (unsigned char *)q - HDR, sizeof old);
	((struct heap *)ctx)->live -= old;
	free((unsigned char *)q - HDR);
}

/* ------------------------------------------------------------- latency */

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The server's stamp is the text of the delta: decimal nanoseconds. */
static void
print_lag(const char *text, long long at)
{
	char *end;
	long long sent = strtoll(text, &end, 10);

	if (end != text)
		printf("%lld\n", at - sent);
}

/* Raw SSE from standard input: stamp each read, then look for stamps in
 * the complete lines it finished. Lines are short; a line longer than the
 * buffer is skipped whole. */
static int
stdin_lat(void)
{
	static char buf[1 << 16];
	size_t len = 0;
	ssize_t got;
	long long at;
	char *line, *nl, *c;

	while ((got = read(0, buf + len, sizeof buf - 1 - len)) > 0) {
		at = now_ns();
		len += (size_t)got;
		buf[len] = '\0';
		line = buf;
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			if ((c = strstr(line, "\"content\":\"")) != NULL)
				print_lag(c + 11, at);
			line = nl + 1;
		}
		len -= (size_t)(line - buf);
		memmove(buf, line, len);
		if (len == sizeof buf - 1)
			len = 0;
	}
	return got < 0;
}

/* ---------------------------------------------------------- the client */

static int
add(void *ctx, oa_args *args, oa_result *out)
{
	long long a, b;

	(void)ctx;
	if (oa_args_int(args, "a", &a) != 0 || oa_args_int(args, "b", &b) != 0)
		return oa_result_puts(out, "want integers a and b"), 1;
	return oa_result_printf(out, "%lld", a + b) != 0;
}

int
main(int argc, char **argv)
{
	static char obuf[1 << 20];
	static const oa_tool tools[] = {
		{"add", "Add two integers.", "a:integer b:integer", add, NULL},
		{"write_file", "Write a text file.", "path:string content:string",
		 NULL, NULL},
	};
	struct heap heap = {0, 0, 0};
	unsigned long long warm_calls = 0, blocks = 0, steady_blocks = 0;
	unsigned long long steady_calls = 0;
	const char *mode = argc > 1 ? argv[1] : "";
	int lat = strcmp(mode, "lat") == 0, r;
	oa_options opt;
	oa_client c;
	oa_block b;

	if (strcmp(mode, "stdin-lat") == 0)
		return stdin_lat();
	if (argc != 3 || (strcmp(mode, "text") != 0 && !lat &&
	                  strcmp(mode, "args") != 0 &&
	                  strcmp(mode, "tools") != 0)) {
		fputs("usage: consumer text|args|tools|lat BASE_URL\n"
		      "       consumer stdin-lat\n", stderr);
		return 2;
	}
	setvbuf(stdout, obuf, _IOFBF, sizeof obuf);

	memset(&opt, 0, sizeof opt);
	opt.base_url = argv[2];
	opt.model = "qwen2.5-7b-instruct-q4_k_m";
	opt.allocator.malloc = count_malloc;
	opt.allocator.realloc = count_realloc;
	opt.allocator.free = count_free;
	opt.allocator.ctx = &heap;
	opt.proxy = "";
	if (strcmp(mode, "tools") == 0) {
		opt.tools = tools;
		opt.ntools = 1;
		opt.auto_execute_tools = 1;
		opt.max_tool_iterations = 1000;
		opt.max_turns = 1001;
	} else if (strcmp(mode, "args") == 0) {
		opt.tools = tools + 1;
		opt.ntools = 1;
	} else {
		/* A stream consumer needs no history: with stateless the
		 * reply text is not gathered, so memory is flat however
		 * long the stream (the text still goes to stdout). */
		opt.stateless = 1;
		opt.max_response_bytes = (size_t)1 << 40;
	}
	if ((r = oa_init(&c, &opt)) == 0)
		r = oa_query(&c, "Write a long answer.");
	while (r == 0 && (r = oa_next(&c, &b)) > 0) {
		if (++blocks == WARMUP)
			warm_calls = heap.calls;
		if (b.type == OA_BLOCK_TEXT && lat)
			print_lag(b.text, now_ns());
		else if (b.type == OA_BLOCK_TEXT)
			fwrite(b.text, 1, b.text_len, stdout);
		else if (b.type == OA_BLOCK_TOOL_USE && mode[0] == 't')
			printf("%s %s\n", b.name, b.input);
		else if (b.type == OA_BLOCK_TOOL_USE)
			fwrite(b.input, 1, b.input_len, stdout);
		if (blocks > WARMUP && (b.type == OA_BLOCK_TEXT ||
		                        b.type == OA_BLOCK_TOOL_USE)) {
			steady_calls = heap.calls - warm_calls;
			steady_blocks = blocks - WARMUP;
		}
		r = 0;
	}
	if (r < 0)
		fprintf(stderr, "consumer: %s: %s\n", oa_strerror(r),
		        oa_errmsg(&c));
	oa_free(&c);
	fflush(stdout);
	fprintf(stderr, "stats allocs=%llu steady_allocs=%llu steady_blocks=%llu"
	        " blocks=%llu heap_peak=%zu heap_end=%zu\n", heap.calls,
	        steady_calls, steady_blocks, blocks, heap.peak, heap.live);
	return r < 0;
}
