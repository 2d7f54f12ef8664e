/*
 * test_sse.c -- the event-stream parser. Every vector is fed whole, one
 * byte at a time and split in two at every offset, always through
 * oa__sse_space/oa__sse_ack, and must give the same events each time.
 * Events are rendered as "(type,id,data)"; one that only oa__sse_finish
 * let through is marked "!", and a NUL inside data shows as "\0".
 */
#include "oa_private.h"
#include "test.h"

/* ---------------------------------------------------------------- helpers */

struct counter {
	int calls; /* malloc and realloc calls */
	int fail;  /* refuse everything */
};

static void *
count_malloc(void *ctx, size_t n)
{
	struct counter *c = ctx;

	c->calls++;
	return c->fail ? NULL : malloc(n);
}

static void *
count_realloc(void *ctx, void *p, size_t n)
{
	struct counter *c = ctx;

	c->calls++;
	return c->fail ? NULL : realloc(p, n);
}

static void
count_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static oa_allocator
counting(struct counter *c)
{
	oa_allocator a;

	memset(c, 0, sizeof *c);
	a.malloc = count_malloc;
	a.realloc = count_realloc;
	a.free = count_free;
	a.ctx = c;
	return a;
}

static void
render(oa__buf *out, const oa__sse_event *ev, int fin)
{
	size_t i;

	oa__buf_printf(out, "%s(%s,%s,", fin ? "!" : "", ev->type, ev->id);
	for (i = 0; i < ev->len; i++) {
		if (ev->data[i] == '\0')
			oa__buf_puts(out, "\\0");
		else
			oa__buf_append(out, ev->data + i, 1);
	}
	oa__buf_puts(out, ev->data[ev->len] == '\0' ? ")" : "<no NUL>)");
}

/* Write s[0..n) through the parser's own buffer, rendering every event
 * as it completes. Returns 0 or the error of oa__sse_space. */
static int
feed(oa__sse *p, const char *s, size_t n, oa__buf *out, char *err)
{
	oa__sse_event ev;
	char *dst;
	size_t room, k;
	int r;

	do {
		r = oa__sse_space(p, &dst, &room, err);
		if (r != 0)
			return r;
		if (room < 1)
			return -100;
		k = n < room ? n : room;
		memcpy(dst, s, k);
		oa__sse_ack(p, k);
		s += k;
		n -= k;
		while ((r = oa__sse_next(p, &ev, err)) > 0)
			render(out, &ev, 0);
		if (r < 0)
			return r;
	} while (n > 0);
	return 0;
}

static void
finish(oa__sse *p, oa__buf *out)
{
	oa__sse_event ev;

	if (oa__sse_finish(p, &ev) == 1)
		render(out, &ev, 1);
}

/* ---------------------------------------------------------------- vectors */

struct vector {
	const char *name;
	const char *in;
	size_t len;
	const char *want;
};

#define V(name, in, want) { name, in, sizeof(in) - 1, want }

