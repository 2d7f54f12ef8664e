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
 *           finish_reason): keep the reply in history; without tool calls
 *           queue the turn-end block, with them go on to TOOLS.
 *   TOOLS   hand out the reply's tool calls one step at a time: hooks and
 *           the tool-use block, then (auto mode) the handler and its
 *           result. Afterwards: in auto mode back to SEND with the results,
 *           in manual mode the turn ends and oa_continue() sends them.
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
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oa_private.h"

enum { IDLE, SEND, STREAM, ENDING, TOOLS, DONE };
enum { ROLE_USER, ROLE_ASSISTANT, ROLE_TOOL };
/* How content deltas relate to each other; see add_content(). */
enum { TEXT_UNKNOWN, TEXT_SUSPECT, TEXT_DELTA, TEXT_CUMULATIVE };

#define ERRBODY_MAX (64 * 1024)

struct message {
	int role;
	char *content;
	size_t len;
	char *tool_calls;            /* assistant: JSON array text, or NULL */
	char *tool_call_id;          /* tool: the call answered, or NULL */
	char *parts;                 /* user with images: content parts */
};

/* One tool call of a reply, assembled from stream fragments. Slots are
 * reused from reply to reply: their buffers are reset, not freed. */
struct call {
	long long index;             /* the server's index */
	oa__buf id, name, args;      /* args: as received */
	oa__buf input;               /* what a hook replaced args with */
	oa__buf result;              /* the tool message content */
	int args_whole;              /* args came as a JSON value, not text */
	int error;                   /* cannot run; result says why */
	int has_result;
	int args_ok;                 /* args parse as a JSON object */
	int repaired;                /* args were repaired (lenient) */
	const char *why;             /* from the text filter: unreadable */
};

struct pending {
	int type;
	const char *text;            /* or, with in_segs, an offset in segs */
	size_t len;
	size_t off;
	int in_segs;
	struct call *call;           /* tool blocks */
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
	int no_stream;
	int auto_tools;
	int max_rounds;              /* max_tool_iterations */
	size_t max_calls;
	size_t max_image;
	oa__tools tools;
	oa_hook *hooks;
	size_t nhooks;
	oa__buf fields;              /* optional request fields, ",..." */
	char *extra;                 /* oa_options.extra's members, or NULL */
	char *extra_keys;            /* their names, each NUL-terminated */
	size_t extra_nkeys;

	/* history */
	struct message *msgs;
	size_t nmsgs, capmsgs;

	/* the turn */
	int state;
	int err;
	char errmsg[OA__ERRLEN];
	int requests;                /* sent for this query */
	int rounds;                  /* tool rounds run for this query */
	size_t turn_base;            /* history length before this turn */
	int got_output;              /* a text or thinking delta arrived */
	int finished;                /* a finish_reason arrived */
	char finish[32];
	oa_usage usage;              /* this request's */
	oa_usage total;              /* this turn's, summed */
	int busy;                    /* inside a handler or hook */
	int waiting;                 /* manual mode: calls await results */
	uint64_t rng;                /* for generated call ids */
	size_t response_bytes;
	int text_mode;
	struct pending *pend;        /* grows to the most one step queues */
	size_t npend, ipend, cappend;
	oa__buf segs;                /* text filter output behind pend */
	oa__tf tf;
	int tf_on;                   /* a text filter flag is set */
	oa__buf seen;                /* raw content, when tf_on */
	int lenient;
	int stateless;

	/* the reply's tool calls */
	struct call *calls;
	size_t ncalls, capcalls;
	size_t icall;                /* TOOLS: the call being handed out */
	int phase;                   /* TOOLS: 0 before its block, 1 after */
	int manual;                  /* TOOLS: the caller runs the tools */
	int limit_hit;               /* TOOLS: rounds exhausted */
	size_t lastcall;             /* the slot of the last fragment */

