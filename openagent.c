/*
 * openagent.c -- the client: options, history, request building, and the
 * turn state machine behind oa_next(). The only file that knows the
 * chat-completions protocol.
 *
 * A turn moves through these states:
 *
 *   IDLE    no query yet: oa_next() refuses.
 *   SEND    oa_query() built the request body; the next oa_next() sends it
 *           and reads the response head.
 *   STREAM  reading the body: feed the SSE parser, turn each event into
 *           zero or more blocks on the pending queue.
 *   ENDING  the stream finished ([DONE], or the end of the body after a
 *           finish_reason): queue the turn-end block, keep the reply.
 *   DONE    the turn-end block was handed out: oa_next() returns 0.
 *
 * Errors are not a state: the first one is stored in err with its message
 * and every call returns it until the next oa_query() (BearSSL's rule: the
 * root cause sticks). A failure ends the turn on the spot: the connection
 * is closed, the partial reply is kept in history or, if nothing arrived,
 * the user message is taken back.
 *
 * Buffers. The SSE parser owns the receive buffer; the HTTP layer reads
 * into it directly and events are cut out of it in place. The JSON reader
 * parses the event where it lies and unescapes strings in place, so a text
 * block points into the receive buffer and lives until the next read.
 * The reply text grows in `text` (doubling) and becomes a history message
 * at the end of the turn. Nothing is allocated per chunk once these
 * buffers have reached their working size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oa_private.h"

enum { IDLE, SEND, STREAM, ENDING, DONE };
enum { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT };
/* How content deltas relate to each other; see add_content(). */
enum { TEXT_UNKNOWN, TEXT_SUSPECT, TEXT_DELTA, TEXT_CUMULATIVE };

#define PENDING_MAX 8
#define ERRBODY_MAX (64 * 1024)

struct message {
	int role;
	char *content;
	size_t len;
};

struct pending {
	int type;
	const char *text;
	size_t len;
};

struct oa__client {
	oa_allocator alloc;
	int ready;                   /* oa_init() succeeded */

	/* settings, copied from oa_options */
	char *model, *api_key, *system_prompt;
	char path[1100];             /* base path + "/chat/completions" */
	int max_tokens;              /* OA_OMIT: not sent */
	double temperature;
	int send_temperature;
	int max_turns;
	size_t max_response;
	int no_stream_options;       /* the server rejected stream_options */

	/* history */
	struct message *msgs;
	size_t nmsgs, capmsgs;

	/* the turn */
	int state;
	int err;
	char errmsg[OA__ERRLEN];
	int requests;                /* sent for this query */
	int got_output;              /* a text or thinking delta arrived */
	int finished;                /* a finish_reason arrived */
	char finish[32];
	oa_usage usage;
	size_t response_bytes;
	int text_mode;
	struct pending pend[PENDING_MAX];
	int npend, ipend;

	/* buffers, reused from turn to turn */
	oa__buf body;                /* the request body */
	oa__buf headers;             /* extra request headers, built once */
	oa__buf text;                /* the reply so far */
	oa__buf held;                /* a content chunk held back, TEXT_SUSPECT */
	oa__buf scratch;             /* non-streamed bodies */
	oa__buf parts;               /* joined content parts */
	oa__buf ask;                 /* oa_ask()'s result */
	oa__http http;
	oa__sse sse;
	oa__json json;

	/* oa_interrupt() writes a byte to wake[1]; http polls wake[0] */
	int wake[2];
	volatile int interrupted;
};

/* ================================================================ errors */