static const struct vector vectors[] = {
	V("plain", "data: {\"a\":1}\n\n", "(,,{\"a\":1})"),
	V("no space, [DONE]", "data:{\"a\":1}\n\ndata:[DONE]\n\n",
	  "(,,{\"a\":1})(,,[DONE])"),
	V("two spaces keep one", "data:  x\n\n", "(,, x)"),
	V("CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", "(,,a)(,,b)"),
	V("lone CR", "data: a\r\rdata: b\r\r", "(,,a)(,,b)"),
	V("CR LF is one line end", "data: a\r\ndata: b\r\n\r\n", "(,,a\nb)"),
	V("mixed ends", "data: a\r\ndata: b\n\r\ndata: c\r\n\n",
	  "(,,a\nb)(,,c)"),
	V("LF CR", "data: a\n\rdata: b\n\n", "(,,a)(,,b)"),
	V("multi-line", "data: a\ndata: b\ndata: c\n\n", "(,,a\nb\nc)"),
	V("empty data lines", "data:\n\ndata\n\ndata: \n\n", "(,,)(,,)(,,)"),
	V("two empty data lines", "data:\ndata:\n\n", "(,,\n)"),
	V("colons in value", "data: a:b: c\n\n", "(,,a:b: c)"),
	V("no data, no event", "event: x\nid\n\n\n\n", ""),
	V("type reset after dispatch",
	  "event: x\n\ndata: y\n\nevent: z\ndata: 1\n\ndata: 2\n\n",
	  "(,,y)(z,,1)(,,2)"),
	V("LM Studio error event",
	  "event: error\ndata: {\"error\":\"boom\"}\n\ndata: z\n\n",
	  "(error,,{\"error\":\"boom\"})(,,z)"),
	V("id persists",
	  "id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 9\n\ndata: d\n\n",
	  "(,7,a)(,7,b)(,,c)(,9,d)"),
	V("id with NUL ignored", "id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n",
	  "(,1,a)(,1,b)"),
	V("NUL in data", "data: a\0b\n\n", "(,,a\\0b)"),
	V("comments",
	  ": ping - 2025-01-01 00:00:00.000000\r\n\r\ndata: a\r\n\r\n"
	  ":\n: OPENROUTER PROCESSING\n\n", "(,,a)"),
	V("comment inside event", "data: a\n: keep-alive\ndata: b\n\n",
	  "(,,a\nb)"),
	V("ignored fields",
	  "retry: 1000\nfoo: bar\ndata: a\nbaz\nDATA: x\n data: y\n\n",
	  "(,,a)"),
	V("llama.cpp error line",
	  "error: {\"code\":500,\"message\":\"x\"}\n\ndata: [DONE]\n\n",
	  "(error,,{\"code\":500,\"message\":\"x\"})(,,[DONE])"),
	V("text-generation-webui",
	  "data: {\"a\":1}\r\n\r\n: ping - 2025-06-01 10:00:00.000000\r\n\r\n"
	  "data: {\"b\":2}\r\n\r\n", "(,,{\"a\":1})(,,{\"b\":2})"),
	V("BOM", "\xef\xbb\xbf" "data: a\n\n", "(,,a)"),
	V("BOM then comment", "\xef\xbb\xbf: hi\ndata: a\n\n", "(,,a)"),
	V("BOM only", "\xef\xbb\xbf", ""),
	V("BOM in data kept", "data: \xef\xbb\xbf" "a\n\n",
	  "(,,\xef\xbb\xbf" "a)"),
	V("BOM not at start kept", "data: a\n\n\xef\xbb\xbf" "data: b\n\n",
	  "(,,a)"),
	V("second BOM kept", "\xef\xbb\xbf\xef\xbb\xbf" "data: b\n\n", ""),
	V("half a BOM kept", "\xef\xbb" "data: a\n\n", ""),
	V("half a BOM line", "\xef\ndata: a\n\n", "(,,a)"),
	V("blank lines first", "\n\r\n\rdata: a\n\n", "(,,a)"),
	/* the input ends without the blank line */
	V("EOF after a JSON line", "data: {\"a\":1}\n", "!(,,{\"a\":1})"),
	V("EOF inside [DONE] line", "data: {\"a\":1}\n\ndata: [DONE]",
	  "(,,{\"a\":1})!(,,[DONE])"),
	V("EOF after CR", "data: [DONE]\r", "!(,,[DONE])"),
	V("EOF typed", "event: error\ndata: {\"e\":1}", "!(error,,{\"e\":1})"),
	V("EOF error line", "error: {\"e\":1}", "!(error,,{\"e\":1})"),
	V("EOF cut JSON", "data: {\"a\"", "!(,,{\"a\")"),
	V("EOF text dropped", "data: hello\n", ""),
	V("EOF [DONE] and space dropped", "data: [DONE] \n", ""),
	V("EOF multi-line dropped", "data: a\ndata: {\n", ""),
	V("EOF no data", "event: x\nid: 3", ""),
	V("EOF comment", ": {ping}", ""),
	V("EOF empty data", "data:", ""),
	V("EOF nothing", "", ""),
};

