/*
 * fuzz_sse.c -- the SSE parser (sse.c) against arbitrary bytes.
 *
 * Input: byte 0 picks the event limit, byte 1 how many bytes each feed
 * carries; the rest is the stream. It is parsed twice: once fed whole
 * with the default limit (the reference), once in small feeds under the
 * chosen limit. Each event is rendered as "type|id|data" into a log. The
 * split run must log exactly what the reference logs, or, when it hit its
 * limit, a prefix of it: splitting may never change an event, and a limit
 * may only stop the stream, never bend it.
 */
#include "../util.c"
#include "../sse.c"

#define FUZZ_NAME "sse"
#include "fuzz.h"

static void
log_event(oa__buf *log, const oa__sse_event *ev)
{
	/* the loan: a NUL-terminated string inside the parser's buffer */
	FUZZ_CHECK(ev->data != NULL && ev->data[ev->len] == '\0');
	FUZZ_CHECK(strlen(ev->type) < 64 && strlen(ev->id) < 128);
	oa__buf_printf(log, "%s|%s|%zu:", ev->type, ev->id, ev->len);
	oa__buf_append(log, ev->data, ev->len);
	oa__buf_append(log, "\n", 1);
	/* the caller may rewrite the data in place (JSON unescaping) */
	memset(ev->data, 'x', ev->len);
}

/* Parse s[0..n) in feeds of at most step bytes; returns 0 or the error
 * that stopped it (only OA_ERR_LIMIT is possible). */
static int
parse(const char *s, size_t n, size_t max, size_t step, oa__buf *log)
{
	struct fuzz_heap heap;
	oa_allocator a = fuzz_allocator(&heap);
	oa__sse p;
	oa__sse_event ev;
	char err[OA__ERRLEN] = "", *dst;
	size_t room, k, at = 0;
	int r = 0;

	oa__sse_init(&p, &a, max);
	FUZZ_CHECK(oa__sse_next(&p, &ev, err) == 0); /* nothing fed yet */
	while (at < n) {
		if ((r = oa__sse_space(&p, &dst, &room, err)) != 0)
			break;
		FUZZ_CHECK(room >= 1);
		k = n - at < room ? n - at : room;
		if (k > step)
			k = step;
		memcpy(dst, s + at, k);
		oa__sse_ack(&p, k);
		at += k;
		while ((r = oa__sse_next(&p, &ev, err)) > 0)
			log_event(log, &ev);
		FUZZ_CHECK(r == 0);
	}
	if (r == 0 && oa__sse_finish(&p, &ev))
		log_event(log, &ev);
	if (r != 0) {
		FUZZ_CHECK(r == OA_ERR_LIMIT && strstr(err, "max_event_bytes"));
	} else {
		/* after the end the parser is empty, and reusable */
		FUZZ_CHECK(oa__sse_next(&p, &ev, err) == 0);
		oa__sse_reset(&p);
		FUZZ_CHECK(oa__sse_next(&p, &ev, err) == 0);
	}
	oa__sse_free(&p);
	FUZZ_CHECK(heap.live == 0);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	size_t max = 16 + fuzz_byte(&in) * 8;
	size_t step = 1 + fuzz_byte(&in) % 64;
	char *s = fuzz_copy(&in);
	oa__buf whole = { 0 }, split = { 0 };
	int r;

	FUZZ_CHECK(parse(s, in.n, in.n + 4096, in.n + 1, &whole) == 0);
	r = parse(s, in.n, max, step, &split);
	FUZZ_CHECK(whole.err == 0 && split.err == 0);
	if (r == 0)
		FUZZ_CHECK(split.len == whole.len);
	FUZZ_CHECK(split.len <= whole.len);
	FUZZ_CHECK(split.len == 0 ||
	           memcmp(split.p, whole.p, split.len) == 0);
	oa__buf_free(&whole);
	oa__buf_free(&split);
	free(s);
	return 0;
}
