/*
 * stream.c -- what the client receives: one server-sent event (or one
 * whole completion, or an error answer) into blocks on the queue.
 *
 * Each event's JSON is parsed where it lies in the SSE buffer and its
 * strings unescaped in place, so a text block points into the receive
 * buffer. The rules come from what servers really send
 * (docs/provider-compatibility.md): usage on any chunk, the choice with
 * index 0, content as a string or an array of parts, reasoning under
 * either name, finish_reason only when a non-empty string, errors in any
 * of the shapes servers use, and content that some servers repeat whole
 * in every chunk instead of sending the new piece.
 *
 * The reply text grows in p->text (for the history) unless nothing will
 * read it (stateless without tools). Tool-call fragments go to
 * toolcalls.c. With a text filter on (textfilter.c), content goes through
 * it first and it hands back text, thinking and tool calls.
 */
#include <stdio.h>
#include <string.h>

#include "oa_private.h"

#define ERRBODY_MAX (64 * 1024)

/* see oa_private.h */
OA_PRIVATE void
oa__reply_reset(struct oa__client *p)
{
	p->finished = 0;
	p->finish[0] = '\0';
	memset(&p->usage, 0, sizeof p->usage);
	p->response_bytes = 0;
	p->text_mode = OA__TEXT_UNKNOWN;
	oa__buf_reset(&p->text);
	oa__buf_reset(&p->held);
	oa__buf_reset(&p->seen);
	if (p->filter)
		oa__modules.filter->reset(p->filter);
}

/* see oa_private.h */
OA_PRIVATE int
oa__count(struct oa__client *p, size_t n)
{
	p->response_bytes += n;
	if (p->response_bytes > p->max_response)
		return oa__fail_turn(p, OA_ERR_LIMIT, "the reply exceeds "
		                     "max_response_bytes (%zu bytes)",
		                     p->max_response);
	return 0;
}

/* What the text filter releases: text, thinking, or a tool call the model
 * wrote as text. */
static int
drain_filter(struct oa__client *p)
{
	oa__tf_seg seg;
	int r;

	while ((r = oa__modules.filter->next(p->filter, &seg, p->errmsg)) > 0) {
		if (seg.type == OA__TF_TOOL_CALL)
			r = oa__modules.filter->add_call(p, &seg);
		else if (seg.type == OA__TF_TEXT &&
		         oa__buf_append(&p->text, seg.text, seg.len))
			r = oa__fail_turn(p, p->text.err, "out of memory");
		else
			r = oa__modules.filter->queue(p, &seg);
		if (r != 0)
			return r;
	}
	return r < 0 ? oa__fail_turn(p, r, NULL) : 0;
}

/* New text of the reply: to the caller as a block and to the history,
 * through the text filter when one is on. */
static int
emit_text(struct oa__client *p, const char *s, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = oa__count(p, n)) != 0)
		return r;
	if (p->filter) {
		if (oa__buf_append(&p->seen, s, n))
			return oa__fail_turn(p, p->seen.err, "out of memory");
		r = oa__modules.filter->feed(p->filter, s, n, p->errmsg);
		return r ? oa__fail_turn(p, r, NULL) : drain_filter(p);
	}
	/* Stateless without tools: once the chunks are known to be deltas
	 * nothing needs the text, so it is not gathered. */
	if (!(p->stateless && p->tools.n == 0 &&
	      p->text_mode == OA__TEXT_DELTA) &&
	    oa__buf_append(&p->text, s, n))
		return oa__fail_turn(p, p->text.err, "no memory to keep the "
		                     "reply text");
	return oa__queue(p, OA_BLOCK_TEXT, s, n, NULL);
}

/*
 * Some LM Studio and llama.cpp builds send the whole text so far in every
 * chunk instead of the new piece. A chunk that starts with all the text so
 * far is the sign, but a genuine delta can look like that too ("a" then
 * "ab"). So the second chunk, if it looks cumulative, is held back until
 * the third decides: only a cumulative server makes the third chunk start
 * with the second as well. A reply that ends while a chunk is held is
 * taken as deltas, which loses nothing.
 */