/* One run: the input split in two at offset split, then EOF; or, when
 * step > 0, fed step bytes at a time. */
static int
run(const struct vector *v, size_t split, size_t step, const char *mode)
{
	struct counter c;
	oa_allocator a = counting(&c);
	oa__sse p;
	oa__buf out = { 0 };
	char err[OA__ERRLEN] = "";
	size_t i;
	int r = 0, ok;

	oa__sse_init(&p, &a, 0);
	if (step) {
		for (i = 0; i < v->len && r == 0; i += step)
			r = feed(&p, v->in + i, v->len - i < step ? v->len - i
			                                          : step, &out, err);
	} else {
		r = feed(&p, v->in, split, &out, err);
		if (r == 0)
			r = feed(&p, v->in + split, v->len - split, &out, err);
	}
	finish(&p, &out);
	oa__buf_puts(&out, "");
	ok = r == 0 && out.err == 0 && strcmp(out.p, v->want) == 0;
	if (!ok)
		fprintf(stderr, "vector \"%s\", %s %zu: r=%d err=\"%s\" got "
		        "\"%s\", want \"%s\"\n", v->name, mode,
		        step ? step : split, r, err, out.p ? out.p : "",
		        v->want);
	oa__buf_free(&out);
	oa__sse_free(&p);
	return ok;
}

static void
test_vectors(void)
{
	size_t i, k;

	for (i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		const struct vector *v = &vectors[i];
		CHECK(run(v, v->len, 0, "whole"));
		CHECK(run(v, 0, 1, "bytewise"));
		for (k = 0; k <= v->len; k++)
			CHECK(run(v, k, 0, "split at"));
	}
}

/* ---------------------------------------------------------------- fields */

static void
test_long_fields_truncated(void)
{
	char in[512], want[64];
	oa__sse p;
	oa__sse_event ev;
	oa__buf out = { 0 };
	char err[OA__ERRLEN] = "";
	int n;

	oa__sse_init(&p, NULL, 0);
	memset(want, 'e', 63);
	want[63] = '\0';
	n = snprintf(in, sizeof in, "event: %s%s\nid: ", want, "eeeeeeee");
	memset(in + n, '7', 200);
	n += 200;
	n += snprintf(in + n, sizeof in - (size_t)n, "\ndata: x\n\n");
	CHECK_INT(feed(&p, in, (size_t)n, &out, err), 0);
	CHECK_INT(out.err, 0);
	CHECK_INT(out.len, 1 + 63 + 1 + 127 + 3);
	CHECK(memcmp(out.p, "(", 1) == 0);
	CHECK(memcmp(out.p + 1, want, 63) == 0);
	CHECK_INT(out.p[64], ',');
	CHECK_INT(strspn(out.p + 65, "7"), 127);
	CHECK_STR(out.p + 65 + 127, ",x)");
	CHECK_INT(oa__sse_finish(&p, &ev), 0);
	oa__buf_free(&out);
	oa__sse_free(&p);
}

static void
test_empty_parser(void)
{
	oa__sse p;
	oa__sse_event ev;
	char err[OA__ERRLEN] = "";

	oa__sse_init(&p, NULL, 0);
	CHECK_INT(oa__sse_next(&p, &ev, err), 0);
	CHECK_INT(oa__sse_finish(&p, &ev), 0);
	CHECK_STR(err, "");
	oa__sse_free(&p);
}

/* ---------------------------------------------------------------- limits */

