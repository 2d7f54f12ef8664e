/*
 * stream.c -- what the client receives: the head of an answer, then one
 * server-sent event (or one whole completion, or an error answer) into
 * blocks on the queue.
 *
 * Each event's JSON is parsed where it lies in the SSE buffer and its
 * strings unescaped in place, so a text block points into the receive
 * buffer. The rules come from what servers really send
 * (docs/provider-compatibility.md): usage on any chunk, the choice with
 * index 0, content as a string or an array of parts, reasoning under
 * either name, finish_reason only when a non-empty string, errors in any
 * of the shapes servers use.
 *
 * The reply text grows in p->text (for the history) unless nothing will
 * read it (stateless without tools). Tool-call fragments go to
 * toolcalls.c. Content some servers resend whole in every chunk is cut
 * back to the new piece (cumulative()). With a
 * text filter on (textfilter.c), content goes through it and it hands
 * back text, thinking and tool calls.
 */
#include <stdio.h>
#include <string.h>

#include "oa_private.h"

/* see oa_private.h */
OA_PRIVATE void
oa__reply_reset(struct oa__client *p)
{
	p->finish[0] = '\0';
	memset(&p->usage, 0, sizeof p->usage);
	p->response_bytes = 0;
	p->text_mode = OA__TEXT_UNKNOWN;
	oa__buf_reset(&p->text);
	oa__buf_reset(&p->seen);
	if (p->filter)
		oa__modules.filter->reset(p->filter);
}

/* see oa_private.h */
OA_PRIVATE int
oa__count(struct oa__client *p, size_t n)
{
	if ((p->response_bytes += n) > p->max_response)
		return oa__fail_turn(p, OA_ERR_LIMIT, "the reply exceeds "
		                     "max_response_bytes (%zu bytes)",
		                     p->max_response);
	return 0;
}

/*
 * Some LM Studio and llama.cpp builds send the whole text so far in every
 * chunk instead of the new piece. A chunk that starts with all the text so
 * far is the sign, but a genuine delta can look like that too ("a" then
 * "ab"). So the second chunk, if it looks cumulative, is held back (in
 * p->held) until the third decides: only a cumulative server makes the
 * third chunk start with the second as well. A reply that ends while a
 * chunk is held is taken as deltas, which loses nothing. p->seen keeps the
 * text as received while it may matter.
 */

/* Does s[0..n) start with all of b? */
static int
starts(const char *s, size_t n, const oa__buf *b)
{
	return n >= b->len && memcmp(s, b->p, b->len) == 0;
}

/* New text of the reply: kept in seen until the chunks are known to be
 * deltas, then to the caller as a block and to the history, through the
 * text filter when one is on (it keeps the history's copy itself). */
static int
emit(struct oa__client *p, const char *s, size_t n)
{
	/* stateless without tools, nothing reads the history */
	int keep = !p->filter && !(p->stateless && p->tools.n == 0), r = 0;

	if (n == 0 || (r = oa__count(p, n)) != 0)
		return r;
	if ((p->text_mode != OA__TEXT_DELTA &&
	     oa__buf_append(&p->seen, s, n)) ||
	    (keep && oa__buf_append(&p->text, s, n)))
		return oa__fail_turn(p, OA_ERR_NOMEM, "out of memory");
	return p->filter ? oa__modules.filter->feed(p, s, n)
	                 : oa__queue(p, OA_BLOCK_TEXT, s, n, NULL);
}

/* A content value s[0..n) (n > 0), or s NULL at the end of a reply
 * that left a chunk held. */