	/* buffers, reused from turn to turn */
	oa__buf body;                /* the request body */
	oa__buf headers;             /* extra request headers, built once */
	oa__buf text;                /* the reply so far */
	oa__buf held;                /* a content chunk held back, TEXT_SUSPECT */
	oa__buf scratch;             /* non-streamed bodies */
	oa__buf parts;               /* joined content parts */
	oa__buf ask;                 /* oa_ask()'s result */
	oa__buf tmp;                 /* tool arguments being checked or run */
	oa__buf tmp2;                /* schema copies, hook text */
	oa__http http;
	oa__sse sse;
	oa__json json;
	oa__json json2;              /* schemas, while json holds arguments */

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
	case OA_ERR_FILE: return "file error";
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

/* Append a message; s and extra are copied. extra is the tool_calls text
 * of an assistant message or the tool_call_id of a tool message. */
static int
push_message(struct oa__client *p, int role, const char *s, size_t n,
             const char *extra)
{
	struct message *m;

	if (p->nmsgs == p->capmsgs) {
		size_t cap = p->capmsgs ? p->capmsgs * 2 : 8;
		m = oa__realloc(&p->alloc, p->msgs,
		                cap <= (size_t)-1 / sizeof *m ? cap * sizeof *m
		                                              : (size_t)-1);
		if (m == NULL)
			return OA_ERR_NOMEM;
		p->msgs = m;
		p->capmsgs = cap;
	}
	m = &p->msgs[p->nmsgs];
	memset(m, 0, sizeof *m);
	m->role = role;
	m->len = n;
	m->content = oa__strndup(&p->alloc, s ? s : "", s ? n : 0);
	if (m->content == NULL)
		return OA_ERR_NOMEM;
	if (extra) {
		char *e = oa__strndup(&p->alloc, extra, strlen(extra));
		if (e == NULL) {
			oa__free(&p->alloc, m->content);
			return OA_ERR_NOMEM;
		}
		if (role == ROLE_TOOL)
			m->tool_call_id = e;
		else
			m->tool_calls = e;
	}
	p->nmsgs++;
	return 0;
}

/* Drop messages until n are left. */
static void
cut_history(struct oa__client *p, size_t n)
{
	while (p->nmsgs > n) {
		struct message *m = &p->msgs[--p->nmsgs];
		oa__free(&p->alloc, m->content);
		oa__free(&p->alloc, m->tool_calls);
		oa__free(&p->alloc, m->tool_call_id);
		oa__free(&p->alloc, m->parts);
	}
}

static const char *const role_names[] = {"user", "assistant", "tool"};

/* see openagent.h */
size_t
oa_history_count(const oa_client *c)
{
	return c && c->p ? c->p->nmsgs : 0;
}

/* see openagent.h */
int
oa_history_get(const oa_client *c, size_t i, oa_message *m)
{
	const struct message *h;

	if (c == NULL || c->p == NULL || m == NULL || i >= c->p->nmsgs)
		return OA_ERR_INVALID;
	h = &c->p->msgs[i];
	m->role = role_names[h->role];
	m->content = h->content;
	m->content_len = h->len;
	m->tool_calls = h->tool_calls;
	m->tool_call_id = h->tool_call_id;
	m->parts = h->parts;
	return 0;
}

/* Whether the client is between turns: history may change. */
OA_PRIVATE int
oa__client_idle(const oa_client *c)
{
	const struct oa__client *p = c ? c->p : NULL;

	return p && p->ready && !p->busy && !p->waiting &&
	       (p->state == IDLE || p->state == DONE);
}

OA_PRIVATE const oa_allocator *
oa__client_alloc(const oa_client *c)
{
	return &c->p->alloc;
}

OA_PRIVATE const char *
oa__client_system(const oa_client *c)
{
	return c->p->system_prompt;
}

OA_PRIVATE char *
oa__client_errmsg(oa_client *c)
{
	return c->p->errmsg;
}

OA_PRIVATE oa__http *
oa__client_http(oa_client *c, const char **headers, oa__buf **body)
{
	*headers = c->p->headers.p ? c->p->headers.p : "";
	*body = &c->p->scratch;
	return &c->p->http;
}

OA_PRIVATE void
oa__history_remove(oa_client *c, size_t from, size_t n)
{
	struct oa__client *p = c->p;
	size_t i;

	if (from > p->nmsgs)
		return;
	if (n > p->nmsgs - from)
		n = p->nmsgs - from;
	for (i = from; i < from + n; i++) {
		oa__free(&p->alloc, p->msgs[i].content);
		oa__free(&p->alloc, p->msgs[i].tool_calls);
		oa__free(&p->alloc, p->msgs[i].tool_call_id);
		oa__free(&p->alloc, p->msgs[i].parts);
	}
	memmove(p->msgs + from, p->msgs + from + n,
	        (p->nmsgs - from - n) * sizeof *p->msgs);
	p->nmsgs -= n;
}

OA_PRIVATE int
oa__history_append(oa_client *c, const char *role, const char *content,
                   size_t len, const char *tool_calls,
                   const char *tool_call_id)
{
	int r;

	if (strcmp(role, "user") == 0)
		r = ROLE_USER;
	else if (strcmp(role, "assistant") == 0)
		r = ROLE_ASSISTANT;
	else if (strcmp(role, "tool") == 0)
		r = ROLE_TOOL;
	else
		return OA_ERR_INVALID;
	if ((r == ROLE_TOOL) != (tool_call_id != NULL) ||
	    (tool_calls != NULL && r != ROLE_ASSISTANT))
		return OA_ERR_INVALID;
	return push_message(c->p, r, content, len,
	                    r == ROLE_TOOL ? tool_call_id : tool_calls);
}

OA_PRIVATE int
oa__history_append_parts(oa_client *c, const char *content, size_t len,
                         const char *parts)
{
	struct oa__client *p = c->p;
	char *q = oa__strndup(&p->alloc, parts, strlen(parts));
	int r;

	if (q == NULL)
		return OA_ERR_NOMEM;
	if ((r = push_message(p, ROLE_USER, content, len, NULL)) != 0) {
		oa__free(&p->alloc, q);
		return r;
	}
	p->msgs[p->nmsgs - 1].parts = q;
	return 0;
}

/* ================================================================ request */

static void
put_message(oa__buf *b, const struct message *m)
{
	oa__buf_puts(b, "{\"role\":\"");
	oa__buf_puts(b, role_names[m->role]);
	oa__buf_puts(b, "\",");
	if (m->tool_call_id) {
		oa__buf_puts(b, "\"tool_call_id\":");
		oa__json_put_str(b, m->tool_call_id, strlen(m->tool_call_id));
		oa__buf_puts(b, ",");
	}
	oa__buf_puts(b, "\"content\":");
	if (m->parts)
		oa__buf_puts(b, m->parts);
	else
		oa__json_put_str(b, m->content, m->len);
	if (m->tool_calls) {
		oa__buf_puts(b, ",\"tool_calls\":");
		oa__buf_puts(b, m->tool_calls);
	}
	oa__buf_puts(b, "}");
}

/* The request body, fields in a fixed order so tests can compare it. */
static int
build_request(struct oa__client *p)
{
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
		oa__buf_puts(b, "{\"role\":\"system\",\"content\":");
		oa__json_put_str(b, p->system_prompt, strlen(p->system_prompt));
		oa__buf_puts(b, p->nmsgs ? "}," : "}");
	}
	for (i = 0; i < p->nmsgs; i++) {
		if (i)
			oa__buf_puts(b, ",");
		put_message(b, &p->msgs[i]);
	}
	oa__buf_puts(b, "]");
	if (p->tools.n) {
		oa__buf_puts(b, ",\"tools\":");
		oa__tools_put(&p->tools, b);
	}
	if (p->no_stream)
		oa__buf_puts(b, ",\"stream\":false");
	else if (p->no_stream_options)
		oa__buf_puts(b, ",\"stream\":true");
	else
		oa__buf_puts(b, ",\"stream\":true,\"stream_options\":"
		                "{\"include_usage\":true}");
	oa__buf_append(b, p->fields.p, p->fields.len);
	if (p->extra) {
		oa__buf_puts(b, ",");
		oa__buf_puts(b, p->extra);
	}
	oa__buf_puts(b, "}");
	if (b->err == OA_ERR_LIMIT)
		return oa__fail(p->errmsg, OA_ERR_LIMIT,
		                "the request would exceed max_history_bytes "
		                "(%zu bytes)", b->limit);
	if (b->err)
		return oa__fail(p->errmsg, b->err, "out of memory");
	return 0;
}

/* Does oa_options.extra set this member? Then it wins over ours. */
static int
extra_has(const struct oa__client *p, const char *key)
{
	const char *k = p->extra_keys;
	size_t i;

	for (i = 0; i < p->extra_nkeys; i++, k += strlen(k) + 1)
		if (strcmp(k, key) == 0)
			return 1;
	return 0;
}

/* Check oa_options.extra and keep its members' text and names. */
static int
take_extra(struct oa__client *p, const char *extra)
{
	static const char *const managed[] = {"model", "messages", "stream",
	                                      "stream_options", "tools"};
	oa__buf *b = &p->tmp;
	oa__buf names = {0};
	const char *raw;
	size_t n, i;
	int k;

	oa__buf_reset(b);
	if (oa__buf_puts(b, extra))
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	if (oa__json_parse(&p->json, b->p, b->len, p->errmsg) != 0 ||
	    oa__json_type(&p->json, 0) != OA__JSON_OBJECT) {
		p->errmsg[0] = '\0';
		return oa__fail(p->errmsg, OA_ERR_INVALID,
		                "extra is not a JSON object");
	}
	/* the members' text: the object's raw text without its braces,
	 * taken before unescaping the keys changes the buffer */
	raw = oa__json_raw(&p->json, 0, &n);
	while (n > 0 && raw[n - 1] != '}')
		n--;
	raw = memchr(raw, '{', n);
	n -= (size_t)(raw - oa__json_raw(&p->json, 0, NULL)) + 2;
	raw++;
	while (n > 0 && strchr(" \t\r\n", *raw))
		raw++, n--;
	while (n > 0 && strchr(" \t\r\n", raw[n - 1]))
		n--;
	if (n > 0 && (p->extra = oa__strndup(&p->alloc, raw, n)) == NULL)
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	names.alloc = &p->alloc;
	for (k = oa__json_first(&p->json, 0); k >= 0;
	     k = oa__json_next(&p->json, k + 1)) {
		const char *key = oa__json_str(&p->json, k, &n);
		for (i = 0; i < sizeof managed / sizeof *managed; i++)
			if (strcmp(key, managed[i]) == 0) {
				oa__buf_free(&names);
				return oa__fail(p->errmsg, OA_ERR_INVALID,
				                "extra may not set \"%s\": the "
				                "library manages it", key);
			}
		oa__buf_append(&names, key, n + 1);
		p->extra_nkeys++;
	}
	if (names.err) {
		oa__buf_free(&names);
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	}
	p->extra_keys = names.p;
	return 0;
}