/* see openagent.h */
const char *
oa_strerror(int err)
{
	switch ((oa_err)err) {
	case OA_OK: return "success";
	case OA_ERR_NOMEM: return "out of memory";
	case OA_ERR_INVALID: return "invalid argument";
	case OA_ERR_STATE: return "call not allowed now";
	case OA_ERR_URL: return "bad base URL";
	case OA_ERR_RESOLVE: return "host name lookup failed";
	case OA_ERR_CONNECT: return "connection failed";
	case OA_ERR_TLS: return "TLS failure";
	case OA_ERR_CONNECT_TIMEOUT: return "connect timed out";
	case OA_ERR_READ_TIMEOUT: return "server stopped sending";
	case OA_ERR_DEADLINE: return "request deadline passed";
	case OA_ERR_IO: return "network error";
	case OA_ERR_HTTP: return "HTTP error status";
	case OA_ERR_PROTOCOL: return "malformed HTTP response";
	case OA_ERR_STREAM: return "malformed stream";
	case OA_ERR_TRUNCATED: return "stream cut short";
	case OA_ERR_SERVER: return "server reported an error";
	case OA_ERR_LIMIT: return "limit exceeded";
	case OA_ERR_INTERRUPTED: return "interrupted";
	case OA_ERR_HOOK: return "blocked by a hook";
	case OA_ERR_CONFIG: return "bad configuration";
	case OA_ERR_MAX_TURNS: return "too many turns";
	}
	return "unknown error";
}

/* see openagent.h */
const char *
oa_version(void)
{
	return OA_VERSION;
}

/* ================================================================ history */

static int
push_message(struct oa__client *p, int role, const char *s, size_t n)
{
	struct message *m;

	if (p->nmsgs == p->capmsgs) {
		size_t cap = p->capmsgs ? p->capmsgs * 2 : 8;
		if (cap > (size_t)-1 / sizeof *m)
			return OA_ERR_NOMEM;
		m = oa__realloc(&p->alloc, p->msgs, cap * sizeof *m);
		if (m == NULL)
			return OA_ERR_NOMEM;
		p->msgs = m;
		p->capmsgs = cap;
	}
	m = &p->msgs[p->nmsgs];
	m->content = oa__strndup(&p->alloc, s, n);
	if (m->content == NULL)
		return OA_ERR_NOMEM;
	m->role = role;
	m->len = n;
	p->nmsgs++;
	return 0;
}

static void
pop_message(struct oa__client *p)
{
	if (p->nmsgs == 0)
		return;
	p->nmsgs--;
	oa__free(&p->alloc, p->msgs[p->nmsgs].content);
}

/* ================================================================ request */

static void
put_message(oa__buf *b, const char *role, const char *s, size_t n)
{
	oa__buf_puts(b, "{\"role\":\"");
	oa__buf_puts(b, role);
	oa__buf_puts(b, "\",\"content\":");
	oa__json_put_str(b, s, n);
	oa__buf_puts(b, "}");
}

/* The request body, fields in a fixed order so tests can compare it. */
static int
build_request(struct oa__client *p)
{
	static const char *const roles[] = {"system", "user", "assistant"};
	oa__buf *b = &p->body;
	size_t i;

	oa__buf_reset(b);
	oa__buf_puts(b, "{");
	if (p->model) {
		oa__buf_puts(b, "\"model\":");
		oa__json_put_str(b, p->model, strlen(p->model));
		oa__buf_puts(b, ",");
	}
	oa__buf_puts(b, "\"messages\":[");
	if (p->system_prompt) {
		put_message(b, "system", p->system_prompt,
		            strlen(p->system_prompt));
		if (p->nmsgs)
			oa__buf_puts(b, ",");
	}
	for (i = 0; i < p->nmsgs; i++) {
		if (i)
			oa__buf_puts(b, ",");
		put_message(b, roles[p->msgs[i].role], p->msgs[i].content,
		            p->msgs[i].len);
	}
	oa__buf_puts(b, "],\"stream\":true");
	if (!p->no_stream_options)
		oa__buf_puts(b, ",\"stream_options\":{\"include_usage\":true}");
	if (p->max_tokens != OA_OMIT)
		oa__buf_printf(b, ",\"max_tokens\":%d", p->max_tokens);
	if (p->send_temperature)
		oa__buf_printf(b, ",\"temperature\":%.15g", p->temperature);
	oa__buf_puts(b, "}");
	if (b->err == OA_ERR_LIMIT)
		return oa__fail(p->errmsg, OA_ERR_LIMIT,
		                "the request would exceed max_history_bytes "
		                "(%zu bytes)", b->limit);
	return b->err;
}

/* ================================================================ turn */

/* End the turn with an error: the first one sticks. What the history keeps
 * is described at oa_next() in openagent.h. */