static int
cumulative(struct oa__client *p, const char *s, size_t n)
{
	oa__buf *t = &p->seen, *h = &p->held;
	size_t skip;
	int r;

	if (p->text_mode == OA__TEXT_UNKNOWN && t->len > 0) {
		if (n > t->len && starts(s, n, t)) {
			p->text_mode = OA__TEXT_SUSPECT;
			oa__buf_reset(h);
			return oa__buf_append(h, s, n)
			       ? oa__fail_turn(p, h->err, "out of memory") : 0;
		}
		p->text_mode = OA__TEXT_DELTA;
	}
	if (p->text_mode == OA__TEXT_SUSPECT) {
		/* the held chunk: its new part, or all of it */
		skip = s && starts(s, n, h) ? t->len : 0;
		p->text_mode = skip ? OA__TEXT_CUMULATIVE : OA__TEXT_DELTA;
		if ((r = emit(p, h->p + skip, h->len - skip)) != 0 || s == NULL)
			return r;
	}
	if (p->text_mode == OA__TEXT_CUMULATIVE && starts(s, n, t))
		return emit(p, s + t->len, n - t->len);
	return emit(p, s, n);
}

/* see oa_private.h */
OA_PRIVATE int
oa__reply_flush(struct oa__client *p)
{
	int r = p->text_mode == OA__TEXT_SUSPECT ? cumulative(p, NULL, 0) : 0;

	return r || !p->filter ? r : oa__modules.filter->feed(p, NULL, 0);
}

/* A delta (or a whole message): thinking under either name, content, then
 * tool calls. */
static int
take_delta(struct oa__client *p, int d)
{
	oa__json *j = &p->json;
	int t = oa__json_get(j, d, "content"), i, r;
	const char *s[2], *c;
	size_t n[2], k;

	s[0] = oa__json_str(j, oa__json_get(j, d, "reasoning_content"), &n[0]);
	s[1] = oa__json_str(j, oa__json_get(j, d, "reasoning"), &n[1]);
	/* Some servers send both names as aliases of one text. */
	if (n[0] && n[1] == n[0] && memcmp(s[0], s[1], n[0]) == 0)
		n[1] = 0;
	for (i = 0; i < 2; i++)
		if (n[i] && ((r = oa__count(p, n[i])) != 0 ||
		    (r = oa__queue(p, OA_BLOCK_THINKING, s[i], n[i], NULL))))
			return r;
	/* content: a string, or an array of parts whose text is joined */
	if ((c = oa__json_str(j, t, &k)) == NULL &&
	    oa__json_type(j, t) == OA__JSON_ARRAY) {
		oa__buf_reset(&p->parts);
		for (i = oa__json_first(j, t); i >= 0; i = oa__json_next(j, i))
			if ((c = oa__json_str(j, oa__json_get(j, i, "text"), &k)))
				oa__buf_append(&p->parts, c, k);
		if (p->parts.err)
			return oa__fail_turn(p, p->parts.err, "out of memory");
		c = p->parts.p;
		k = p->parts.len;
	}
	if (k && (r = cumulative(p, c, k)) != 0)
		return r;
	return oa__take_tool_calls(p, oa__json_get(j, d, "tool_calls"));
}

/* ---------------------------------------------------------------- errors */

/* End the turn with code and a server's message, appended to errmsg (its
 * prefix, or empty): printable, whitespace collapsed, cut short. UTF-8
 * passes through; control bytes become spaces; an HTML page keeps its
 * words, not its tags. The message is that of the error document parsed
 * in p->json (root 0; -1: none) in any shape servers use:
 * {"error":"..."}, {"error":{"message"}} (or the error object whole),
 * {"detail":"..."}, {"detail":[{"msg"}]}, {"message":...}; else s[0..n)
 * as it is. */