static int
add_content(struct oa__client *p, const char *s, size_t n)
{
	oa__buf *t = p->filter ? &p->seen : &p->text, *h = &p->held;
	int r;

	if (n == 0)
		return 0;
	switch (p->text_mode) {
	case OA__TEXT_UNKNOWN:
		if (t->len == 0)
			return emit_text(p, s, n);
		if (n > t->len && memcmp(s, t->p, t->len) == 0) {
			oa__buf_reset(h);
			if (oa__buf_append(h, s, n))
				return oa__fail_turn(p, h->err, "holding a "
				                     "chunk");
			p->text_mode = OA__TEXT_SUSPECT;
			return 0;
		}
		p->text_mode = OA__TEXT_DELTA;
		return emit_text(p, s, n);
	case OA__TEXT_SUSPECT:
		if (n >= h->len && memcmp(s, h->p, h->len) == 0) {
			size_t old = t->len;
			p->text_mode = OA__TEXT_CUMULATIVE;
			if ((r = emit_text(p, h->p + old, h->len - old)) != 0)
				return r;
			return emit_text(p, s + h->len, n - h->len);
		}
		p->text_mode = OA__TEXT_DELTA;
		if ((r = emit_text(p, h->p, h->len)) != 0)
			return r;
		return emit_text(p, s, n);
	case OA__TEXT_CUMULATIVE:
		if (n >= t->len && memcmp(s, t->p, t->len) == 0)
			return emit_text(p, s + t->len, n - t->len);
		return emit_text(p, s, n);
	default:
		return emit_text(p, s, n);
	}
}

/* see oa_private.h */
OA_PRIVATE int
oa__reply_flush(struct oa__client *p)
{
	int r;

	if (p->text_mode == OA__TEXT_SUSPECT) {
		p->text_mode = OA__TEXT_DELTA;
		if ((r = emit_text(p, p->held.p, p->held.len)) != 0)
			return r;
	}
	if (p->filter) {
		oa__modules.filter->finish(p->filter);
		return drain_filter(p);
	}
	return 0;
}

/* A content value: a string, or an array of parts whose text is joined. */
static int
take_content(struct oa__client *p, int t)
{
	oa__json *j = &p->json;
	size_t n;
	const char *s;
	int k;

	if ((s = oa__json_str(j, t, &n)) != NULL)
		return add_content(p, s, n);
	if (oa__json_type(j, t) != OA__JSON_ARRAY)
		return 0;
	oa__buf_reset(&p->parts);
	for (k = oa__json_first(j, t); k >= 0; k = oa__json_next(j, k))
		if ((s = oa__json_str(j, oa__json_get(j, k, "text"), &n)))
			oa__buf_append(&p->parts, s, n);
	if (p->parts.err)
		return oa__fail_turn(p, p->parts.err, "joining content parts");
	return add_content(p, p->parts.p ? p->parts.p : "", p->parts.len);
}

static int
take_thinking(struct oa__client *p, int d)
{
	oa__json *j = &p->json;
	const char *s[2];
	size_t n[2] = {0, 0};
	int i, r;

	s[0] = oa__json_str(j, oa__json_get(j, d, "reasoning_content"), &n[0]);
	s[1] = oa__json_str(j, oa__json_get(j, d, "reasoning"), &n[1]);
	/* Some servers send both names as aliases of one text. */
	if (s[0] && s[1] && n[0] == n[1] && memcmp(s[0], s[1], n[0]) == 0)
		s[1] = NULL;
	for (i = 0; i < 2; i++)
		if (s[i] && n[i] && ((r = oa__count(p, n[i])) != 0 ||
		    (r = oa__queue(p, OA_BLOCK_THINKING, s[i], n[i], NULL))))
			return r;
	return 0;
}

