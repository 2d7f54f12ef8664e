/*
 * sse.c -- an incremental text/event-stream parser: bytes in, complete
 * events out, whatever the split. It knows nothing of sockets or JSON.
 *
 * The buffer. The caller reads straight into buf (oa__sse_space gives the
 * free tail, oa__sse_ack counts what arrived), so nothing is copied on the
 * way in. buf holds three regions, in this order:
 *
 *     [0, out)      the current event's data lines, already joined, each
 *                   followed by '\n'
 *     [out, scan)   consumed lines, garbage
 *     [scan, len)   bytes not yet parsed: at most one partial line once
 *                   oa__sse_next has returned 0
 *
 * A data line's value is moved down to out as the line is parsed. The
 * write never overtakes the read: "data:" plus a line end is longer than
 * the '\n' that joins the value. So an event is built in place, and the
 * dispatched data is a NUL-terminated string inside buf (the final '\n'
 * becomes the NUL). oa__sse_space closes the garbage gap by moving the
 * short unparsed tail down, and grows buf (doubling) only when the data
 * plus the partial line fill it: only while one event is larger than any
 * before it, never per feed. max bounds the growth.
 *
 * The states are flags, not a machine, because each concerns one byte:
 * started (the first line, which may begin with a UTF-8 BOM to skip, has
 * been read) and cr_pending (the last line ended in CR, so an LF arriving
 * next is the rest of that line end, not a blank line). seen remembers
 * how far the partial line has been searched for a line end, so a long
 * line arriving in small pieces is scanned once. The event type has two
 * buffers: the one on loan with the last event, and the one being read
 * for the next (type[cur]); a dispatch swaps them.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "oa_private.h"

/* ---------------------------------------------------------------- fields */

/* s[0..n) is the field name lit (a string literal; case matters) */
#define IS(s, n, lit) ((n) == sizeof(lit) - 1 && memcmp(s, lit, n) == 0)

/* Apply one line, buf[at, end) without its line end. Returns 1 for the
 * blank line that dispatches. A ':' line is a comment (its field name is
 * empty). */