static int
fail_turn(struct oa__client *p, int code)
{
	if (p->err)
		return p->err;
	p->err = code;
	if (p->errmsg[0] == '\0')
		snprintf(p->errmsg, sizeof p->errmsg, "%s",
		         oa_strerror(code));
	oa__http_close(&p->http);
	p->npend = p->ipend = 0;
	if (p->state == SEND || p->state == STREAM || p->state == ENDING) {
		if (p->text_mode == TEXT_SUSPECT)
			oa__buf_append(&p->text, p->held.p, p->held.len);
		if (p->text.len > 0 && p->text.err == 0)
			push_message(p, ROLE_ASSISTANT, p->text.p,
			             p->text.len);
		else
			pop_message(p);
	}
	p->state = DONE;
	return code;
}

static int
fail(struct oa__client *p, int code, const char *fmt, const char *arg)
{
	if (p->err == 0 && p->errmsg[0] == '\0')
		snprintf(p->errmsg, sizeof p->errmsg, fmt, arg);
	return fail_turn(p, code);
}

static void
queue(struct oa__client *p, int type, const char *s, size_t n)
{
	struct pending *q;

	if (p->npend == PENDING_MAX)
		return; /* cannot happen: one event queues at most five */
	q = &p->pend[p->npend++];
	q->type = type;
	q->text = s;
	q->len = n;
}

static int
count_response(struct oa__client *p, size_t n)
{
	p->response_bytes += n;
	if (p->response_bytes > p->max_response) {
		snprintf(p->errmsg, sizeof p->errmsg,
		         "the reply exceeds max_response_bytes (%zu bytes)",
		         p->max_response);
		return fail_turn(p, OA_ERR_LIMIT);
	}
	return 0;
}

static int
emit_text(struct oa__client *p, const char *s, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = count_response(p, n)) != 0)
		return r;
	if (oa__buf_append(&p->text, s, n))
		return fail(p, p->text.err, "%s",
			    "no memory to keep the reply text");
	p->got_output = 1;
	queue(p, OA_BLOCK_TEXT, s, n);
	return 0;
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
	oa__buf *t = &p->text, *h = &p->held;
	int r;

	if (n == 0)
		return 0;
	switch (p->text_mode) {
	case TEXT_UNKNOWN:
		if (t->len == 0)
			return emit_text(p, s, n);
		if (n > t->len && memcmp(s, t->p, t->len) == 0) {
			oa__buf_reset(h);
			if (oa__buf_append(h, s, n))
				return fail(p, h->err, "%s", "holding a chunk");
			p->got_output = 1;
			p->text_mode = TEXT_SUSPECT;
			return 0;
		}
		p->text_mode = TEXT_DELTA;
		return emit_text(p, s, n);
	case TEXT_SUSPECT:
		if (n >= h->len && memcmp(s, h->p, h->len) == 0) {
			size_t old = t->len;
			p->text_mode = TEXT_CUMULATIVE;
			if ((r = emit_text(p, h->p + old, h->len - old)) != 0)
				return r;
			return emit_text(p, s + h->len, n - h->len);
		}
		p->text_mode = TEXT_DELTA;
		if ((r = emit_text(p, h->p, h->len)) != 0)
			return r;
		return emit_text(p, s, n);
	case TEXT_CUMULATIVE:
		if (n >= t->len && memcmp(s, t->p, t->len) == 0)
			return emit_text(p, s + t->len, n - t->len);
		return emit_text(p, s, n);
	default:
		return emit_text(p, s, n);
	}
}

/* A content value: a string, or an array of parts whose text is joined. */
static int
take_content(struct oa__client *p, int t)
{
	oa__json *j = &p->json;
	size_t n;
	const char *s;
	int k;

	if (oa__json_type(j, t) == OA__JSON_STRING) {
		s = oa__json_str(j, t, &n);
		return add_content(p, s, n);
	}
	if (oa__json_type(j, t) != OA__JSON_ARRAY)
		return 0;
	oa__buf_reset(&p->parts);
	for (k = oa__json_first(j, t); k >= 0; k = oa__json_next(j, k)) {
		s = oa__json_str(j, oa__json_get(j, k, "text"), &n);
		if (s)
			oa__buf_append(&p->parts, s, n);
	}
	if (p->parts.err)
		return fail(p, p->parts.err, "%s", "joining content parts");
	return add_content(p, p->parts.p ? p->parts.p : "", p->parts.len);
}