static void
test_limit(void)
{
	char in[256], err[OA__ERRLEN] = "";
	oa__sse p;
	oa__buf out = { 0 };
	size_t i;

	/* 64 bytes: a 63-byte line and its line end fit exactly */
	oa__sse_init(&p, NULL, 64);
	memcpy(in, "data: ", 6);
	memset(in + 6, 'x', 57);
	memcpy(in + 63, "\n\n", 2);
	CHECK_INT(feed(&p, in, 65, &out, err), 0);
	CHECK_INT(out.len, 57 + 4);
	for (i = 0; i < 65; i++)
		CHECK_INT(feed(&p, in + i, 1, &out, err), 0);
	CHECK_INT(out.len, 2 * (57 + 4));
	CHECK_STR(err, "");

	/* one byte more and no line end in the buffer */
	oa__buf_reset(&out);
	oa__sse_reset(&p);
	memset(in + 6, 'x', 58);
	memcpy(in + 64, "\n\n", 2);
	CHECK_INT(feed(&p, in, 66, &out, err), OA_ERR_LIMIT);
	CHECK_HAS(err, "64");
	CHECK_HAS(err, "max_event_bytes");
	CHECK_INT(out.len, 0);

	/* usable again after a reset, with the same memory */
	err[0] = '\0';
	oa__sse_reset(&p);
	CHECK_INT(feed(&p, "data: ok\n\n", 10, &out, err), 0);
	CHECK_STR(out.p, "(,,ok)");

	/* short lines that add up to more than the limit */
	oa__buf_reset(&out);
	oa__sse_reset(&p);
	for (i = 0; i < 10; i++)
		memcpy(in + 17 * i, "data: 0123456789\n", 17);
	CHECK_INT(feed(&p, in, 170, &out, err), OA_ERR_LIMIT);
	CHECK_HAS(err, "64 bytes");
	CHECK_INT(out.len, 0);

	oa__buf_free(&out);
	oa__sse_free(&p);
}

static void
test_nomem(void)
{
	struct counter c;
	oa_allocator a = counting(&c);
	oa__sse p;
	char *dst = NULL, err[OA__ERRLEN] = "";
	size_t room = 0;

	c.fail = 1;
	oa__sse_init(&p, &a, 0);
	CHECK_INT(oa__sse_space(&p, &dst, &room, err), OA_ERR_NOMEM);
	CHECK_HAS(err, "out of memory");
	c.fail = 0;
	CHECK_INT(oa__sse_space(&p, &dst, &room, err), 0);
	CHECK(dst != NULL);
	CHECK(room >= 1);
	oa__sse_free(&p);
}

/* The default limit applies when max is 0, and growth doubles. */
static void
test_big_event(void)
{
	struct counter c;
	oa_allocator a = counting(&c);
	oa__sse p;
	oa__buf out = { 0 };
	char *in, err[OA__ERRLEN] = "";
	size_t n = 300000, i;
	int r = 0;

	in = malloc(n);
	CHECK(in != NULL);
	memcpy(in, "data: {", 7);
	memset(in + 7, 'a', n - 10);
	memcpy(in + n - 3, "}\n\n", 3);
	oa__sse_init(&p, &a, 0);
	for (i = 0; i < n && r == 0; i += 1000)
		r = feed(&p, in + i, n - i < 1000 ? n - i : 1000, &out, err);
	free(in);
	CHECK_INT(r, 0);
	CHECK_INT(out.len, 3 + (n - 8) + 1);
	CHECK(memcmp(out.p, "(,,{", 4) == 0);
	CHECK_INT(strspn(out.p + 4, "a"), n - 10);
	CHECK_STR(out.p + 4 + n - 10, "})");
	/* 4 KiB doubled up to 512 KiB: one malloc and seven reallocs */
	CHECK(c.calls >= 2 && c.calls <= 8);
	oa__buf_free(&out);
	oa__sse_free(&p);
}

/* ---------------------------------------------------------------- memory */

/* Ten thousand events in 7-byte pieces: the buffer reaches its size with
 * the first events and is never allocated again. */