static void
take_usage(struct oa__client *p, int u)
{
	static const char *const names[] = {"prompt_tokens",
	                                     "completion_tokens",
	                                     "total_tokens"};
	long long *v[3];
	int i;

	if (oa__json_type(&p->json, u) != OA__JSON_OBJECT)
		return;
	memset(&p->usage, 0, sizeof p->usage);
	p->usage.present = 1;
	v[0] = &p->usage.prompt_tokens;
	v[1] = &p->usage.completion_tokens;
	v[2] = &p->usage.total_tokens;
	for (i = 0; i < 3; i++)
		if (oa__json_int(&p->json, oa__json_get(&p->json, u, names[i]),
		                 v[i]) != 0)
			*v[i] = 0;
}

/* ---------------------------------------------------------------- errors */

/* Copy a server's message into errmsg: printable, whitespace collapsed,
 * cut short. UTF-8 passes through; control bytes become spaces. */
static void
set_server_message(struct oa__client *p, const char *prefix, const char *s,
                   size_t n)
{
	size_t o, i, max = 200;
	int space = 0, tag = 0;

	if (p->errmsg[0] != '\0')
		return;
	o = (size_t)snprintf(p->errmsg, sizeof p->errmsg, "%s", prefix);
	for (i = 0; i < n && o + 4 < sizeof p->errmsg && max > 0; i++) {
		unsigned char ch = (unsigned char)s[i];
		/* HTML error pages: keep the words, drop the tags */
		if (ch == '<' && s[0] == '<')
			tag = 1;
		if (tag) {
			if (ch == '>')
				tag = 0, space = 1;
			continue;
		}
		if (ch <= ' ' || ch == 0x7f) {
			space = 1;
			continue;
		}
		if (space && o > strlen(prefix)) {
			p->errmsg[o++] = ' ';
			max--;
		}
		space = 0;
		p->errmsg[o++] = (char)ch;
		max--;
	}
	if (i < n && max == 0) {
		/* do not leave half a UTF-8 character */
		while (o > 0 && ((unsigned char)p->errmsg[o - 1] & 0xc0) == 0x80)
			o--;
		if (o > 0 && ((unsigned char)p->errmsg[o - 1] & 0xc0) == 0xc0)
			o--;
		memcpy(p->errmsg + o, "...", 3);
		o += 3;
	}
	p->errmsg[o] = '\0';
}

/* The message of an error document in any shape servers use, or NULL:
 * {"error":{"message"}}, {"error":"..."}, {"detail":"..."},
 * {"detail":[{"msg"}]}, {"message":...}. */
static const char *
error_text(oa__json *j, size_t *n)
{
	int e = oa__json_get(j, 0, "error"), d;
	const char *s;

	if (oa__json_type(j, e) == OA__JSON_STRING)
		return oa__json_str(j, e, n);
	if (oa__json_type(j, e) == OA__JSON_OBJECT) {
		if ((s = oa__json_str(j, oa__json_get(j, e, "message"), n)))
			return s;
		return oa__json_raw(j, e, n);
	}
	d = oa__json_get(j, 0, "detail");
	if ((s = oa__json_str(j, d, n)))
		return s;
	if ((s = oa__json_str(j, oa__json_get(j, oa__json_at(j, d, 0), "msg"),
	                      n)))
		return s;
	return oa__json_str(j, oa__json_get(j, 0, "message"), n);
}

/* Does this parsed document report an error? A truthy "error" member, or
 * "object":"error". */
static int
is_error_doc(oa__json *j)
{
	int e = oa__json_get(j, 0, "error");
	int t = oa__json_type(j, e);
	size_t n = 0;

	if (t == OA__JSON_OBJECT || t == OA__JSON_TRUE)
		return 1;
	if (t == OA__JSON_STRING && oa__json_raw(j, e, &n) && n > 0)
		return 1;
	return oa__json_eq(j, oa__json_get(j, 0, "object"), "error");
}