static int
take_thinking(struct oa__client *p, int d)
{
	oa__json *j = &p->json;
	const char *a, *b;
	size_t na = 0, nb = 0;
	int r;

	a = oa__json_str(j, oa__json_get(j, d, "reasoning_content"), &na);
	b = oa__json_str(j, oa__json_get(j, d, "reasoning"), &nb);
	/* Some servers send both names as aliases of one text. */
	if (a && b && na == nb && memcmp(a, b, na) == 0)
		b = NULL;
	if (a && na) {
		if ((r = count_response(p, na)) != 0)
			return r;
		p->got_output = 1;
		queue(p, OA_BLOCK_THINKING, a, na);
	}
	if (b && nb) {
		if ((r = count_response(p, nb)) != 0)
			return r;
		p->got_output = 1;
		queue(p, OA_BLOCK_THINKING, b, nb);
	}
	return 0;
}

static void
take_usage(struct oa__client *p, int u)
{
	oa__json *j = &p->json;
	long long v;

	if (oa__json_type(j, u) != OA__JSON_OBJECT)
		return;
	memset(&p->usage, 0, sizeof p->usage);
	p->usage.present = 1;
	if (oa__json_int(j, oa__json_get(j, u, "prompt_tokens"), &v) == 0)
		p->usage.prompt_tokens = v;
	if (oa__json_int(j, oa__json_get(j, u, "completion_tokens"), &v) == 0)
		p->usage.completion_tokens = v;
	if (oa__json_int(j, oa__json_get(j, u, "total_tokens"), &v) == 0)
		p->usage.total_tokens = v;
}

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
		if (ch == '<' && n > 0 && s[0] == '<')
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

/* Does this parsed document report an error? (WIRE.md rule 8) */
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

	if (s == NULL) {
		s = fallback;
		len = n;
	}
	set_server_message(p, "", s, len);
	return fail_turn(p, OA_ERR_SERVER);
}

/* One chunk of the stream, or a whole non-streamed completion (whole set):
 * its choices become queued blocks. */
static int
take_chunk(struct oa__client *p, int whole)
{
	oa__json *j = &p->json;
	int ch, c, d, f, r;
	size_t n;
	const char *s;

	take_usage(p, oa__json_get(j, 0, "usage"));
	ch = oa__json_get(j, 0, "choices");
	/* We ask for one choice; take index 0 (or the first one). */
	c = -1;
	for (r = oa__json_first(j, ch); r >= 0; r = oa__json_next(j, r)) {
		long long idx = 0;
		oa__json_int(j, oa__json_get(j, r, "index"), &idx);
		if (idx == 0) {
			c = r;
			break;
		}
	}
	if (c < 0)
		c = oa__json_at(j, ch, 0);
	if (c < 0)
		return 0;
	d = oa__json_get(j, c, whole ? "message" : "delta");
	if (oa__json_type(j, d) == OA__JSON_OBJECT) {
		if ((r = take_thinking(p, d)) != 0)
			return r;
		if ((r = take_content(p, oa__json_get(j, d, "content"))) != 0)
			return r;
	}
	f = oa__json_get(j, c, "finish_reason");
	if ((s = oa__json_str(j, f, &n)) != NULL && n > 0) {
		if (n >= sizeof p->finish)
			n = sizeof p->finish - 1;
		memcpy(p->finish, s, n);
		p->finish[n] = '\0';
		p->finished = 1;
	}
	return 0;
}

static int
is_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* One server-sent event (WIRE.md rules 6-11). */
static int
take_event(struct oa__client *p, oa__sse_event *ev)
{
	char *s = ev->data;
	size_t n = ev->len;
	int r;

	while (n > 0 && is_blank((unsigned char)*s))
		s++, n--;
	while (n > 0 && is_blank((unsigned char)s[n - 1]))
		n--;
	if (n == 0)
		return 0;
	if (n == 6 && memcmp(s, "[DONE]", 6) == 0) {
		p->state = ENDING;
		return 0;
	}
	if (*s != '{' && *s != '[') {
		/* mistral.rs sends its errors as plain text */
		set_server_message(p, "", s, n);
		return fail_turn(p, OA_ERR_SERVER);
	}
	r = oa__json_parse(&p->json, s, n, p->errmsg);
	if (r != 0)
		return fail_turn(p, r);
	if (strcmp(ev->type, "error") == 0 || is_error_doc(&p->json))
		return server_error(p, s, n);
	return take_chunk(p, 0);
}

