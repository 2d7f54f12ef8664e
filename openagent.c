/*
 * openagent.c -- the client: the turn state machine behind oa_next(), and
 * the public calls that start, continue and stop a turn.
 *
 * A turn moves through these states (p->state):
 *
 *   IDLE     no query yet: oa_next() refuses.
 *   SEND     a request body is ready (oa_query, oa_continue, or the tool
 *            results of an auto round); the next step sends it and reads
 *            the response head.
 *   STREAM   reading the body: feed the SSE parser, turn each complete
 *            event into zero or more blocks on the queue (stream.c).
 *   ENDING   the stream finished ([DONE], or the end of the body after a
 *            finish_reason): without tool calls keep the reply in history
 *            and queue the turn-end block (-> DONE); with them check the
 *            calls (toolcalls.c) and go on to TOOLS.
 *   TOOLS    hand out the next call: its PRE_TOOL_USE hooks, then its
 *            tool-use block (-> RUN in auto mode, when it may run). After
 *            the last call: manual mode ends the turn (-> WAITING); auto
 *            mode puts the results in history and sends them (-> SEND),
 *            unless the tool rounds are used up (-> DONE).
 *   RUN      run the handler of the call just handed out, queue its
 *            result block (-> TOOLS). A block always goes out before the
 *            tool behind it runs, and an interrupt lands between tools.
 *   WAITING  manual mode: the turn ended with tool calls that wait for
 *            oa_add_tool_result(); oa_continue() sends them (-> SEND).
 *   DONE     the turn-end block was handed out: oa_next() returns 0.
 *
 * oa_next() is one loop: a stored error first (it sticks), then blocks
 * already queued (they came before anything that follows), then an
 * interrupt, then one step of the state. It returns as soon as one block
 * is queued, so it reads from the socket only as far as that needs.
 *
 * Errors are not a state: oa__fail_turn() stores the first one with its
 * message and every call returns it until the next oa_query() (BearSSL's
 * rule: the root cause sticks). A failure ends the turn on the spot: the
 * connection is closed, the partial reply is kept in history or, if no
 * text arrived, the user message is taken back. A call refused for the
 * caller's mistake (refuse()) says why in the message and changes
 * nothing else.
 *
 * Buffers. The SSE parser owns the receive buffer; the HTTP layer reads
 * into it directly and events are cut out of it in place. The JSON reader
 * parses the event where it lies and unescapes strings in place, so a text
 * block points into the receive buffer and lives until the next read.
 * The reply text grows in p->text (doubling) and becomes a history message
 * at the end of the turn. Nothing is allocated per chunk once these
 * buffers have reached their working size.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "oa_private.h"

/* see openagent.h */
const char *
oa_strerror(int err)
{
	switch ((oa_err)err) {
	case OA_OK: return "success";
	case OA_ERR_NOMEM: return "allocation failed";
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
	case OA_ERR_HTTP: return "server answered with an error";
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

/* ================================================================ errors */

/* see oa_private.h */
OA_PRIVATE int
oa__fail_turn(struct oa__client *p, int code, const char *fmt, ...)
{
	va_list ap;

	if (p->err)
		return p->err;
	p->err = code;
	if (p->errmsg[0] == '\0' && fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(p->errmsg, sizeof p->errmsg, fmt, ap);
		va_end(ap);
	}
	/* the detail only: oa_strerror() names the kind */
	if (p->errmsg[0] == '\0')
		snprintf(p->errmsg, sizeof p->errmsg, "no detail was recorded");
	oa__http_close(&p->http);
	p->npend = p->ipend = 0;
	p->busy = 0;
	switch (p->state) {
	case OA__SEND:
	case OA__STREAM:
	case OA__ENDING:
		/* The reply in flight: keep its text, drop its tool calls. */
		if (p->text_mode == OA__TEXT_SUSPECT)
			oa__buf_append(&p->text, p->held.p, p->held.len);
		p->ncalls = 0;
		if (p->text.len > 0 && p->text.err == 0)
			oa__push_reply(p, NULL);
		else if (p->nmsgs == p->turn_base + 1 &&
		         p->msgs[p->turn_base].role == OA__USER)
			oa__cut(p, p->turn_base);
		break;
	case OA__TOOLS:
	case OA__RUN:
		/* The calls are in history already: answer them all. */
		oa__calls_settle(p, code == OA_ERR_INTERRUPTED
		                        ? "not run: interrupted"
		                        : "not run: the turn failed");
		break;
	}
	if (p->stateless)
		oa__cut(p, 0);
	p->state = OA__DONE;
	return code;
}

/* A call refused for the caller's mistake: this call's own message, and
 * nothing else changes. */
static int
refuse(struct oa__client *p, int code, const char *fmt, ...)
	OA__PRINTF(3, 4);

static int
refuse(struct oa__client *p, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->errmsg, sizeof p->errmsg, fmt, ap);
	va_end(ap);
	return code;
}

/* ================================================================ blocks */

/* see oa_private.h */
OA_PRIVATE int
oa__queue(struct oa__client *p, int type, const char *s, size_t n,
          oa__call *call)
{
	oa__pending *q;

	if (oa__grow(&p->alloc, (void **)&p->pend, &p->cappend, p->npend + 1,
	             sizeof *q))
		return oa__fail_turn(p, OA_ERR_NOMEM, "out of memory");
	q = &p->pend[p->npend++];
	memset(q, 0, sizeof *q);
	q->type = type;
	q->text = s;
	q->len = n;
	q->call = call;
	return 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__queue_copy(struct oa__client *p, int type, const char *s, size_t n)
{
	size_t off = p->segs.len;
	int r;

	if (oa__buf_append(&p->segs, s, n) || oa__buf_append(&p->segs, "", 1))
		return oa__fail_turn(p, p->segs.err, "out of memory");
	if ((r = oa__queue(p, type, NULL, n, NULL)) != 0)
		return r;
	p->pend[p->npend - 1].in_segs = 1;
	p->pend[p->npend - 1].off = off;
	return 0;
}

static void
fill_block(struct oa__client *p, const oa__pending *q, oa_block *b)
{
	const oa__call *k = q->call;

	memset(b, 0, sizeof *b);
	b->type = (oa_block_type)q->type;
	b->text = q->in_segs ? p->segs.p + q->off : q->text;
	b->text_len = q->len;
	if (q->type == OA_BLOCK_TURN_END) {
		b->finish_reason = p->finish;
		b->usage = p->total;
		b->last_usage = p->usage;
	}
	if (k == NULL)
		return;
	b->id = k->id.p;
	b->id_len = k->id.len;
	b->name = k->name.p ? k->name.p : "";
	b->name_len = k->name.len;
	b->is_error = k->failed || k->blocked;
	b->blocked = k->blocked;
	if (q->type == OA_BLOCK_TOOL_USE) {
		b->input = oa__call_input(k);
		b->input_len = strlen(b->input);
		b->repaired = k->repaired;
	} else if (q->type == OA_BLOCK_TOOL_USE_ERROR) {
		b->text = k->result.p + k->why;
		b->text_len = k->result.len - k->why;
		b->raw = k->args.p;
		b->raw_len = k->args.len;
	} else {
		b->text = k->result.p;
		b->text_len = k->result.len;
	}
}

static int
end_turn(struct oa__client *p, const char *reason)
{
	if (reason != p->finish)
		snprintf(p->finish, sizeof p->finish, "%s", reason);
	p->state = OA__DONE;
	return oa__queue(p, OA_BLOCK_TURN_END, NULL, 0, NULL);
}

/* ================================================================ steps */

/* SEND: the request, then the response head decides what comes next. */
static int
send_request(struct oa__client *p)
{
	int r;

	if (++p->requests > p->max_turns)
		return oa__fail_turn(p, OA_ERR_MAX_TURNS, "max_turns (%d) "
		                     "requests made for one query",
		                     p->max_turns);
	oa__sse_reset(&p->sse);
	p->ncalls = 0;
	r = oa__http_request(&p->http, "POST", p->path, p->headers.p,
	                     p->body.p, p->body.len, p->errmsg);
	return r ? oa__fail_turn(p, r, NULL) : oa__take_head(p);
}

/* STREAM: the next event, or more bytes from the socket, or the end.
 * With nowait, OA__AGAIN instead of reading. */
static int
stream_step(struct oa__client *p, int nowait)
{
	oa__sse_event ev;
	/* dst and room are set by oa__sse_space; gcc -O2, inlining it in the
	 * amalgamation, cannot see that and warns without the zeros. */
	char *dst = NULL;
	size_t room = 0, got = 0;
	int r;

	if ((r = oa__sse_next(&p->sse, &ev, p->errmsg)) != 0)
		return r < 0 ? oa__fail_turn(p, r, NULL)
		             : oa__take_event(p, &ev);
	if (nowait)
		return OA__AGAIN;
	r = oa__sse_space(&p->sse, &dst, &room, p->errmsg);
	if (r == 0)
		r = oa__http_read(&p->http, dst, room, &got, p->errmsg);
	if ((r == OA_ERR_TRUNCATED || r == OA_ERR_IO) && p->finished) {
		/* everything that matters arrived; the framing did not */
		p->state = OA__ENDING;
		return 0;
	}
	/* A reset in the middle of the body cuts the reply short, like an
	 * early close; the detail still says "reset". */
	if (r != 0)
		return oa__fail_turn(p, r == OA_ERR_IO ? OA_ERR_TRUNCATED : r,
		                     NULL);
	if (got > 0) {
		oa__sse_ack(&p->sse, got);
		return 0;
	}
	if (oa__sse_finish(&p->sse, &ev) && (r = oa__take_event(p, &ev)) != 0)
		return r;
	if (p->state == OA__ENDING || p->finished) {
		p->state = OA__ENDING;
		return 0;
	}
	return oa__fail_turn(p, OA_ERR_TRUNCATED, "the server ended the "
	                     "stream without [DONE] or a finish_reason");
}

/* ENDING: keep the reply; end the turn or go on to its tool calls. */
static int
finish_reply(struct oa__client *p)
{
	int r;

	if ((r = oa__reply_flush(p)) != 0)
		return r;
	if (p->usage.present) {
		p->total.present = 1;
		p->total.prompt_tokens += p->usage.prompt_tokens;
		p->total.completion_tokens += p->usage.completion_tokens;
		p->total.total_tokens += p->usage.total_tokens;
	}
	if (p->ncalls > 0) {
		if ((r = oa__calls_prepare(p)) != 0)
			return r;
		p->icall = 0;
		p->state = OA__TOOLS;
		return 0;
	}
	if (p->stateless)
		oa__cut(p, 0);
	else if (oa__push_reply(p, NULL))
		return oa__fail_turn(p, OA_ERR_NOMEM, "out of memory");
	return end_turn(p, p->finish[0] ? p->finish : "stop");
}

/* Auto mode has run max_tool_iterations rounds: calls are not run. */
static int
rounds_used_up(const struct oa__client *p)
{
	return !p->manual && p->rounds >= p->max_rounds;
}

/* TOOLS after the last call: wait for results, or send them. */
static int
tools_done(struct oa__client *p)
{
	int r;

	if (p->manual) {
		r = end_turn(p, "tool_calls");
		p->state = OA__WAITING;
		return r;
	}
	if (oa__calls_settle(p, "not run") != 0)
		return oa__fail_turn(p, OA_ERR_NOMEM, "out of memory");
	if (rounds_used_up(p))
		return end_turn(p, "max_tool_iterations");
	p->rounds++;
	oa__reply_reset(p);
	if ((r = oa__build_request(p)) != 0)
		return oa__fail_turn(p, r, NULL);
	p->state = OA__SEND;
	return 0;
}

/* TOOLS: hand out the next call. */
static int
tool_step(struct oa__client *p)
{
	oa__call *k;
	int r;

	if (p->icall == p->ncalls)
		return tools_done(p);
	k = &p->calls[p->icall];
	if (k->error) {
		p->icall++;
		return oa__queue(p, OA_BLOCK_TOOL_USE_ERROR, NULL, 0, k);
	}
	if (rounds_used_up(p)) {
		oa__buf_printf(&k->result, "error: not run: the limit of %d "
		               "tool rounds was reached", p->max_rounds);
		k->has_result = k->failed = 1;
	} else if ((r = oa__hook_pre_tool(p, k)) != 0) {
		return oa__fail_turn(p, r, NULL);
	}
	/* Manual mode: a call the hooks answered needs nothing from the
	 * caller, which a tool-use-error block says (the caller answers
	 * every tool-use block). */
	if (k->has_result && p->manual) {
		p->icall++;
		return oa__queue(p, OA_BLOCK_TOOL_USE_ERROR, NULL, 0, k);
	}
	if ((r = oa__queue(p, OA_BLOCK_TOOL_USE, NULL, 0, k)) != 0 ||
	    (k->has_result &&
	     (r = oa__queue(p, OA_BLOCK_TOOL_RESULT, NULL, 0, k)) != 0))
		return r;
	if (k->has_result || p->manual)
		p->icall++;
	else
		p->state = OA__RUN;
	return 0;
}

/* RUN: the handler of the call just handed out. */
static int
run_step(struct oa__client *p)
{
	oa__call *k = &p->calls[p->icall++];
	int r;

	p->state = OA__TOOLS;
	if ((r = oa__call_run(p, k)) != 0)
		return oa__fail_turn(p, r, NULL);
	return 0;
}

/*
 * The loop behind oa_next(): fixed priorities, a stored error first (it
 * sticks), then blocks already queued (they came before anything that
 * follows), then an interrupt, then one step of the state. With b NULL
 * (oa_ready) it stops short of any step that may wait -- sending, reading
 * the socket, running a hook or a tool -- and says 1 when oa_next() would
 * return at once, 0 when it would wait.
 */
static int
pump(struct oa__client *p, oa_block *b)
{
	int r = 0, nowait = b == NULL;

	for (;;) {
		if (p->err)
			return nowait ? 1 : p->err;
		if (p->ipend < p->npend) {
			if (nowait)
				return 1;
			fill_block(p, &p->pend[p->ipend++], b);
			return b->type;
		}
		p->npend = p->ipend = 0;
		oa__buf_reset(&p->segs);
		if (p->interrupted && p->state != OA__IDLE &&
		    p->state != OA__WAITING && p->state != OA__DONE)
			return nowait ? 1 : oa__fail_turn(p, OA_ERR_INTERRUPTED,
			                                  "oa_interrupt() was "
			                                  "called");
		if (nowait && (p->state == OA__SEND || p->state == OA__TOOLS ||
		               p->state == OA__RUN))
			return 0;
		switch (p->state) {
		case OA__IDLE:
			return nowait ? 1 : refuse(p, OA_ERR_STATE, "oa_next() "
			                           "before oa_query()");
		case OA__WAITING:
		case OA__DONE:
			return nowait;
		case OA__SEND:
			r = send_request(p);
			break;
		case OA__STREAM:
			if ((r = stream_step(p, nowait)) == OA__AGAIN)
				return 0;
			break;
		case OA__ENDING:
			r = finish_reply(p);
			break;
		case OA__TOOLS:
			r = tool_step(p);
			break;
		case OA__RUN:
			r = run_step(p);
			break;
		}
		if (r < 0)
			return nowait ? 1 : r;
	}
}

/* see openagent.h */
int
oa_next(oa_client *c, oa_block *b)
{
	if (c == NULL || b == NULL)
		return OA_ERR_INVALID;
	if (c->p == NULL || !c->p->ready || c->p->busy)
		return OA_ERR_STATE;
	return pump(c->p, b);
}

/* see openagent.h */
int
oa_ready(oa_client *c)
{
	if (c == NULL || c->p == NULL || !c->p->ready || c->p->busy)
		return 1;
	return pump(c->p, NULL);
}

/* ================================================================ turns */

/* WAITING: how many calls still lack a result, named in the message
 * (for oa_continue() and oa_query(), which refuse then). */
static int
unanswered(struct oa__client *p)
{
	size_t i, o = 0;
	int n = 0;

	for (i = 0; i < p->ncalls; i++) {
		if (p->calls[i].has_result)
			continue;
		if (o < sizeof p->errmsg)
			o += (size_t)snprintf(p->errmsg + o,
			                      sizeof p->errmsg - o, "%s%s",
			                      n ? ", " : "no result for tool "
			                      "call ", p->calls[i].id.p);
		n++;
	}
	if (n > 0 && o < sizeof p->errmsg)
		snprintf(p->errmsg + o, sizeof p->errmsg - o, ": give each "
		         "its result with oa_add_tool_result(), then call "
		         "oa_continue()");
	return n;
}

/* Clear the last turn's state for a new one. 0 or OA_ERR_STATE. */
static int
begin_turn(struct oa__client *p)
{
	char drain[64];

	if (p->busy)
		return OA_ERR_STATE;
	if (p->state != OA__IDLE && p->state != OA__WAITING &&
	    p->state != OA__DONE) {
		if (!p->interrupted)
			return refuse(p, OA_ERR_STATE, "a turn is still "
			              "running");
		oa__fail_turn(p, OA_ERR_INTERRUPTED, "oa_interrupt() was "
		              "called");
	}
	while (read(p->wake[0], drain, sizeof drain) > 0)
		;
	p->interrupted = 0;
	p->err = 0;
	p->errmsg[0] = '\0';
	p->requests = 0;
	p->rounds = 0;
	memset(&p->total, 0, sizeof p->total);
	p->npend = p->ipend = 0;
	oa__reply_reset(p);
	return 0;
}

/* The user message: the prompt, or with images content parts. */
static int
push_prompt(struct oa__client *p, const char *prompt, const char *images)
{
	oa__buf *b = &p->parts;

	if (oa__push(p, OA__USER, prompt, strlen(prompt), NULL))
		return OA_ERR_NOMEM;
	if (images == NULL)
		return 0;
	oa__buf_reset(b);
	oa__buf_puts(b, "[{\"type\":\"text\",\"text\":");
	oa__json_put_str(b, prompt, strlen(prompt));
	oa__buf_puts(b, "}");
	oa__buf_puts(b, images);
	oa__buf_puts(b, "]");
	if (b->err || (p->msgs[p->nmsgs - 1].parts =
	               oa__strndup(&p->alloc, b->p, b->len)) == NULL)
		return OA_ERR_NOMEM;
	return 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__query(oa_client *c, const char *prompt, const char *images)
{
	struct oa__client *p;
	int r;

	if (c == NULL || prompt == NULL)
		return OA_ERR_INVALID;
	p = c->p;
	if (p == NULL || !p->ready)
		return OA_ERR_STATE;
	/* Calls waiting for results are the caller's to answer: a new
	 * prompt would leave them dangling, so it is refused, as
	 * oa_truncate() and the other history calls are. */
	if (p->state == OA__WAITING && !p->busy && unanswered(p) > 0)
		return OA_ERR_STATE;
	if ((r = begin_turn(p)) != 0)
		return r;
	/* Answered but not sent: the results go before the prompt. */
	if (p->state == OA__WAITING &&
	    oa__calls_settle(p, "no result was given") != 0)
		return refuse(p, OA_ERR_NOMEM, "out of memory");
	p->state = OA__DONE;
	if (p->stateless)
		oa__cut(p, 0);
	if ((r = oa__hook_prompt(p, &prompt)) != 0)
		return r;
	p->turn_base = p->nmsgs;
	if ((r = push_prompt(p, prompt, images)) != 0) {
		oa__cut(p, p->turn_base);
		return refuse(p, r, "out of memory");
	}
	if ((r = oa__build_request(p)) != 0) {
		oa__cut(p, p->turn_base);
		return r;
	}
	p->state = OA__SEND;
	return 0;
}

/* see openagent.h */
int
oa_query(oa_client *c, const char *prompt)
{
	return oa__query(c, prompt, NULL);
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
	for (i = 0; p->state == OA__WAITING && i < p->ncalls; i++) {
		oa__call *k = &p->calls[i];
		if (strcmp(k->id.p, id) != 0)
			continue;
		if (k->has_result)
			return refuse(p, OA_ERR_INVALID, "tool call \"%s\" "
			              "%s", k->id.p, k->failed || k->blocked ?
			              "needs no result: the library answered it "
			              "(its tool-use-error block says why)" :
			              "already has a result");
		oa__buf_reset(&k->result);
		if (oa__buf_puts(&k->result, result))
			return refuse(p, k->result.err, "the result of \"%s\" "
			              "is too large", k->id.p);
		k->has_result = 1;
		return 0;
	}
	return refuse(p, OA_ERR_INVALID, "no tool call waiting for a result "
	              "has id \"%.100s\"", id);
}

/* see openagent.h */
int
oa_continue(oa_client *c)
{
	struct oa__client *p;
	int r;

	if (c == NULL)
		return OA_ERR_INVALID;
	p = c->p;
	if (p == NULL || !p->ready)
		return OA_ERR_STATE;
	if (p->state != OA__WAITING || p->busy)
		return refuse(p, OA_ERR_STATE, "no tool calls are waiting for "
		              "results");
	if (unanswered(p) > 0)
		return OA_ERR_STATE;
	if ((r = begin_turn(p)) != 0)
		return r;
	if (oa__calls_settle(p, "no result was given") != 0)
		return refuse(p, OA_ERR_NOMEM, "out of memory");
	p->state = OA__DONE;
	p->turn_base = p->nmsgs;
	if ((r = oa__build_request(p)) != 0)
		return r;
	p->state = OA__SEND;
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
int
oa_interrupt_fd(const oa_client *c)
{
	if (c == NULL || c->p == NULL || !c->p->ready)
		return -1;
	return c->p->wake[0];
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
			return refuse(p, p->ask.err, "out of memory");
	if (r < 0)
		return r;
	*text = p->ask.p ? p->ask.p : "";
	if (len)
		*len = p->ask.len;
	return 0;
}

/* ================================================================ setup */

/* see openagent.h */
int
oa_init(oa_client *c, const oa_options *o)
{
	struct oa__client *p;
	int r;

	if (c == NULL)
		return OA_ERR_INVALID;
	c->p = NULL;
	if (o == NULL)
		return OA_ERR_INVALID;
	if ((p = oa__malloc(&o->allocator, sizeof *p)) == NULL)
		return OA_ERR_NOMEM;
	memset(p, 0, sizeof *p);
	p->alloc = o->allocator;
	c->p = p;
	if ((r = oa__setup(p, o)) != 0) {
		p->err = r;
		return r;
	}
	p->ready = 1;
	p->state = OA__IDLE;
	return 0;
}

/* see openagent.h */
void
oa_free(oa_client *c)
{
	struct oa__client *p;

	if (c == NULL || (p = c->p) == NULL)
		return;
	oa__teardown(p);
	oa__free(&p->alloc, p);
	c->p = NULL;
}