static void
test_no_allocation_per_event(void)
{
	struct counter c;
	oa_allocator a = counting(&c);
	oa__sse p;
	oa__sse_event ev;
	char line[64], *dst, err[OA__ERRLEN] = "";
	size_t room, n, off, k;
	int i, got = 0, after100 = -1, r;

	oa__sse_init(&p, &a, 0);
	for (i = 0; i < 10000; i++) {
		n = (size_t)snprintf(line, sizeof line, "%sdata: {\"n\":%d}\n\n",
		                     i % 3 == 0 ? ": ping\r\n" : "", i);
		for (off = 0; off < n; off += k) {
			CHECK_INT(oa__sse_space(&p, &dst, &room, err), 0);
			k = n - off < 7 ? n - off : 7;
			k = k < room ? k : room;
			memcpy(dst, line + off, k);
			oa__sse_ack(&p, k);
			while ((r = oa__sse_next(&p, &ev, err)) > 0) {
				char want[32];
				snprintf(want, sizeof want, "{\"n\":%d}", got);
				CHECK_STR(ev.data, want);
				CHECK_INT(ev.len, strlen(want));
				got++;
			}
			CHECK_INT(r, 0);
		}
		if (i == 99)
			after100 = c.calls;
	}
	CHECK_INT(got, 10000);
	CHECK(after100 >= 1);
	CHECK_INT(c.calls, after100);
	oa__sse_free(&p);
}

/* A reset starts a new stream (BOM skipped again, id forgotten, partial
 * event dropped) in the same memory. */
static void
test_reset(void)
{
	struct counter c;
	oa_allocator a = counting(&c);
	oa__sse p;
	oa__buf out = { 0 };
	char err[OA__ERRLEN] = "";
	int calls;

	oa__sse_init(&p, &a, 0);
	CHECK_INT(feed(&p, "id: 5\ndata: a\n\nevent: t\ndata: part", 34, &out,
	               err), 0);
	CHECK_STR(out.p, "(,5,a)");
	calls = c.calls;
	oa__sse_reset(&p);
	CHECK_INT(feed(&p, "\xef\xbb\xbf" "data: b\n\n", 12, &out, err), 0);
	CHECK_STR(out.p, "(,5,a)(,,b)");
	oa__sse_reset(&p);
	CHECK_INT(feed(&p, "data: c\r", 8, &out, err), 0);
	oa__sse_reset(&p);
	CHECK_INT(feed(&p, "\ndata: d\n\n", 10, &out, err), 0);
	CHECK_STR(out.p, "(,5,a)(,,b)(,,d)");
	CHECK_INT(c.calls, calls);
	oa__buf_free(&out);
	oa__sse_free(&p);
}

/* Input that fills the buffer to its last byte: the buffer is exactly max
 * bytes from malloc, so AddressSanitizer reports any read past the input. */
static void
test_no_overread(void)
{
	static const struct vector cases[] = {
		V("JSON at EOF", "data:{\"a\":1}", "!(,,{\"a\":1})"),
		V("CR last", "data:{}\n\ndata: x\r", "(,,{})"),
		V("CR LF last", "data:{}\r\n\r\n", "(,,{})"),
		V("half a BOM", "\xef\xbb", ""),
		V("comment", ": ping", ""),
		V("data", "data", ""),
	};
	size_t i, room;
	char *dst, err[OA__ERRLEN] = "";
	oa__sse p;
	oa__sse_event ev;
	oa__buf out = { 0 };
	int r;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		oa__buf_reset(&out);
		oa__buf_puts(&out, "");
		oa__sse_init(&p, NULL, cases[i].len);
		CHECK_INT(oa__sse_space(&p, &dst, &room, err), 0);
		CHECK_INT(room, cases[i].len);
		memcpy(dst, cases[i].in, room);
		oa__sse_ack(&p, room);
		while ((r = oa__sse_next(&p, &ev, err)) > 0)
			render(&out, &ev, 0);
		CHECK_INT(r, 0);
		finish(&p, &out);
		CHECK_STR(out.p, cases[i].want);
		oa__sse_free(&p);
	}
	oa__buf_free(&out);
}

/* ---------------------------------------------------------------- main */

static const struct test tests[] = {
	{ "vectors", test_vectors },
	{ "long_fields_truncated", test_long_fields_truncated },
	{ "empty_parser", test_empty_parser },
	{ "limit", test_limit },
	{ "nomem", test_nomem },
	{ "big_event", test_big_event },
	{ "no_allocation_per_event", test_no_allocation_per_event },
	{ "reset", test_reset },
	{ "no_overread", test_no_overread },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	return test_main("sse", argc, argv, tests);
}