/* ================================================================ I/O */

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
			return oa__fail(p->errmsg, OA_ERR_LIMIT,
			                "the response body exceeds %zu bytes",
			                limit);
		if (oa__buf_reserve(b, 4096))
			return b->err;
		r = oa__http_read(&p->http, b->p + b->len, b->cap - b->len - 1,
		                  &got, p->errmsg);
		if (r != 0)
			return r;
		if (got == 0)
			return 0;
		b->len += got;
		b->p[b->len] = '\0';
	}
}

/* A non-2xx answer: its message, or a retry without stream_options. */
static int
http_error(struct oa__client *p)
{
	char prefix[32];
	const char *s;
	size_t n;
	int r, st = p->http.status;

	r = read_body(p, ERRBODY_MAX);
	if (r != 0 && r != OA_ERR_LIMIT)
		p->scratch.len = 0; /* report the status alone */
	p->errmsg[0] = '\0';
	if ((st == 400 || st == 422) && !p->no_stream_options &&
	    p->scratch.len > 0 && strstr(p->scratch.p, "stream_options")) {
		/* Some servers reject the field; ask once more without it. */
		p->no_stream_options = 1;
		if ((r = build_request(p)) != 0)
			return fail_turn(p, r);
		p->state = SEND;
		p->requests--;
		return 0;
	}
	snprintf(prefix, sizeof prefix, "HTTP %d: ", st);
	s = p->scratch.p ? p->scratch.p : "";
	n = p->scratch.len;
	if (n > 0 && oa__json_parse(&p->json, p->scratch.p, n, NULL) == 0) {
		size_t m = 0;
		const char *t = error_text(&p->json, &m);
		if (t) {
			s = t;
			n = m;
		}
	}
	set_server_message(p, prefix, s, n);
	if (n == 0)
		snprintf(p->errmsg, sizeof p->errmsg, "HTTP %d", st);
	return fail_turn(p, OA_ERR_HTTP);
}

/* A 200 answer in JSON rather than a stream: the whole completion. */
static int
whole_completion(struct oa__client *p)
{
	int r = read_body(p, p->sse.max);

	if (r != 0)
		return fail_turn(p, r);
	r = oa__json_parse(&p->json, p->scratch.p, p->scratch.len, p->errmsg);
	if (r != 0)
		return fail_turn(p, r);
	if (is_error_doc(&p->json))
		return server_error(p, p->scratch.p, p->scratch.len);
	if ((r = take_chunk(p, 1)) != 0)
		return r;
	p->state = ENDING;
	return 0;
}

static int
send_request(struct oa__client *p)
{
	int r;

	if (++p->requests > p->max_turns) {
		snprintf(p->errmsg, sizeof p->errmsg,
		         "max_turns (%d) requests made for one query",
		         p->max_turns);
		return fail_turn(p, OA_ERR_MAX_TURNS);
	}
	oa__sse_reset(&p->sse);
	p->http.deadline = 0;
	r = oa__http_request(&p->http, "POST", p->path, p->headers.p,
	                     p->body.p, p->body.len, p->errmsg);
	if (r != 0)
		return fail_turn(p, r);
	if (p->http.status < 200 || p->http.status > 299)
		return http_error(p);
	if (strcmp(p->http.content_type, "application/json") == 0)
		return whole_completion(p);
	p->state = STREAM;
	return 0;
}

/* Feed the parser from the socket, or handle the end of the body. */
static int
read_more(struct oa__client *p)
{
	oa__sse_event ev;
	char *dst;
	size_t room, got;
	int r;

	r = oa__sse_space(&p->sse, &dst, &room, p->errmsg);
	if (r == 0)
		r = oa__http_read(&p->http, dst, room, &got, p->errmsg);
	if (r == OA_ERR_TRUNCATED && p->finished) {
		/* everything that matters arrived; the framing did not */
		p->state = ENDING;
		return 0;
	}
	if (r != 0)
		return fail_turn(p, r);
	if (got > 0) {
		oa__sse_ack(&p->sse, got);
		return 0;
	}
	if (oa__sse_finish(&p->sse, &ev) && (r = take_event(p, &ev)) != 0)
		return r;
	if (p->state == ENDING || p->finished) {
		p->state = ENDING;
		return 0;
	}
	snprintf(p->errmsg, sizeof p->errmsg,
	         "the server ended the stream without [DONE] or a "
	         "finish_reason");
	return fail_turn(p, OA_ERR_TRUNCATED);
}