/* The optional request fields, written once: they never change. */
static int
build_fields(struct oa__client *p, const oa_options *o)
{
	oa__buf *b = &p->fields;
	size_t i;

	if (p->max_tokens != OA_OMIT && !extra_has(p, "max_tokens"))
		oa__buf_printf(b, ",\"max_tokens\":%d", p->max_tokens);
	if (p->send_temperature && !extra_has(p, "temperature"))
		oa__buf_printf(b, ",\"temperature\":%.15g", p->temperature);
	if (o->top_p != 0 && !extra_has(p, "top_p"))
		oa__buf_printf(b, ",\"top_p\":%.15g", o->top_p);
	if (o->seed != 0 && !extra_has(p, "seed"))
		oa__buf_printf(b, ",\"seed\":%lld", o->seed);
	if (o->nstop && !extra_has(p, "stop")) {
		if (o->stop == NULL)
			return oa__fail(p->errmsg, OA_ERR_INVALID,
			                "stop is NULL");
		oa__buf_puts(b, ",\"stop\":[");
		for (i = 0; i < o->nstop; i++) {
			if (o->stop[i] == NULL)
				return oa__fail(p->errmsg, OA_ERR_INVALID,
				                "stop[%zu] is NULL", i);
			if (i)
				oa__buf_puts(b, ",");
			oa__json_put_str(b, o->stop[i], strlen(o->stop[i]));
		}
		oa__buf_puts(b, "]");
	}
	if (o->presence_penalty != 0 && !extra_has(p, "presence_penalty"))
		oa__buf_printf(b, ",\"presence_penalty\":%.15g",
		               o->presence_penalty);
	if (o->frequency_penalty != 0 && !extra_has(p, "frequency_penalty"))
		oa__buf_printf(b, ",\"frequency_penalty\":%.15g",
		               o->frequency_penalty);
	if (o->tool_choice && o->tool_choice[0] &&
	    !extra_has(p, "tool_choice")) {
		const char *t = o->tool_choice;
		if (!strcmp(t, "auto") || !strcmp(t, "none") ||
		    !strcmp(t, "required")) {
			oa__buf_printf(b, ",\"tool_choice\":\"%s\"", t);
		} else if (oa__tools_find(&p->tools, t) != NULL) {
			oa__buf_puts(b, ",\"tool_choice\":{\"type\":"
			                "\"function\",\"function\":{\"name\":");
			oa__json_put_str(b, t, strlen(t));
			oa__buf_puts(b, "}}");
		} else {
			return oa__fail(p->errmsg, OA_ERR_INVALID,
			                "tool_choice \"%.64s\" is neither auto, "
			                "none, required nor a tool's name", t);
		}
	}
	if (o->response_format && !extra_has(p, "response_format")) {
		const char *f = o->response_format;
		size_t n;
		if (strcmp(f, "json_object") == 0) {
			oa__buf_puts(b, ",\"response_format\":{\"type\":"
			                "\"json_object\"}");
		} else {
			oa__buf_reset(&p->tmp);
			oa__buf_puts(&p->tmp, f);
			if (p->tmp.err || oa__json_parse(&p->json, p->tmp.p,
			                                 p->tmp.len, NULL) != 0 ||
			    oa__json_type(&p->json, 0) != OA__JSON_OBJECT)
				return oa__fail(p->errmsg, OA_ERR_INVALID,
				                "response_format is neither "
				                "\"json_object\" nor a JSON "
				                "Schema object");
			/* the schema as given, without surrounding blanks */
			while (*f == ' ' || *f == '\t' || *f == '\r' || *f == '\n')
				f++;
			n = strlen(f);
			while (n > 0 && strchr(" \t\r\n", f[n - 1]))
				n--;
			oa__buf_puts(b, ",\"response_format\":{\"type\":"
			                "\"json_schema\",\"json_schema\":{\"name\":"
			                "\"response\",\"schema\":");
			oa__buf_append(b, f, n);
			oa__buf_puts(b, "}}");
		}
	}
	if (o->parallel_tool_calls && !extra_has(p, "parallel_tool_calls"))
		oa__buf_printf(b, ",\"parallel_tool_calls\":%s",
		               o->parallel_tool_calls > 0 ? "true" : "false");
	return b->err ? oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory")
	              : 0;
}

/* ================================================================ turn */

/* Give every call of the reply that has no result "error: <why>", then
 * put all results in history in call order, so no tool call dangles. */
static int
settle_calls(struct oa__client *p, const char *why)
{
	size_t i;

	for (i = 0; i < p->ncalls; i++) {
		struct call *k = &p->calls[i];
		if (!k->has_result) {
			oa__buf_reset(&k->result);
			oa__buf_printf(&k->result, "error: %s", why);
			k->has_result = 1;
		}
		if (k->result.err ||
		    push_message(p, ROLE_TOOL, k->result.p, k->result.len,
		                 k->id.p))
			return OA_ERR_NOMEM;
	}
	p->ncalls = 0;
	p->waiting = 0;
	return 0;
}

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
	p->busy = 0;
	switch (p->state) {
	case SEND:
	case STREAM:
	case ENDING:
		/* The reply in flight: keep its text, drop its tool calls. */
		if (p->text_mode == TEXT_SUSPECT)
			oa__buf_append(&p->text, p->held.p, p->held.len);
		p->ncalls = 0;
		if (p->text.len > 0 && p->text.err == 0)
			push_message(p, ROLE_ASSISTANT, p->text.p, p->text.len,
			             NULL);
		else if (p->nmsgs == p->turn_base + 1 &&
		         p->msgs[p->turn_base].role == ROLE_USER)
			cut_history(p, p->turn_base);
		break;
	case TOOLS:
		/* The calls are in history already: answer them all. */
		settle_calls(p, code == OA_ERR_INTERRUPTED
		                    ? "not run: interrupted"
		                    : "not run: the turn failed");
		break;
	}
	if (p->stateless)
		cut_history(p, 0);
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

/* Queue a block. The queue grows to the most blocks one step produces
 * and stays that size. Failing to grow ends the turn. */
static int
queue(struct oa__client *p, int type, const char *s, size_t n)
{
	struct pending *q;

	if (p->npend == p->cappend) {
		size_t cap = p->cappend ? p->cappend * 2 : 8;
		q = oa__realloc(&p->alloc, p->pend, cap * sizeof *q);
		if (q == NULL)
			return fail(p, OA_ERR_NOMEM, "%s", "out of memory");
		p->pend = q;
		p->cappend = cap;
	}
	q = &p->pend[p->npend++];
	memset(q, 0, sizeof *q);
	q->type = type;
	q->text = s;
	q->len = n;
	return 0;
}

/* Queue a block whose text the filter lends only until its next call:
 * keep a copy in segs, NUL-terminated, and refer to it by offset. */
static int
queue_copy(struct oa__client *p, int type, const char *s, size_t n)
{
	size_t off = p->segs.len;

	if (oa__buf_append(&p->segs, s, n) ||
	    oa__buf_append(&p->segs, "", 1))
		return fail(p, p->segs.err, "%s", "out of memory");
	if (queue(p, type, NULL, n) != 0)
		return p->err;
	p->pend[p->npend - 1].in_segs = 1;
	p->pend[p->npend - 1].off = off;
	return 0;
}

static void
queue_call(struct oa__client *p, int type, struct call *k)
{
	if (queue(p, type, NULL, 0) == 0)
		p->pend[p->npend - 1].call = k;
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

static struct call *next_call(struct oa__client *p);
static int calls_failed(struct oa__client *p);

/* What the text filter releases: text, thinking, or a tool call the model
 * wrote as text. */
static int
drain_filter(struct oa__client *p)
{
	oa__tf_seg seg;
	struct call *k;
	int r;

	while ((r = oa__tf_next(&p->tf, &seg, p->errmsg)) > 0) {
		if (seg.type == OA__TF_TEXT) {
			if (oa__buf_append(&p->text, seg.text, seg.len))
				return fail(p, p->text.err, "%s",
				            "out of memory");
			if (queue_copy(p, OA_BLOCK_TEXT, seg.text, seg.len))
				return p->err;
			continue;
		}
		if (seg.type == OA__TF_THINKING) {
			if (queue_copy(p, OA_BLOCK_THINKING, seg.text, seg.len))
				return p->err;
			continue;
		}
		if ((k = next_call(p)) == NULL)
			return calls_failed(p);
		oa__buf_append(&k->name, seg.name, seg.name_len);
		oa__buf_append(&k->args, seg.args, seg.args_len);
		k->args_whole = 1;
		k->repaired = seg.repaired;
		k->why = seg.error;
		if (k->name.err || k->args.err)
			return fail(p, OA_ERR_NOMEM, "%s", "out of memory");
	}
	return r < 0 ? fail_turn(p, r) : 0;
}

/* New text of the reply: to the caller as a block and to the history,
 * through the text filter when one is on. */
static int
emit_text(struct oa__client *p, const char *s, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = count_response(p, n)) != 0)
		return r;
	p->got_output = 1;
	if (p->tf_on) {
		if (oa__buf_append(&p->seen, s, n))
			return fail(p, p->seen.err, "%s", "out of memory");
		if ((r = oa__tf_feed(&p->tf, s, n, p->errmsg)) != 0)
			return fail_turn(p, r);
		return drain_filter(p);
	}
	/* Stateless without tools: once the chunks are known to be deltas
	 * nothing needs the text, so it is not gathered. */
	if (!(p->stateless && p->tools.n == 0 && p->text_mode == TEXT_DELTA) &&
	    oa__buf_append(&p->text, s, n))
		return fail(p, p->text.err, "%s",
			    "no memory to keep the reply text");
	return queue(p, OA_BLOCK_TEXT, s, n);
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
	oa__buf *t = p->tf_on ? &p->seen : &p->text, *h = &p->held;
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