static int
line(oa__sse *p, size_t at, size_t end)
{
	const char *s = p->buf + at, *e = p->buf + end, *colon, *v;
	char *type = p->type[p->cur];
	size_t fn, vn;
	long ms = 0;

	/* a UTF-8 BOM at the very start of the stream is skipped */
	if (!p->started && end - at >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	p->started = 1;
	if (s == e)
		return 1;
	colon = memchr(s, ':', (size_t)(e - s));
	fn = (size_t)((colon ? colon : e) - s);
	v = colon ? colon + 1 + (colon + 1 < e && colon[1] == ' ') : e;
	vn = (size_t)(e - v);
	/* Older llama.cpp servers write "error: {json}" instead of a data
	 * line; it reaches the client as an event of type "error". */
	if (IS(s, fn, "error"))
		strcpy(type, "error");
	if (IS(s, fn, "data") || IS(s, fn, "error")) {
		memmove(p->buf + p->out, v, vn);
		p->out += vn;
		p->buf[p->out++] = '\n';
	} else if (IS(s, fn, "event")) {
		/* too long a value is cut to fit: neither field matters to
		 * the caller beyond its first few bytes */
		snprintf(type, sizeof p->type[0], "%.*s", (int)vn, v);
	} else if (IS(s, fn, "id") && memchr(v, '\0', vn) == NULL) {
		snprintf(p->id, sizeof p->id, "%.*s", (int)vn, v);
	} else if (IS(s, fn, "retry") && vn > 0 && vn < 10) {
		/* kept for callers that reconnect (MCP); only digits count */
		for (; vn > 0 && *v >= '0' && *v <= '9'; v++, vn--)
			ms = ms * 10 + (*v - '0');
		if (vn == 0)
			p->retry_ms = ms;
	}
	/* other fields: ignored, as specified */
	return 0;
}

/* A blank line: hand out the event if it has data (its last '\n' becomes
 * the NUL), else just forget its type. The id is kept, as the standard
 * says. */
static int
dispatch(oa__sse *p, oa__sse_event *ev)
{
	int had = p->out > 0;

	if (had) {
		p->buf[--p->out] = '\0';
		*ev = (oa__sse_event){ p->buf, p->out, p->type[p->cur],
		                       p->id };
		p->out = 0;
		p->cur ^= 1;
	}
	p->type[p->cur][0] = '\0';
	return had;
}

/* ---------------------------------------------------------------- life */

OA_PRIVATE void
oa__sse_init(oa__sse *p, const oa_allocator *a, size_t max)
{
	*p = (oa__sse){ .alloc = a, .max = max ? max : OA_MAX_EVENT_BYTES,
	                .retry_ms = -1 };
}

OA_PRIVATE void
oa__sse_reset(oa__sse *p)
{
	/* the stream's state: every field from len on */
	memset(&p->len, 0, sizeof *p - offsetof(oa__sse, len));
	p->retry_ms = -1;
}

OA_PRIVATE void
oa__sse_free(oa__sse *p)
{
	oa__free(p->alloc, p->buf);
	oa__sse_init(p, p->alloc, p->max);
}

/* ---------------------------------------------------------------- input */

OA_PRIVATE int
oa__sse_space(oa__sse *p, char **dst, size_t *room, char *err)
{
	size_t cap = p->cap ? p->cap * 2 : 4096;
	char *b;

	if (p->scan > p->out) {
		memmove(p->buf + p->out, p->buf + p->scan, p->len - p->scan);
		p->len -= p->scan - p->out;
		p->scan = p->out;
	}
	if (p->len == p->cap) {
		if (p->cap >= p->max)
			return oa__fail(err, OA_ERR_LIMIT, "an event is larger "
			                "than %zu bytes (max_event_bytes)", p->max);
		if (cap > p->max)
			cap = p->max;
		if ((b = oa__realloc(p->alloc, p->buf, cap)) == NULL)
			return oa__fail(err, OA_ERR_NOMEM, "out of memory growing "
			                "the event buffer to %zu bytes", cap);
		p->buf = b;
		p->cap = cap;
	}
	*dst = p->buf + p->len;
	*room = p->cap - p->len;
	return 0;
}

OA_PRIVATE void
oa__sse_ack(oa__sse *p, size_t n)
{
	p->len += n < p->cap - p->len ? n : p->cap - p->len;
}

/* ---------------------------------------------------------------- output */

OA_PRIVATE int
oa__sse_next(oa__sse *p, oa__sse_event *ev, char *err)
{
	const char *nl, *cr;
	size_t at, end;

	(void)err; /* every byte sequence is a valid stream */
	if (p->len == 0)
		return 0;
	for (;;) {
		if (p->cr_pending && p->scan < p->len) {
			p->scan += p->buf[p->scan] == '\n';
			p->cr_pending = 0;
		}
		/* Where the line ends: its first '\n' or '\r', or len. memchr
		 * reads a word or more at a time, where a loop testing each
		 * byte for both cost as much as parsing the event's JSON. */
		at = p->scan + p->seen;
		nl = memchr(p->buf + at, '\n', p->len - at);
		end = nl ? (size_t)(nl - p->buf) : p->len;
		if ((cr = memchr(p->buf + at, '\r', end - at)) != NULL)
			end = (size_t)(cr - p->buf);
		if (end == p->len) {
			p->seen = end - p->scan;
			return 0;
		}
		at = p->scan;
		p->scan = end + 1;
		p->seen = 0;
		p->cr_pending = p->buf[end] == '\r';
		if (line(p, at, end) && dispatch(p, ev))
			return 1;
	}
}

OA_PRIVATE int
oa__sse_finish(oa__sse *p, oa__sse_event *ev)
{
	if (p->scan < p->len)
		line(p, p->scan, p->len);
	p->scan = p->len;
	p->seen = 0;
	/* The standard drops an event without its blank line. A "[DONE]" or
	 * a JSON object is kept: a proxy may have eaten the last line end. */
	if (!(p->out == 7 && memcmp(p->buf, "[DONE]", 6) == 0) &&
	    !(p->out > 0 && p->buf[0] == '{'))
		p->out = 0;
	return dispatch(p, ev);
}