static void
finish_turn(struct oa__client *p)
{
	if (p->text_mode == TEXT_SUSPECT) {
		p->text_mode = TEXT_DELTA;
		if (emit_text(p, p->held.p, p->held.len) != 0)
			return;
	}
	if (push_message(p, ROLE_ASSISTANT, p->text.p ? p->text.p : "",
	                 p->text.len) != 0) {
		fail_turn(p, OA_ERR_NOMEM);
		return;
	}
	if (p->finish[0] == '\0')
		strcpy(p->finish, "stop");
	queue(p, OA_BLOCK_TURN_END, NULL, 0);
	p->state = DONE;
}

static void
fill_block(struct oa__client *p, const struct pending *q, oa_block *b)
{
	memset(b, 0, sizeof *b);
	b->type = (oa_block_type)q->type;
	if (q->type == OA_BLOCK_TURN_END) {
		b->finish_reason = p->finish;
		b->usage = p->usage;
		return;
	}
	b->text = q->text;
	b->text_len = q->len;
}

/* see openagent.h */
int
oa_next(oa_client *c, oa_block *b)
{
	struct oa__client *p;
	int r;

	if (c == NULL || b == NULL)
		return OA_ERR_INVALID;
	p = c->p;
	if (p == NULL || !p->ready)
		return OA_ERR_STATE;
	/* One loop, fixed priorities: a stored error first (it sticks), then
	 * blocks already queued (they were produced before anything that
	 * follows), then whatever the state needs to produce more. */
	for (;;) {
		if (p->err)
			return p->err;
		if (p->ipend < p->npend) {
			fill_block(p, &p->pend[p->ipend++], b);
			return b->type;
		}
		p->npend = p->ipend = 0;
		if (p->interrupted && p->state != DONE && p->state != IDLE) {
			snprintf(p->errmsg, sizeof p->errmsg,
			         "oa_interrupt() was called");
			return fail_turn(p, OA_ERR_INTERRUPTED);
		}
		switch (p->state) {
		case IDLE:
			snprintf(p->errmsg, sizeof p->errmsg,
			         "oa_next() before oa_query()");
			return OA_ERR_STATE;
		case DONE:
			return 0;
		case ENDING:
			finish_turn(p);
			break;
		case SEND:
			send_request(p);
			break;
		case STREAM: {
			oa__sse_event ev;
			r = oa__sse_next(&p->sse, &ev, p->errmsg);
			if (r < 0)
				fail_turn(p, r);
			else if (r > 0)
				take_event(p, &ev);
			else
				read_more(p);
			break;
		}
		}
	}
}

/* see openagent.h */
int
oa_query(oa_client *c, const char *prompt)
{
	struct oa__client *p;
	char drain[64];
	int r;

	if (c == NULL || prompt == NULL)
		return OA_ERR_INVALID;
	p = c->p;
	if (p == NULL || !p->ready)
		return OA_ERR_STATE;
	if (p->state == SEND || p->state == STREAM || p->state == ENDING) {
		if (!p->interrupted)
			return OA_ERR_STATE;
		snprintf(p->errmsg, sizeof p->errmsg,
		         "oa_interrupt() was called");
		fail_turn(p, OA_ERR_INTERRUPTED);
	}
	/* a new turn: forget the last one's error and interrupt */
	while (read(p->wake[0], drain, sizeof drain) > 0)
		;
	p->interrupted = 0;
	p->err = 0;
	p->errmsg[0] = '\0';
	p->requests = 0;
	p->got_output = p->finished = 0;
	p->finish[0] = '\0';
	memset(&p->usage, 0, sizeof p->usage);
	p->response_bytes = 0;
	p->text_mode = TEXT_UNKNOWN;
	p->npend = p->ipend = 0;
	oa__buf_reset(&p->text);
	oa__buf_reset(&p->held);

	if ((r = push_message(p, ROLE_USER, prompt, strlen(prompt))) != 0)
		return oa__fail(p->errmsg, r, "out of memory");
	if ((r = build_request(p)) != 0) {
		pop_message(p);
		if (r == OA_ERR_NOMEM)
			oa__fail(p->errmsg, r, "out of memory");
		p->state = DONE;
		return r;
	}
	p->state = SEND;
	return 0;
}