static int
server_error(struct oa__client *p, const char *fallback, size_t n)
{
	size_t len = 0;
	const char *s = error_text(&p->json, &len);

	set_server_message(p, "", s ? s : fallback, s ? len : n);
	return oa__fail_turn(p, OA_ERR_SERVER, NULL);
}

/* ---------------------------------------------------------------- chunks */

/* One chunk of the stream, or a whole non-streamed completion (whole set):
 * its choices become queued blocks. */
static int
take_chunk(struct oa__client *p, int whole)
{
	oa__json *j = &p->json;
	int ch, c, d, f, r;
	long long idx;
	size_t n;
	const char *s;

	take_usage(p, oa__json_get(j, 0, "usage"));
	ch = oa__json_get(j, 0, "choices");
	/* We ask for one choice; take index 0 (or the first one). */
	for (c = oa__json_first(j, ch); c >= 0; c = oa__json_next(j, c))
		if (oa__json_int(j, oa__json_get(j, c, "index"), &idx) != 0 ||
		    idx == 0)
			break;
	if (c < 0 && (c = oa__json_at(j, ch, 0)) < 0)
		return 0;
	d = oa__json_get(j, c, whole ? "message" : "delta");
	if (oa__json_type(j, d) == OA__JSON_OBJECT &&
	    ((r = take_thinking(p, d)) != 0 ||
	     (r = take_content(p, oa__json_get(j, d, "content"))) != 0 ||
	     (r = oa__take_tool_calls(p, oa__json_get(j, d, "tool_calls")))))
		return r;
	f = oa__json_get(j, c, "finish_reason");
	if ((s = oa__json_str(j, f, &n)) != NULL && n > 0) {
		snprintf(p->finish, sizeof p->finish, "%.*s", (int)n, s);
		p->finished = 1;
	}
	return 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__take_event(struct oa__client *p, oa__sse_event *ev)
{
	const char *s = ev->data;
	size_t n = ev->len;
	int r;

	oa__trim(&s, &n);
	if (n == 0)
		return 0;
	if (n == 6 && memcmp(s, "[DONE]", 6) == 0) {
		p->state = OA__ENDING;
		return 0;
	}
	if (*s != '{' && *s != '[') {
		/* mistral.rs sends its errors as plain text */
		set_server_message(p, "", s, n);
		return oa__fail_turn(p, OA_ERR_SERVER, NULL);
	}
	/* s lies inside ev->data, which may be changed in place */
	r = oa__json_parse(&p->json, ev->data + (s - ev->data), n, p->errmsg);
	if (r != 0)
		return oa__fail_turn(p, r, NULL);
	if (strcmp(ev->type, "error") == 0 || is_error_doc(&p->json))
		return server_error(p, s, n);
	return take_chunk(p, 0);
}

/* ---------------------------------------------------------------- bodies */

/* Read the rest of a (non-stream) body into scratch, up to limit bytes. */
static int
read_body(struct oa__client *p, size_t limit)
{
	oa__buf *b = &p->scratch;
	size_t got;
	int r;

	oa__buf_reset(b);
	for (;;) {
		if (b->len >= limit)
			return oa__fail(p->errmsg, OA_ERR_LIMIT, "the response "
			                "body exceeds %zu bytes", limit);
		if (oa__buf_reserve(b, 4096))
			return b->err;
		r = oa__http_read(&p->http, b->p + b->len, b->cap - b->len - 1,
		                  &got, p->errmsg);
		if (r != 0 || got == 0)
			return r;
		b->len += got;
		b->p[b->len] = '\0';
	}
}

/* see oa_private.h */
OA_PRIVATE int
oa__check_head(struct oa__client *p)
{
	const oa__http *h = &p->http;
	const char *ct = h->content_type;
	char url[160], q[48] = "";

	/* a non-2xx answer is oa__take_http_error's */
	if (h->status < 200 || h->status > 299)
		return 0;
	oa__url_text(&h->url, p->path, url, sizeof url);
	if (h->status == 204)
		return oa__fail(p->errmsg, OA_ERR_STREAM, "HTTP 204 (no "
		                "content) from %s: a reply was expected", url);
	if (h->coding[0] != '\0')
		return oa__fail(p->errmsg, OA_ERR_STREAM, "HTTP %d from %s "
		                "has %s, which this client does not decode (it "
		                "asks for identity)", h->status, url, h->coding);
	/* No Content-Type at all is taken for a stream, as before. */
	if (ct[0] != '\0' && strcmp(ct, "text/event-stream") != 0 &&
	    strcmp(ct, "application/json") != 0) {
		oa__quote(q, sizeof q, ct, strlen(ct), 40);
		return oa__fail(p->errmsg, OA_ERR_STREAM, "HTTP %d from %s is "
		                "%s, not an event stream or JSON: is that the "
		                "API's base URL?", h->status, url, q);
	}
	return 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__take_http_error(struct oa__client *p)
{
	char prefix[224], url[160];
	const char *s, *t;
	size_t n, m = 0;
	int r, st = p->http.status;

	r = read_body(p, ERRBODY_MAX);
	if (r != 0 && r != OA_ERR_LIMIT)
		p->scratch.len = 0; /* report the status alone */
	if (p->http.coding[0] != '\0')
		p->scratch.len = 0; /* gzip would print as noise */
	p->errmsg[0] = '\0';
	if ((st == 400 || st == 422) && !p->no_stream_options &&
	    p->scratch.len > 0 && strstr(p->scratch.p, "stream_options")) {
		/* Some servers reject the field; ask once more without it. */
		p->no_stream_options = 1;
		if ((r = oa__build_request(p)) != 0)
			return oa__fail_turn(p, r, NULL);
		p->state = OA__SEND;
		p->requests--;
		return 0;
	}
	/* Every message names the URL requested: a wrong base URL (the
	 * web UI's port, a missing /v1) is the commonest cause. */
	oa__url_text(&p->http.url, p->path, url, sizeof url);
	if (st >= 300 && st < 400 && p->http.location[0])
		/* redirects are not followed: a base URL should not move */
		return oa__fail_turn(p, OA_ERR_HTTP, "HTTP %d from %s: "
		                     "redirected to %.100s (redirects are not "
		                     "followed)", st, url, p->http.location);
	s = p->scratch.p ? p->scratch.p : "";
	n = p->scratch.len;
	if (n > 0 && oa__json_parse(&p->json, p->scratch.p, n, NULL) == 0 &&
	    (t = error_text(&p->json, &m)) != NULL)
		s = t, n = m;
	snprintf(prefix, sizeof prefix, "HTTP %d from %s%s", st,
	         st == 407 ? "the proxy, for " : "", url);
	if (p->http.coding[0] != '\0')
		return oa__fail_turn(p, OA_ERR_HTTP, "%s (its body has %s, "
		                     "not shown)", prefix, p->http.coding);
	if (n == 0)
		return oa__fail_turn(p, OA_ERR_HTTP, "%s", prefix);
	strcat(prefix, ": ");
	set_server_message(p, prefix, s, n);
	return oa__fail_turn(p, OA_ERR_HTTP, NULL);
}

/* see oa_private.h */
OA_PRIVATE int
oa__take_completion(struct oa__client *p)
{
	int r = read_body(p, p->sse.max);

	if (r == 0)
		r = oa__json_parse(&p->json, p->scratch.p, p->scratch.len,
		                   p->errmsg);
	if (r != 0)
		return oa__fail_turn(p, r, NULL);
	if (is_error_doc(&p->json))
		return server_error(p, p->scratch.p, p->scratch.len);
	if ((r = take_chunk(p, 1)) != 0)
		return r;
	p->state = OA__ENDING;
	return 0;
}