static int
server_message(struct oa__client *p, int code, int root, const char *s,
               size_t n)
{
	oa__json *j = &p->json;
	int e = oa__json_get(j, root, "error"), tag = 0;
	int d = oa__json_get(j, root, "detail");
	char *out = p->errmsg;
	const char *m;
	size_t o = strlen(out), start = o, i, len;

	if ((m = oa__json_str(j, e, &len)) ||
	    (m = oa__json_str(j, oa__json_get(j, e, "message"), &len)) ||
	    (oa__json_type(j, e) == OA__JSON_OBJECT &&
	     (m = oa__json_raw(j, e, &len))) ||
	    (m = oa__json_str(j, d, &len)) ||
	    (m = oa__json_str(j, oa__json_get(j, oa__json_at(j, d, 0), "msg"),
	                      &len)) ||
	    (m = oa__json_str(j, oa__json_get(j, root, "message"), &len))) {
		s = m;
		n = len;
	}
	for (i = 0; i < n && o < start + 200 && o + 4 < OA__ERRLEN; i++) {
		unsigned char ch = (unsigned char)s[i];

		tag |= ch == '<' && s[0] == '<';
		if (!tag && ch > ' ' && ch != 0x7f)
			out[o++] = (char)ch;
		else if (o > start && out[o - 1] != ' ')
			out[o++] = ' ';
		tag &= ch != '>';
	}
	while (o > start && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	if (i < n && o + 3 < OA__ERRLEN) {
		/* drop the last character whole: no half of a UTF-8 one */
		while (o > start && ((unsigned char)out[--o] & 0xc0) == 0x80)
			;
		strcpy(out + o, "...");
	}
	return oa__fail_turn(p, code, NULL);
}

/* ---------------------------------------------------------------- chunks */

/* One chunk of the stream, or a whole non-streamed completion (whole set),
 * in text[0..len): an error (error set: an "error" event), or its choices
 * as queued blocks. */
static int
take_chunk(struct oa__client *p, char *text, size_t len, int whole,
           int error)
{
	oa__json *j = &p->json;
	int ch, c, e, t, r = oa__json_parse(j, text, len, p->errmsg);
	const char *s = text;
	size_t n = len;
	long long idx;

	if (r != 0)
		return oa__fail_turn(p, r, NULL);
	/* an error: a truthy "error" member, or "object":"error" */
	t = oa__json_type(j, (e = oa__json_get(j, 0, "error")));
	if (error || t == OA__JSON_OBJECT || t == OA__JSON_TRUE ||
	    (t == OA__JSON_STRING && !oa__json_eq(j, e, "")) ||
	    oa__json_eq(j, oa__json_get(j, 0, "object"), "error"))
		return server_message(p, OA_ERR_SERVER, 0, s, n);
	/* usage on any chunk; a count that is no integer stays 0 */
	if (oa__json_type(j, (e = oa__json_get(j, 0, "usage"))) ==
	    OA__JSON_OBJECT) {
		p->usage = (oa_usage){.present = 1};
		oa__json_int(j, oa__json_get(j, e, "prompt_tokens"),
		             &p->usage.prompt_tokens);
		oa__json_int(j, oa__json_get(j, e, "completion_tokens"),
		             &p->usage.completion_tokens);
		oa__json_int(j, oa__json_get(j, e, "total_tokens"),
		             &p->usage.total_tokens);
	}
	ch = oa__json_get(j, 0, "choices");
	/* We ask for one choice; take index 0 (or the first one). */
	for (c = oa__json_first(j, ch); c >= 0; c = oa__json_next(j, c))
		if (oa__json_int(j, oa__json_get(j, c, "index"), &idx) != 0 ||
		    idx == 0)
			break;
	if (c < 0 && (c = oa__json_at(j, ch, 0)) < 0)
		return 0;
	/* rule 11 of WIRE.md: the delta first, then the finish */
	if ((r = take_delta(p, oa__json_get(j, c, whole ? "message"
	                                                : "delta"))) != 0)
		return r;
	if ((s = oa__json_str(j, oa__json_get(j, c, "finish_reason"), &n)) &&
	    n > 0)
		snprintf(p->finish, sizeof p->finish, "%.*s", (int)n, s);
	return 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__take_event(struct oa__client *p, oa__sse_event *ev)
{
	const char *s = ev->data;
	size_t n = ev->len;

	oa__trim(&s, &n);
	if (n == 6 && memcmp(s, "[DONE]", 6) == 0)
		p->state = OA__ENDING;
	else if (n > 0 && *s != '{' && *s != '[')
		/* mistral.rs sends its errors as plain text */
		return server_message(p, OA_ERR_SERVER, -1, s, n);
	else if (n > 0)
		/* s lies inside ev->data, which may be changed in place */
		return take_chunk(p, ev->data + (s - ev->data), n, 0,
		                  strcmp(ev->type, "error") == 0);
	return 0;
}

/* ---------------------------------------------------------------- bodies */

/* Read the rest of a (non-stream) body into scratch, up to the limit of
 * an event. */
static int
read_body(struct oa__client *p)
{
	oa__buf *b = &p->scratch;
	size_t got;
	int r;

	oa__buf_reset(b);
	for (;;) {
		if (b->len >= p->sse.max)
			return oa__fail(p->errmsg, OA_ERR_LIMIT, "the response "
			                "body exceeds %zu bytes", p->sse.max);
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
oa__take_head(struct oa__client *p)
{
	const oa__http *h = &p->http;
	const char *ct = h->content_type, *s;
	char url[160], what[224], q[48] = "";
	size_t n;
	int r, st = h->status, ok = st >= 200 && st <= 299;

	/* Every message names the URL requested: a wrong base URL (the
	 * web UI's port, a missing /v1) is the commonest cause. */
	oa__url_text(&h->url, p->path, url, sizeof url);
	snprintf(what, sizeof what, "HTTP %d%s from %s%s", st,
	         st == 204 ? " (no content)" : "",
	         st == 407 ? "the proxy, for " : "", url);
	if (st == 204)
		return oa__fail_turn(p, OA_ERR_STREAM, "%s: a reply was "
		                     "expected", what);
	if (st >= 300 && st < 400 && h->location[0])
		/* redirects are not followed: a base URL should not move */
		return oa__fail_turn(p, OA_ERR_HTTP, "%s: redirected to %.100s "
		                     "(redirects are not followed)", what,
		                     h->location);
	/* a coded body (gzip) would read as noise */
	if (h->coding[0] != '\0')
		return ok ? oa__fail_turn(p, OA_ERR_STREAM, "%s has %s, which "
		                          "this client does not decode (it "
		                          "asks for identity)", what, h->coding)
		          : oa__fail_turn(p, OA_ERR_HTTP, "%s (its body has "
		                          "%s, not shown)", what, h->coding);
	/* No Content-Type at all is taken for a stream, as before. */
	if (ok && (ct[0] == '\0' || strcmp(ct, "text/event-stream") == 0)) {
		p->state = OA__STREAM;
		return 0;
	}
	if (ok && strcmp(ct, "application/json") != 0) {
		oa__quote(q, sizeof q, ct, strlen(ct), 40);
		return oa__fail_turn(p, OA_ERR_STREAM, "%s is %s, not an event "
		                     "stream or JSON: is that the API's base "
		                     "URL?", what, q);
	}
	r = read_body(p);
	if (ok) {
		/* a whole completion, asked for (no_stream) or not */
		p->state = OA__ENDING;
		return r ? oa__fail_turn(p, r, NULL)
		         : take_chunk(p, p->scratch.p, p->scratch.len, 1, 0);
	}
	/* Any other answer: the server's message. A body cut short still
	 * says something; one that failed, nothing. */
	n = r == 0 || r == OA_ERR_LIMIT ? p->scratch.len : 0;
	s = n ? p->scratch.p : "";
	p->errmsg[0] = '\0';
	if ((st == 400 || st == 422) && !p->no_stream_options &&
	    strstr(s, "stream_options")) {
		/* Some servers reject the field; ask once more without it
		 * (the state stays SEND). */
		p->no_stream_options = 1;
		p->requests--;
		r = oa__build_request(p);
		return r ? oa__fail_turn(p, r, NULL) : 0;
	}
	snprintf(p->errmsg, OA__ERRLEN, n ? "%s: " : "%s", what);
	r = n > 0 && oa__json_parse(&p->json, p->scratch.p, n, NULL) == 0;
	return server_message(p, OA_ERR_HTTP, r ? 0 : -1, s, n);
}