/* see openagent.h */
void
oa_interrupt(oa_client *c)
{
	struct oa__client *p;
	ssize_t w;

	/* Only a flag store and write(2): both async-signal-safe. */
	if (c == NULL || (p = c->p) == NULL || !p->ready)
		return;
	p->interrupted = 1;
	w = write(p->wake[1], "", 1);
	(void)w;
}

/* see openagent.h */
const char *
oa_errmsg(const oa_client *c)
{
	if (c == NULL)
		return "";
	if (c->p == NULL)
		return "out of memory";
	return c->p->errmsg;
}

/* see openagent.h */
int
oa_http_status(const oa_client *c)
{
	return c && c->p ? c->p->http.status : 0;
}

/* see openagent.h */
int
oa_ask(oa_client *c, const char *prompt, const char **text, size_t *len)
{
	struct oa__client *p;
	oa_block b;
	int r;

	if (text == NULL)
		return OA_ERR_INVALID;
	*text = NULL;
	if ((r = oa_query(c, prompt)) != 0)
		return r;
	p = c->p;
	oa__buf_reset(&p->ask);
	while ((r = oa_next(c, &b)) > 0)
		if (b.type == OA_BLOCK_TEXT &&
		    oa__buf_append(&p->ask, b.text, b.text_len))
			return oa__fail(p->errmsg, p->ask.err,
			                "out of memory");
	if (r < 0)
		return r;
	*text = p->ask.p ? p->ask.p : "";
	if (len)
		*len = p->ask.len;
	return 0;
}

/* ================================================================ setup */

static int
copy_option(struct oa__client *p, char **dst, const char *src)
{
	if (src == NULL)
		return 0;
	*dst = oa__strndup(&p->alloc, src, strlen(src));
	return *dst ? 0 : OA_ERR_NOMEM;
}

static int
pick(int v, int dflt)
{
	return v == 0 ? dflt : v < 0 ? -1 : v;
}