/* ---------------------------------------------------------------- tool calls */

static struct call *
new_call(struct oa__client *p, long long index)
{
	struct call *k;
	size_t i;

	if (p->ncalls >= p->max_calls)
		return NULL;
	if (p->ncalls == p->capcalls) {
		size_t cap = p->capcalls ? p->capcalls * 2 : 4;
		if (cap > p->max_calls)
			cap = p->max_calls;
		k = oa__realloc(&p->alloc, p->calls, cap * sizeof *k);
		if (k == NULL)
			return NULL;
		memset(k + p->capcalls, 0, (cap - p->capcalls) * sizeof *k);
		for (i = p->capcalls; i < cap; i++) {
			k[i].id.alloc = k[i].name.alloc = &p->alloc;
			k[i].args.alloc = k[i].input.alloc = &p->alloc;
			k[i].result.alloc = &p->alloc;
			k[i].result.limit = p->max_response;
		}
		p->calls = k;
		p->capcalls = cap;
	}
	k = &p->calls[p->ncalls++];
	oa__buf_reset(&k->id);
	oa__buf_reset(&k->name);
	oa__buf_reset(&k->args);
	oa__buf_reset(&k->input);
	oa__buf_reset(&k->result);
	k->index = index;
	k->args_whole = k->error = k->has_result = k->args_ok = 0;
	return k;
}

/* A new slot at the next free index. */
static struct call *
next_call(struct oa__client *p)
{
	long long next = 0;
	size_t i;

	for (i = 0; i < p->ncalls; i++)
		if (p->calls[i].index >= next)
			next = p->calls[i].index + 1;
	return new_call(p, next);
}

/* new_call() returned NULL: the limit, or no memory. */
static int
calls_failed(struct oa__client *p)
{
	if (p->ncalls < p->max_calls)
		return fail(p, OA_ERR_NOMEM, "%s", "out of memory");
	snprintf(p->errmsg, sizeof p->errmsg, "more than max_tool_calls "
	         "(%zu) tool calls in one reply", p->max_calls);
	return fail_turn(p, OA_ERR_LIMIT);
}

/* Which slot a fragment belongs to (WIRE.md rules 13-14). */
static struct call *
find_slot(struct oa__client *p, int has_index, long long index,
          const char *id, size_t nid, size_t nname)
{
	struct call *k = NULL;
	size_t i;

	if (has_index) {
		for (i = p->ncalls; i-- > 0;)
			if (p->calls[i].index == index) {
				k = &p->calls[i];
				break;
			}
		/* SGLang: a second call at the same index brings a new id
		 * and a name; a changed id alone is a continuation. */
		if (k && nid && nname && k->id.len &&
		    (k->id.len != nid || memcmp(k->id.p, id, nid) != 0))
			k = NULL;
		return k ? k : new_call(p, index);
	}
	if (p->ncalls > 0) {
		k = &p->calls[p->lastcall];
		if ((nid == 0 && nname == 0) ||
		    (nid && k->id.len == nid && memcmp(k->id.p, id, nid) == 0))
			return k;
	}
	return next_call(p);
}