static int
setup(struct oa__client *p, const oa_options *o)
{
	oa__url *u = &p->http.url;
	int r;

	if (o->base_url == NULL || o->base_url[0] == '\0')
		return oa__fail(p->errmsg, OA_ERR_INVALID,
		                "no base_url given");
	if ((r = oa__url_parse(u, o->base_url, p->errmsg)) != 0)
		return r;
	if (u->tls)
		return oa__fail(p->errmsg, OA_ERR_URL,
		                "https:// needs a build with TLS: %s",
		                o->base_url);
	snprintf(p->path, sizeof p->path, "%s/chat/completions", u->path);

	if (o->max_tokens < 0 && o->max_tokens != OA_OMIT)
		return oa__fail(p->errmsg, OA_ERR_INVALID,
		                "max_tokens must be positive, 0 or OA_OMIT");
	p->max_tokens = o->max_tokens ? o->max_tokens : OA_DEFAULT_MAX_TOKENS;
	p->send_temperature = 1;
	if (o->temperature == 0)
		p->temperature = OA_DEFAULT_TEMPERATURE;
	else if (o->temperature == OA_OMIT)
		p->send_temperature = 0;
	else if (o->temperature == OA_ZERO)
		p->temperature = 0;
	else if (o->temperature > 0 && o->temperature <= 100)
		p->temperature = o->temperature;
	else
		return oa__fail(p->errmsg, OA_ERR_INVALID,
		                "temperature out of range");
	p->max_turns = o->max_turns > 0 ? o->max_turns : OA_DEFAULT_MAX_TURNS;
	p->max_response = o->max_response_bytes ? o->max_response_bytes
	                                        : OA_MAX_RESPONSE_BYTES;

	if (copy_option(p, &p->model, o->model) ||
	    copy_option(p, &p->system_prompt, o->system_prompt) ||
	    copy_option(p, &p->api_key, o->api_key))
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	if (p->model && p->model[0] == '\0') {
		oa__free(&p->alloc, p->model);
		p->model = NULL;
	}
	if (strpbrk(o->api_key ? o->api_key : "", "\r\n"))
		return oa__fail(p->errmsg, OA_ERR_INVALID,
		                "api_key contains a line break");

	oa__buf_puts(&p->headers, "Accept: text/event-stream\r\n");
	if (p->api_key && p->api_key[0])
		oa__buf_printf(&p->headers, "Authorization: Bearer %s\r\n",
		               p->api_key);
	if (p->headers.err)
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");

	p->http.connect_timeout_ms = pick(o->connect_timeout_ms,
	                                  OA_DEFAULT_CONNECT_TIMEOUT_MS);
	p->http.read_timeout_ms = pick(o->read_timeout_ms,
	                               OA_DEFAULT_READ_TIMEOUT_MS);
	p->http.max_header = o->max_header_bytes ? o->max_header_bytes
	                                         : OA_MAX_HEADER_BYTES;
	p->body.limit = o->max_history_bytes ? o->max_history_bytes
	                                     : OA_MAX_HISTORY_BYTES;
	p->text.limit = 0; /* bounded by max_response through count_response */
	oa__sse_init(&p->sse, &p->alloc, o->max_event_bytes);
	p->json.max_tokens = o->max_json_tokens;

	/* The self-pipe that lets oa_interrupt() wake a blocked poll. */
	if (pipe(p->wake) != 0)
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "pipe: %s",
		                strerror(errno));
	fcntl(p->wake[0], F_SETFL, O_NONBLOCK);
	fcntl(p->wake[1], F_SETFL, O_NONBLOCK);
	fcntl(p->wake[0], F_SETFD, FD_CLOEXEC);
	fcntl(p->wake[1], F_SETFD, FD_CLOEXEC);
	p->http.cancel_fd = p->wake[0];
	p->http.cancelled = &p->interrupted;
	return 0;
}

/* see openagent.h */
int
oa_init(oa_client *c, const oa_options *o)
{
	struct oa__client *p;
	oa_allocator a;
	int r;

	if (c == NULL)
		return OA_ERR_INVALID;
	c->p = NULL;
	if (o == NULL)
		return OA_ERR_INVALID;
	a = o->allocator;
	p = oa__malloc(&a, sizeof *p);
	if (p == NULL)
		return OA_ERR_NOMEM;
	memset(p, 0, sizeof *p);
	p->alloc = a;
	p->wake[0] = p->wake[1] = -1;
	oa__http_init(&p->http);
	p->http.alloc = &p->alloc;
	p->json.alloc = &p->alloc;
	p->body.alloc = p->headers.alloc = p->text.alloc = &p->alloc;
	p->held.alloc = p->scratch.alloc = p->ask.alloc = &p->alloc;
	p->parts.alloc = &p->alloc;
	c->p = p;
	r = setup(p, o);
	if (r != 0) {
		p->err = r;
		return r;
	}
	p->ready = 1;
	p->state = IDLE;
	return 0;
}

/* see openagent.h */
void
oa_free(oa_client *c)
{
	struct oa__client *p;

	if (c == NULL || (p = c->p) == NULL)
		return;
	while (p->nmsgs)
		pop_message(p);
	oa__free(&p->alloc, p->msgs);
	oa__free(&p->alloc, p->model);
	oa__free(&p->alloc, p->api_key);
	oa__free(&p->alloc, p->system_prompt);
	oa__buf_free(&p->body);
	oa__buf_free(&p->headers);
	oa__buf_free(&p->text);
	oa__buf_free(&p->held);
	oa__buf_free(&p->scratch);
	oa__buf_free(&p->parts);
	oa__buf_free(&p->ask);
	oa__http_free(&p->http);
	oa__sse_free(&p->sse);
	oa__json_free(&p->json);
	if (p->wake[0] >= 0)
		close(p->wake[0]);
	if (p->wake[1] >= 0)
		close(p->wake[1]);
	oa__free(&p->alloc, p);
	c->p = NULL;
}