/* One tool_calls element (or TGI's single object). */
static int
take_fragment(struct oa__client *p, int f)
{
	oa__json *j = &p->json;
	int fn = oa__json_get(j, f, "function");
	int t = oa__json_get(j, f, "index"), has_index = 0, r;
	long long index = 0;
	const char *id, *name, *s;
	size_t nid = 0, nname = 0, n = 0, i;
	struct call *k;

	if (oa__json_int(j, t, &index) == 0) {
		has_index = 1;
	} else if ((s = oa__json_str(j, t, &n)) && n > 0 && n < 10) {
		/* text-generation-webui sends "0" */
		for (i = 0, index = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			index = index * 10 + (s[i] - '0');
		has_index = i == n;
	}
	if ((id = oa__json_str(j, oa__json_get(j, f, "id"), &nid)) == NULL ||
	    nid == 0)
		/* llama.cpp builds of mid-2025 put the id inside function */
		id = oa__json_str(j, oa__json_get(j, fn, "id"), &nid);
	if (id == NULL)
		nid = 0;
	if ((name = oa__json_str(j, oa__json_get(j, fn, "name"), &nname)) ==
	    NULL)
		nname = 0;
	k = find_slot(p, has_index, index, id, nid, nname);
	if (k == NULL)
		return calls_failed(p);
	p->lastcall = (size_t)(k - p->calls);
	/* id and name are set once, never appended (rules 15-16) */
	if (nid && k->id.len == 0)
		oa__buf_append(&k->id, id, nid);
	if (nname && k->name.len == 0)
		oa__buf_append(&k->name, name, nname);
	t = oa__json_get(j, fn, "arguments");
	switch (oa__json_type(j, t)) {
	case OA__JSON_STRING:
		s = oa__json_str(j, t, &n);
		if (!k->args_whole)
			oa__buf_append(&k->args, s, n);
		break;
	case OA__JSON_OBJECT:
	case OA__JSON_ARRAY:
		/* a JSON value instead of text: it is the whole arguments */
		s = oa__json_raw(j, t, &n);
		oa__buf_reset(&k->args);
		oa__buf_append(&k->args, s, n);
		k->args_whole = 1;
		break;
	default:
		n = 0;
	}
	if ((r = count_response(p, nid + nname + n)) != 0)
		return r;
	if (k->id.err || k->name.err || k->args.err)
		return fail(p, OA_ERR_NOMEM, "%s", "out of memory");
	return 0;
}

static int
take_tool_calls(struct oa__client *p, int t)
{
	oa__json *j = &p->json;
	int f, r;

	if (oa__json_type(j, t) == OA__JSON_OBJECT)
		return take_fragment(p, t);
	for (f = oa__json_first(j, t); f >= 0; f = oa__json_next(j, f))
		if (oa__json_type(j, f) == OA__JSON_OBJECT &&
		    (r = take_fragment(p, f)) != 0)
			return r;
	return 0;
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
		if ((r = take_tool_calls(p, oa__json_get(j, d, "tool_calls"))))
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
	if (st >= 300 && st < 400 && p->http.location[0]) {
		/* redirects are not followed: a base URL should not move */
		snprintf(p->errmsg, sizeof p->errmsg, "HTTP %d: redirected to "
		         "%.160s (redirects are not followed)", st,
		         p->http.location);
		return fail_turn(p, OA_ERR_HTTP);
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
	p->ncalls = 0;
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
	/* dst and room are set by oa__sse_space; gcc -O2, inlining it in the
	 * amalgamation, cannot see that and warns without the zeros. */
	char *dst = NULL;
	size_t room = 0, got;
	int r;

	r = oa__sse_space(&p->sse, &dst, &room, p->errmsg);
	if (r == 0)
		r = oa__http_read(&p->http, dst, room, &got, p->errmsg);
	if ((r == OA_ERR_TRUNCATED || r == OA_ERR_IO) && p->finished) {
		/* everything that matters arrived; the framing did not */
		p->state = ENDING;
		return 0;
	}
	/* A reset in the middle of the body cuts the reply short, like an
	 * early close; the detail still says "reset". */
	if (r == OA_ERR_IO)
		r = OA_ERR_TRUNCATED;
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

/* ---------------------------------------------------------------- the end of a reply */

static void
end_turn(struct oa__client *p, const char *reason)
{
	if (reason != p->finish)
		snprintf(p->finish, sizeof p->finish, "%s", reason);
	queue(p, OA_BLOCK_TURN_END, NULL, 0);
	p->state = DONE;
}

/* Forget the reply in flight, before the next request of a turn. */
static void
reset_reply(struct oa__client *p)
{
	p->finished = 0;
	p->finish[0] = '\0';
	memset(&p->usage, 0, sizeof p->usage);
	p->response_bytes = 0;
	p->text_mode = TEXT_UNKNOWN;
	oa__buf_reset(&p->text);
	oa__buf_reset(&p->held);
	oa__buf_reset(&p->seen);
	if (p->tf_on)
		oa__tf_reset(&p->tf);
}

static int
call_error(struct call *k, const char *fmt, const char *arg)
{
	k->error = 1;
	k->has_result = 1;
	oa__buf_reset(&k->result);
	oa__buf_puts(&k->result, "error: ");
	oa__buf_printf(&k->result, fmt, arg);
	return k->result.err;
}

/* Parse a copy of s[0..n) into p->json (parsing works in place and the
 * original must stay as received). 0, or 1 with a reason in msg. */
static int
parse_args(struct oa__client *p, const char *s, size_t n, char *msg)
{
	oa__buf *b = &p->tmp;

	msg[0] = '\0';
	oa__buf_reset(b);
	if (oa__buf_append(b, s, n))
		return oa__fail(msg, 1, "out of memory");
	if (oa__json_parse(&p->json, b->p, b->len, msg) != 0)
		return 1;
	if (oa__json_type(&p->json, 0) != OA__JSON_OBJECT)
		return oa__fail(msg, 1, "arguments must be a JSON object");
	return 0;
}

static int
id_taken(const struct oa__client *p, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (p->calls[j].id.len == p->calls[i].id.len &&
		    memcmp(p->calls[j].id.p, p->calls[i].id.p,
		           p->calls[i].id.len) == 0)
			return 1;
	return 0;
}

/* Ids the follow-up can refer to, unique in the reply (rule 18); the
 * arguments parsed; unknown tools and bad arguments marked as errors. */
static int
prepare_calls(struct oa__client *p)
{
	char msg[OA__ERRLEN];
	size_t i, base, t;
	int n;

	/* index order; calls sharing an index keep their order (stable) */
	for (i = 1; i < p->ncalls; i++)
		for (t = i; t > 0 && p->calls[t - 1].index > p->calls[t].index;
		     t--) {
			struct call tmp = p->calls[t];
			p->calls[t] = p->calls[t - 1];
			p->calls[t - 1] = tmp;
		}
	p->manual = !p->auto_tools;
	for (i = 0; i < p->ncalls; i++) {
		struct call *k = &p->calls[i];
		const oa__tool *tool;

		if (k->id.len == 0) {
			/* xorshift64: ids need only be unique, not secret */
			oa__buf_puts(&k->id, "call_");
			for (n = 0; n < 2; n++) {
				p->rng ^= p->rng << 13;
				p->rng ^= p->rng >> 7;
				p->rng ^= p->rng << 17;
				oa__buf_printf(&k->id, "%012llx",
				               (unsigned long long)(p->rng &
				                                    0xffffffffffffULL));
			}
		}
		base = k->id.len;
		for (n = 2; k->id.err == 0 && id_taken(p, i); n++) {
			k->id.len = base;
			oa__buf_printf(&k->id, "_%d", n);
		}
		for (t = 0; t < k->args.len && strchr(" \t\r\n", k->args.p[t]);
		     t++)
			;
		if (t == k->args.len) {
			oa__buf_reset(&k->args);
			oa__buf_puts(&k->args, "{}");
		}
		oa__buf_reset(&k->result);
		if (k->id.err || k->name.err || k->args.err)
			return fail(p, OA_ERR_NOMEM, "%s", "out of memory");
		k->args_ok = parse_args(p, k->args.p, k->args.len, msg) == 0;
		if (!k->args_ok && p->lenient && k->why == NULL &&
		    oa__json_repair(k->args.p, k->args.len, &p->tmp2, &p->json,
		                    msg) == 1 &&
		    oa__json_type(&p->json, 0) == OA__JSON_OBJECT) {
			/* small models' almost-JSON, mended */
			oa__buf_reset(&k->args);
			oa__buf_append(&k->args, p->tmp2.p, p->tmp2.len);
			k->repaired = 1;
			k->args_ok = k->args.err == 0;
		}
		if (k->why)
			call_error(k, "%s", k->why);
		else if (!k->args_ok)
			call_error(k, "arguments are not valid JSON: %s",
			           strncmp(msg, "invalid JSON: ", 14) ? msg
			                                              : msg + 14);
		else if (k->name.len == 0)
			call_error(k, "%s", "the tool call has no name");
		else if ((tool = oa__tools_find(&p->tools, k->name.p)) == NULL)
			call_error(k, "unknown tool \"%s\"", k->name.p);
		else if (tool->fn == NULL)
			p->manual = 1;
	}
	/* Check arguments against the schema only where we run the tool. */
	for (i = 0; i < p->ncalls && !p->manual; i++) {
		struct call *k = &p->calls[i];
		if (k->error)
			continue;
		parse_args(p, k->args.p, k->args.len, msg);
		if (oa__tools_check(oa__tools_find(&p->tools, k->name.p),
		                    &p->json, &p->json2, &p->tmp2, msg,
		                    sizeof msg))
			call_error(k, "%s", msg);
	}
	for (i = 0; i < p->ncalls; i++)
		if (p->calls[i].result.err)
			return fail(p, OA_ERR_NOMEM, "%s", "out of memory");
	return 0;
}

static void
add_usage(struct oa__client *p)
{
	if (!p->usage.present)
		return;
	p->total.present = 1;
	p->total.prompt_tokens += p->usage.prompt_tokens;
	p->total.completion_tokens += p->usage.completion_tokens;
	p->total.total_tokens += p->usage.total_tokens;
}

/* The reply is complete: keep it in history, end the turn or go on to
 * its tool calls. */
static void
finish_reply(struct oa__client *p)
{
	oa__buf *b = &p->tmp2;
	size_t i;

	if (p->text_mode == TEXT_SUSPECT) {
		p->text_mode = TEXT_DELTA;
		if (emit_text(p, p->held.p, p->held.len) != 0)
			return;
	}
	if (p->tf_on) {
		oa__tf_finish(&p->tf);
		if (drain_filter(p) != 0)
			return;
	}
	add_usage(p);
	if (p->ncalls == 0 && p->stateless) {
		cut_history(p, 0);
		end_turn(p, p->finish[0] ? p->finish : "stop");
		return;
	}
	if (p->ncalls == 0) {
		if (push_message(p, ROLE_ASSISTANT, p->text.p, p->text.len,
		                 NULL) != 0) {
			fail(p, OA_ERR_NOMEM, "%s", "out of memory");
			return;
		}
		end_turn(p, p->finish[0] ? p->finish : "stop");
		return;
	}
	if (prepare_calls(p) != 0)
		return;
	oa__buf_reset(b);
	oa__buf_puts(b, "[");
	for (i = 0; i < p->ncalls; i++) {
		struct call *k = &p->calls[i];
		oa__buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
		oa__json_put_str(b, k->id.p, k->id.len);
		oa__buf_puts(b, ",\"type\":\"function\",\"function\":{\"name\":");
		oa__json_put_str(b, k->name.p ? k->name.p : "", k->name.len);
		oa__buf_puts(b, ",\"arguments\":");
		/* unparseable arguments would make some servers fail the
		 * follow-up request; the error result tells the model */
		if (k->args_ok)
			oa__json_put_str(b, k->args.p, k->args.len);
		else
			oa__buf_puts(b, "\"{}\"");
		oa__buf_puts(b, "}}");
	}
	oa__buf_puts(b, "]");
	if (b->err || push_message(p, ROLE_ASSISTANT, p->text.p, p->text.len,
	                           b->p) != 0) {
		fail(p, OA_ERR_NOMEM, "%s", "out of memory");
		return;
	}
	p->icall = 0;
	p->phase = 0;
	p->limit_hit = !p->manual && p->rounds >= p->max_rounds;
	p->state = TOOLS;
}

/* ---------------------------------------------------------------- tools and hooks */

/* Run the hooks of one event. Returns the decision, with its text in
 * tmp2, or a negative oa_err. */
static int
run_hooks(struct oa__client *p, oa_hook_event *ev)
{
	oa_client self;
	int r;

	if (p->nhooks == 0)
		return OA_HOOK_ALLOW;
	self.p = p;
	ev->client = &self;
	p->busy = 1;
	r = oa__hooks_run(p->hooks, p->nhooks, ev, &p->tmp2, p->errmsg);
	p->busy = 0;
	return r;
}

/* PRE_TOOL_USE: may give the call a result (blocked) or a new input. */
static int
pre_tool_hooks(struct oa__client *p, struct call *k)
{
	oa_hook_event ev;
	char msg[OA__ERRLEN];
	int r;

	memset(&ev, 0, sizeof ev);
	ev.kind = OA_HOOK_PRE_TOOL_USE;
	ev.tool_id = k->id.p;
	ev.tool_name = k->name.p;
	ev.input = k->args.p;
	r = run_hooks(p, &ev);
	if (r == OA_HOOK_BLOCK) {
		oa__buf_reset(&k->result);
		oa__buf_printf(&k->result, "blocked: %s",
		               p->tmp2.len ? p->tmp2.p : "by a hook");
		k->has_result = 1;
	} else if (r == OA_HOOK_REPLACE) {
		oa__buf_reset(&k->input);
		oa__buf_append(&k->input, p->tmp2.p, p->tmp2.len);
		if (k->input.err)
			return OA_ERR_NOMEM;
		if (parse_args(p, k->input.p, k->input.len, msg)) {
			oa__buf_reset(&k->result);
			oa__buf_puts(&k->result, "error: hook replaced the "
			                         "input with invalid JSON");
			k->has_result = 1;
		}
	}
	return r < 0 ? r : k->result.err;
}

static const char *
call_input(const struct call *k)
{
	return k->input.len ? k->input.p : k->args.p;
}

/* Run the tool of call k (auto mode) and its POST_TOOL_USE hooks. */
static int
run_tool(struct oa__client *p, struct call *k)
{
	const char *in = call_input(k);
	oa_hook_event ev;
	char msg[OA__ERRLEN];
	int r, failed;

	if (parse_args(p, in, strlen(in), msg)) {
		call_error(k, "%s", msg);
		failed = 1;
	} else {
		/* the handler's raw view needs bytes the parser leaves alone */
		oa__buf_reset(&p->tmp2);
		if (oa__buf_puts(&p->tmp2, in))
			return p->tmp2.err;
		p->busy = 1;
		r = oa__tools_call(oa__tools_find(&p->tools, k->name.p),
		                   &p->json, p->tmp2.p, p->tmp2.len, &k->result);
		p->busy = 0;
		if (r == OA_ERR_LIMIT) {
			oa__buf_reset(&k->result);
			oa__buf_printf(&k->result, "error: the tool result "
			               "exceeds max_response_bytes (%zu)",
			               p->max_response);
		} else if (r < 0) {
			return r;
		} else if (r == 1) {
			/* the handler's message becomes "error: message" */
			oa__buf_reset(&p->tmp2);
			oa__buf_puts(&p->tmp2, "error: ");
			oa__buf_append(&p->tmp2, k->result.p, k->result.len);
			oa__buf_reset(&k->result);
			oa__buf_append(&k->result, p->tmp2.p, p->tmp2.len);
		}
		failed = r != 0;
		if (k->result.p == NULL)
			oa__buf_puts(&k->result, "");
	}
	k->has_result = 1;
	if (k->result.err)
		return k->result.err;
	queue_call(p, OA_BLOCK_TOOL_RESULT, k);
	memset(&ev, 0, sizeof ev);
	ev.kind = OA_HOOK_POST_TOOL_USE;
	ev.tool_id = k->id.p;
	ev.tool_name = k->name.p;
	ev.input = in;
	ev.result = k->result.p;
	ev.is_error = failed;
	r = run_hooks(p, &ev);
	return r < 0 ? r : 0;
}

/* All calls handed out: end the turn (manual), or send the results. */
static void
tools_done(struct oa__client *p)
{
	int r;

	if (p->manual) {
		p->waiting = 1;
		end_turn(p, "tool_calls");
		return;
	}
	if (settle_calls(p, "not run") != 0) {
		fail(p, OA_ERR_NOMEM, "%s", "out of memory");
		return;
	}
	if (p->limit_hit) {
		end_turn(p, "max_tool_iterations");
		return;
	}
	p->rounds++;
	reset_reply(p);
	if ((r = build_request(p)) != 0) {
		fail_turn(p, r);
		return;
	}
	p->state = SEND;
}

/* One step of TOOLS: a call's block, or (auto mode) running it. Steps are
 * small so that each block is handed out before the tool behind it runs,
 * and an interrupt takes effect between tools. */
static void
tool_step(struct oa__client *p)
{
	struct call *k;
	int r;

	if (p->icall == p->ncalls) {
		tools_done(p);
		return;
	}
	k = &p->calls[p->icall];
	if (p->phase == 1) {
		p->phase = 0;
		p->icall++;
		if ((r = run_tool(p, k)) != 0)
			fail_turn(p, r);
		return;
	}
	if (k->error) {
		queue_call(p, OA_BLOCK_TOOL_USE_ERROR, k);
		p->icall++;
		return;
	}
	if (p->limit_hit) {
		oa__buf_printf(&k->result, "error: not run: the limit of %d "
		               "tool rounds was reached", p->max_rounds);
		k->has_result = 1;
	} else if ((r = pre_tool_hooks(p, k)) != 0) {
		fail_turn(p, r);
		return;
	}
	queue_call(p, OA_BLOCK_TOOL_USE, k);
	if (k->has_result)
		queue_call(p, OA_BLOCK_TOOL_RESULT, k);
	if (k->has_result || p->manual)
		p->icall++;
	else
		p->phase = 1;
}

static void
fill_block(struct oa__client *p, const struct pending *q, oa_block *b)
{
	const struct call *k = q->call;

	memset(b, 0, sizeof *b);
	b->type = (oa_block_type)q->type;
	b->text = q->in_segs ? p->segs.p + q->off : q->text;
	b->text_len = q->len;
	if (q->type == OA_BLOCK_TURN_END) {
		b->finish_reason = p->finish;
		b->usage = p->total;
	}
	if (k == NULL)
		return;
	b->id = k->id.p;
	b->id_len = k->id.len;
	b->name = k->name.p ? k->name.p : "";
	b->name_len = k->name.len;
	if (q->type == OA_BLOCK_TOOL_USE) {
		b->input = call_input(k);
		b->input_len = strlen(b->input);
		b->repaired = k->repaired;
	} else if (q->type == OA_BLOCK_TOOL_USE_ERROR) {
		b->text = k->result.p + 7; /* past "error: " */
		b->text_len = k->result.len - 7;
		b->raw = k->args.p;
		b->raw_len = k->args.len;
	} else {
		b->text = k->result.p;
		b->text_len = k->result.len;
	}
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
	if (p == NULL || !p->ready || p->busy)
		return OA_ERR_STATE;
	/* One loop, fixed priorities: a stored error first (it sticks), then
	 * blocks already queued (they were produced before anything that
	 * follows), then an interrupt, then whatever the state needs. */
	for (;;) {
		if (p->err)
			return p->err;
		if (p->ipend < p->npend) {
			fill_block(p, &p->pend[p->ipend++], b);
			return b->type;
		}
		p->npend = p->ipend = 0;
		oa__buf_reset(&p->segs);
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
			finish_reply(p);
			break;
		case TOOLS:
			tool_step(p);
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

/* Clear the last turn's state for a new one. 0 or OA_ERR_STATE. */
static int
begin_turn(struct oa__client *p)
{
	char drain[64];

	if (p->busy)
		return OA_ERR_STATE;
	if (p->state == SEND || p->state == STREAM || p->state == ENDING ||
	    p->state == TOOLS) {
		if (!p->interrupted)
			return oa__fail(p->errmsg, OA_ERR_STATE,
			                "a turn is still running");
		snprintf(p->errmsg, sizeof p->errmsg,
		         "oa_interrupt() was called");
		fail_turn(p, OA_ERR_INTERRUPTED);
	}
	while (read(p->wake[0], drain, sizeof drain) > 0)
		;
	p->interrupted = 0;
	p->err = 0;
	p->errmsg[0] = '\0';
	p->requests = 0;
	p->rounds = 0;
	p->got_output = 0;
	memset(&p->total, 0, sizeof p->total);
	p->npend = p->ipend = 0;
	reset_reply(p);
	return 0;
}

/* ---------------------------------------------------------------- images */

static void
put_base64(oa__buf *b, const unsigned char *s, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                        "0123456789+/";
	char q[4];
	size_t i;

	if (oa__buf_reserve(b, (n + 2) / 3 * 4))
		return;
	for (i = 0; i + 2 < n; i += 3) {
		q[0] = a[s[i] >> 2];
		q[1] = a[(s[i] & 3) << 4 | s[i + 1] >> 4];
		q[2] = a[(s[i + 1] & 15) << 2 | s[i + 2] >> 6];
		q[3] = a[s[i + 2] & 63];
		oa__buf_append(b, q, 4);
	}
	if (i < n) {
		q[0] = a[s[i] >> 2];
		q[1] = a[(s[i] & 3) << 4 | (i + 1 < n ? s[i + 1] >> 4 : 0)];
		q[2] = i + 1 < n ? a[(s[i + 1] & 15) << 2] : '=';
		q[3] = '=';
		oa__buf_append(b, q, 4);
	}
}

/* The MIME type of an image by its first bytes, or NULL. */
static const char *
image_type(const unsigned char *s, size_t n)
{
	if (n >= 8 && memcmp(s, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 3 && s[0] == 0xff && s[1] == 0xd8 && s[2] == 0xff)
		return "image/jpeg";
	if (n >= 6 && (memcmp(s, "GIF87a", 6) == 0 ||
	               memcmp(s, "GIF89a", 6) == 0))
		return "image/gif";
	if (n >= 12 && memcmp(s, "RIFF", 4) == 0 &&
	    memcmp(s + 8, "WEBP", 4) == 0)
		return "image/webp";
	return NULL;
}

/* Append one image part: a URL as it is, a file as a data: URL. */
static int
put_image(struct oa__client *p, oa__buf *b, oa__buf *file, const char *img)
{
	const char *type;
	struct stat st;
	size_t got;
	ssize_t n = 0;
	int fd;

	oa__buf_puts(b, ",{\"type\":\"image_url\",\"image_url\":{\"url\":");
	if (strncmp(img, "http://", 7) == 0 || strncmp(img, "https://", 8) == 0
	    || strncmp(img, "data:", 5) == 0) {
		oa__json_put_str(b, img, strlen(img));
		oa__buf_puts(b, "}}");
		return 0;
	}
	if ((fd = open(img, O_RDONLY | O_CLOEXEC)) < 0)
		return oa__fail(p->errmsg, OA_ERR_FILE, "%.150s: %s", img,
		                strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return oa__fail(p->errmsg, OA_ERR_FILE, "%.150s: not a regular "
		                "file", img);
	}
	if ((size_t)st.st_size > p->max_image) {
		close(fd);
		return oa__fail(p->errmsg, OA_ERR_FILE, "%.150s: %lld bytes, "
		                "more than max_image_bytes (%zu)", img,
		                (long long)st.st_size, p->max_image);
	}
	oa__buf_reset(file);
	if (oa__buf_reserve(file, (size_t)st.st_size + 1)) {
		close(fd);
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	}
	/* read up to one byte more than fits: a file that grew is refused */
	for (got = 0; got <= p->max_image && got < file->cap - 1; got += n) {
		n = read(fd, file->p + got, file->cap - 1 - got);
		if (n < 0 && errno == EINTR)
			n = 0;
		else if (n <= 0)
			break;
	}
	close(fd);
	file->len = got;
	if (n < 0)
		return oa__fail(p->errmsg, OA_ERR_FILE, "%.150s: %s", img,
		                strerror(errno));
	type = image_type((const unsigned char *)file->p, file->len);
	if (type == NULL)
		return oa__fail(p->errmsg, OA_ERR_FILE, "%.150s: not a PNG, "
		                "JPEG, GIF or WebP image", img);
	oa__buf_printf(b, "\"data:%s;base64,", type);
	put_base64(b, (const unsigned char *)file->p, file->len);
	oa__buf_puts(b, "\"}}");
	return 0;
}

static int
query(oa_client *c, const char *prompt, const char *const *images,
      size_t nimages)
{
	struct oa__client *p;
	oa_hook_event ev;
	oa__buf parts, file;
	size_t i;
	int r;

	if (c == NULL || prompt == NULL || (nimages && images == NULL))
		return OA_ERR_INVALID;
	p = c->p;
	if (p == NULL || !p->ready)
		return OA_ERR_STATE;
	if ((r = begin_turn(p)) != 0)
		return r;
	/* Calls the caller never answered: answer them so the history
	 * stays one a server accepts. */
	if (p->waiting && settle_calls(p, "no result was given") != 0)
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	if (p->stateless)
		cut_history(p, 0);

	memset(&ev, 0, sizeof ev);
	ev.kind = OA_HOOK_USER_PROMPT_SUBMIT;
	ev.prompt = prompt;
	r = run_hooks(p, &ev);
	if (r < 0)
		return r;
	if (r == OA_HOOK_BLOCK)
		return oa__fail(p->errmsg, OA_ERR_HOOK,
		                "blocked by a hook: %s",
		                p->tmp2.len ? p->tmp2.p : "no reason given");
	if (r == OA_HOOK_REPLACE)
		prompt = p->tmp2.p ? p->tmp2.p : "";

	p->turn_base = p->nmsgs;
	if (nimages == 0) {
		r = push_message(p, ROLE_USER, prompt, strlen(prompt), NULL);
		if (r)
			return oa__fail(p->errmsg, r, "out of memory");
	} else {
		memset(&parts, 0, sizeof parts);
		memset(&file, 0, sizeof file);
		parts.alloc = file.alloc = &p->alloc;
		file.limit = p->max_image + 1;
		parts.limit = p->body.limit;
		oa__buf_puts(&parts, "[{\"type\":\"text\",\"text\":");
		oa__json_put_str(&parts, prompt, strlen(prompt));
		oa__buf_puts(&parts, "}");
		for (i = r = 0; i < nimages && r == 0; i++)
			r = images[i] ? put_image(p, &parts, &file, images[i])
			              : OA_ERR_INVALID;
		oa__buf_puts(&parts, "]");
		if (r == 0 && parts.err)
			r = oa__fail(p->errmsg, parts.err, parts.err ==
			             OA_ERR_LIMIT ? "the images exceed "
			             "max_history_bytes" : "out of memory");
		if (r == 0) {
			r = push_message(p, ROLE_USER, prompt, strlen(prompt),
			                 NULL);
			if (r == 0 && (p->msgs[p->nmsgs - 1].parts =
			               oa__strndup(&p->alloc, parts.p,
			                           parts.len)) == NULL)
				r = OA_ERR_NOMEM;
			if (r)
				oa__fail(p->errmsg, r, "out of memory");
		}
		oa__buf_free(&parts);
		oa__buf_free(&file);
		if (r) {
			cut_history(p, p->turn_base);
			return r;
		}
	}
	if ((r = build_request(p)) != 0) {
		cut_history(p, p->turn_base);
		p->state = DONE;
		return r;
	}
	p->state = SEND;
	return 0;
}

/* see openagent.h */
int
oa_query(oa_client *c, const char *prompt)
{
	return query(c, prompt, NULL, 0);
}

/* see openagent.h */
int
oa_query_images(oa_client *c, const char *prompt, const char *const *images,
                size_t n)
{
	return query(c, prompt, images, n);
}

/* see openagent.h */
int
oa_add_tool_result(oa_client *c, const char *id, const char *result)
{
	struct oa__client *p;
	size_t i;

	if (c == NULL || id == NULL || result == NULL)
		return OA_ERR_INVALID;
	p = c->p;
	if (p == NULL || !p->ready || p->busy)
		return OA_ERR_STATE;
	for (i = 0; p->waiting && i < p->ncalls; i++) {
		struct call *k = &p->calls[i];
		if (strcmp(k->id.p, id) != 0)
			continue;
		if (k->has_result)
			return oa__fail(p->errmsg, OA_ERR_INVALID,
			                "tool call \"%s\" already has a result",
			                k->id.p);
		oa__buf_reset(&k->result);
		if (oa__buf_puts(&k->result, result))
			return oa__fail(p->errmsg, k->result.err,
			                "the result of \"%s\" is too large",
			                k->id.p);
		k->has_result = 1;
		return 0;
	}
	p->errmsg[0] = '\0';
	return oa__fail(p->errmsg, OA_ERR_INVALID,
	                "no tool call waiting for a result has id \"%.100s\"",
	                id);
}

/* see openagent.h */
int
oa_continue(oa_client *c)
{
	struct oa__client *p;
	size_t i, o;
	int r;

	if (c == NULL)
		return OA_ERR_INVALID;
	p = c->p;
	if (p == NULL || !p->ready)
		return OA_ERR_STATE;
	if (!p->waiting || p->state != DONE || p->busy)
		return oa__fail(p->errmsg, OA_ERR_STATE,
		                "no tool calls are waiting for results");
	p->errmsg[0] = '\0';
	o = (size_t)snprintf(p->errmsg, sizeof p->errmsg,
	                     "no result for tool call");
	for (i = r = 0; i < p->ncalls; i++) {
		if (p->calls[i].has_result)
			continue;
		if (o < sizeof p->errmsg)
			o += (size_t)snprintf(p->errmsg + o,
			                      sizeof p->errmsg - o, "%s %s",
			                      r ? "," : "", p->calls[i].id.p);
		r++;
	}
	if (r > 0)
		return OA_ERR_STATE;
	if ((r = begin_turn(p)) != 0)
		return r;
	if (settle_calls(p, "no result was given") != 0)
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	p->turn_base = p->nmsgs;
	if ((r = build_request(p)) != 0) {
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
	oa_block b = {0};
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
setup(struct oa__client *p, const oa_options *o)
{
	oa__url *u = &p->http.url;
	int r;

	if (o->base_url == NULL || o->base_url[0] == '\0')
		return oa__fail(p->errmsg, OA_ERR_INVALID,
		                "no base_url given");
	if ((r = oa__url_parse(u, o->base_url, p->errmsg)) != 0)
		return r;
	if ((r = oa__http_configure(&p->http, o, p->errmsg)) != 0)
		return r;
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
	p->max_rounds = o->max_tool_iterations > 0
	                    ? o->max_tool_iterations
	                    : OA_DEFAULT_MAX_TOOL_ITERATIONS;
	p->max_calls = o->max_tool_calls ? o->max_tool_calls
	                                 : OA_MAX_TOOL_CALLS;
	p->max_image = o->max_image_bytes ? o->max_image_bytes
	                                  : OA_MAX_IMAGE_BYTES;
	p->auto_tools = o->auto_execute_tools != 0;
	p->lenient = o->lenient_tool_args != 0;
	p->stateless = o->stateless != 0;
	if (o->parse_text_tools || o->think_tags || o->lenient_tool_args) {
		unsigned f = 0;
		if (o->parse_text_tools && o->ntools)
			f |= OA__TF_TOOLS;
		if (o->think_tags)
			f |= o->think_tags == 2 ? OA__TF_THINK_OPEN
			                        : OA__TF_THINK;
		if (o->lenient_tool_args)
			f |= OA__TF_LENIENT;
		/* lenient alone mends server tool calls; no text filter */
		p->tf_on = (f & ~OA__TF_LENIENT) != 0;
		oa__tf_init(&p->tf, &p->alloc, f, p->max_response);
	}
	p->no_stream = o->no_stream != 0;
	if (o->ntools && o->tools == NULL)
		return oa__fail(p->errmsg, OA_ERR_INVALID, "tools is NULL");
	if ((r = oa__tools_init(&p->tools, &p->alloc, o->tools, o->ntools,
	                        p->errmsg)) != 0)
		return r;
	if (o->nhooks) {
		size_t i;
		if (o->hooks == NULL)
			return oa__fail(p->errmsg, OA_ERR_INVALID,
			                "hooks is NULL");
		p->hooks = oa__mallocarray(&p->alloc, o->nhooks,
		                           sizeof *p->hooks);
		if (p->hooks == NULL)
			return oa__fail(p->errmsg, OA_ERR_NOMEM,
			                "out of memory");
		memcpy(p->hooks, o->hooks, o->nhooks * sizeof *p->hooks);
		p->nhooks = o->nhooks;
		for (i = 0; i < o->nhooks; i++)
			if (o->hooks[i].fn == NULL)
				return oa__fail(p->errmsg, OA_ERR_INVALID,
				                "hook %zu has no function", i);
	}
	p->rng = (uint64_t)oa__now_ms() ^ ((uint64_t)(uintptr_t)p << 16) ^
	         ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ULL;
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

	p->body.limit = o->max_history_bytes ? o->max_history_bytes
	                                     : OA_MAX_HISTORY_BYTES;
	p->text.limit = 0; /* bounded by max_response through count_response */
	oa__sse_init(&p->sse, &p->alloc, o->max_event_bytes);
	p->json.max_tokens = o->max_json_tokens;
	p->json2.max_tokens = o->max_json_tokens;
	if (o->extra && (r = take_extra(p, o->extra)) != 0)
		return r;
	if ((r = build_fields(p, o)) != 0)
		return r;

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
	p->parts.alloc = p->tmp.alloc = p->tmp2.alloc = &p->alloc;
	p->fields.alloc = p->segs.alloc = p->seen.alloc = &p->alloc;
	p->json2.alloc = &p->alloc;
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
	size_t i;

	if (c == NULL || (p = c->p) == NULL)
		return;
	cut_history(p, 0);
	oa__free(&p->alloc, p->msgs);
	for (i = 0; i < p->capcalls; i++) {
		oa__buf_free(&p->calls[i].id);
		oa__buf_free(&p->calls[i].name);
		oa__buf_free(&p->calls[i].args);
		oa__buf_free(&p->calls[i].input);
		oa__buf_free(&p->calls[i].result);
	}
	oa__free(&p->alloc, p->calls);
	oa__tools_free(&p->tools);
	oa__free(&p->alloc, p->hooks);
	oa__buf_free(&p->tmp);
	oa__buf_free(&p->tmp2);
	oa__buf_free(&p->fields);
	oa__buf_free(&p->segs);
	oa__buf_free(&p->seen);
	oa__free(&p->alloc, p->pend);
	oa__tf_free(&p->tf);
	oa__free(&p->alloc, p->extra);
	oa__free(&p->alloc, p->extra_keys);
	oa__json_free(&p->json2);
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
