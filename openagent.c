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
 *            tool-use block (-> RUN), or a tool-use-error block when the
 *            library answered it. After the last call: manual mode ends
 *            the turn (-> WAITING); auto mode puts the results in history
 *            and sends them (-> SEND), unless the tool rounds are used up
 *            (-> DONE).
 *   RUN      the result of the call just handed out: in auto mode its
 *            handler runs, and its result block is queued (-> TOOLS). A
 *            block always goes out before the tool behind it runs, and an
 *            interrupt lands between tools.
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

/* The names of the oa_err values, indexed by -err: OA_OK, OA_ERR_NOMEM
 * and on, in the order of openagent.h (values are never renumbered). */
static const char *const err_names[] = {
	"success", "allocation failed", "invalid argument",
	"call not allowed now", "bad base URL", "host name lookup failed",
	"connection failed", "TLS failure", "connect timed out",
	"server stopped sending", "request deadline passed", "network error",
	"server answered with an error", "malformed HTTP response",
	"malformed stream", "stream cut short", "server reported an error",
	"limit exceeded", "interrupted", "blocked by a hook",
	"bad configuration", "too many turns", "file error"
};
#define NERR ((int)(sizeof err_names / sizeof *err_names))
/* A new oa_err needs a name: the build fails while one is missing. */
typedef char oa__err_names_complete[NERR == 1 - OA_ERR_FILE ? 1 : -1];

/* see openagent.h */
const char *
oa_strerror(int err)
{
	return err <= 0 && err > -NERR ? err_names[-err] : "unknown error";
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
	/* the detail only: oa_strerror() names the kind */
	va_start(ap, fmt);
	if (p->errmsg[0] == '\0')
		vsnprintf(p->errmsg, sizeof p->errmsg,
		          fmt ? fmt : "no detail was recorded", ap);
	va_end(ap);
	oa__http_close(&p->http);
	if (p->state == OA__TOOLS || p->state == OA__RUN) {
		/* The calls are in history already: answer them all. */
		oa__calls_settle(p, code == OA_ERR_INTERRUPTED
		                        ? "not run: interrupted"
		                        : "not run: the turn failed");
	} else if (p->state != OA__IDLE && p->state < OA__TOOLS) {
		/* The reply in flight: keep its text, drop its tool calls. */
		if (p->text_mode == OA__TEXT_SUSPECT)
			oa__buf_append(&p->text, p->held.p, p->held.len);
		if (p->text.len > 0 && p->text.err == 0)
			oa__push_reply(p, NULL);
		else if (p->nmsgs == p->turn_base + 1)   /* the prompt alone */
			oa__cut(p, p->turn_base);
	}
	if (p->stateless)
		oa__cut(p, 0);
	p->state = OA__DONE;
	return code;
}

/* A call refused for the caller's mistake: this call's own message, and
 * nothing else changes. */
#define refuse(p, code, ...) \
	((p)->errmsg[0] = '\0', oa__fail((p)->errmsg, (code), __VA_ARGS__))

/* ================================================================ blocks */

/* see oa_private.h */
OA_PRIVATE int
oa__queue(struct oa__client *p, int type, const char *s, size_t n,
          oa__call *call)
{
	if (oa__grow(&p->alloc, (void **)&p->pend, &p->cappend, p->npend + 1,
	             sizeof *p->pend))
		return oa__fail_turn(p, OA_ERR_NOMEM, "out of memory");
	p->pend[p->npend++] = (oa__pending){.type = type, .text = s, .len = n,
	                                    .call = call};
	return 0;
}

/* The block q stands for, lent from the buffers it points into (a tool
 * block's text is its call's result); its type. */
static int
fill_block(struct oa__client *p, const oa__pending *q, oa_block *b)
{
	const oa__call *k = q->call;

	*b = (oa_block){.type = (oa_block_type)q->type, .text_len = q->len,
	                .text = q->in_segs ? p->segs.p + q->off : q->text};
	if (q->type == OA_BLOCK_TURN_END) {
		b->finish_reason = p->finish;
		b->usage = p->total;
		b->last_usage = p->usage;
	}
	if (k == NULL)
		return b->type;
	b->id = k->id.p;
	b->id_len = k->id.len;
	b->name = k->name.p ? k->name.p : "";
	b->name_len = k->name.len;
	b->is_error = k->failed || k->blocked;
	b->blocked = k->blocked;
	if (q->type == OA_BLOCK_TOOL_USE) {
		b->input = k->input.len ? k->input.p : k->args.p;
		b->input_len = strlen(b->input);
		b->repaired = k->repaired;
	} else if (q->type == OA_BLOCK_TOOL_USE_ERROR) {
		b->raw = k->args.p;
		b->raw_len = k->args.len;
	}
	return b->type;
}

/* The turn-end block; the turn goes on to state (DONE or WAITING). */
static int
end_turn(struct oa__client *p, const char *reason, int state)
{
	if (reason != p->finish)
		snprintf(p->finish, sizeof p->finish, "%s", reason);
	p->state = state;
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
		                     "requests made for one query", p->max_turns);
	oa__sse_reset(&p->sse);
	p->ncalls = p->icall = 0;
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
	if ((r = oa__sse_space(&p->sse, &dst, &room, p->errmsg)) == 0 &&
	    (r = oa__http_read(&p->http, dst, room, &got, p->errmsg)) == 0 &&
	    got > 0) {
		oa__sse_ack(&p->sse, got);
		return 0;
	}
	/* A reset in the middle of the body cuts the reply short, like an
	 * early close; the detail still says "reset". */
	if (r == OA_ERR_IO)
		r = OA_ERR_TRUNCATED;
	/* the end of the body: its last event may lack the blank line */
	if (r == 0 && oa__sse_finish(&p->sse, &ev) &&
	    (r = oa__take_event(p, &ev)) != 0)
		return r;
	/* After a finish_reason, everything that matters arrived even when
	 * the framing did not. */
	if (p->state == OA__ENDING ||
	    (p->finish[0] && (r == 0 || r == OA_ERR_TRUNCATED))) {
		p->state = OA__ENDING;
		return 0;
	}
	return oa__fail_turn(p, r ? r : OA_ERR_TRUNCATED, r ? NULL : "the "
	                     "server ended the stream without [DONE] or a "
	                     "finish_reason");
}

/* ENDING: keep the reply; end the turn or go on to its tool calls. */
static int
finish_reply(struct oa__client *p)
{
	int r;

	if ((r = oa__reply_flush(p)) != 0)
		return r;
	/* a request without usage has zeros there */
	p->total.present |= p->usage.present;
	p->total.prompt_tokens += p->usage.prompt_tokens;
	p->total.completion_tokens += p->usage.completion_tokens;
	p->total.total_tokens += p->usage.total_tokens;
	/* with calls: checked, and on to TOOLS */
	if (p->ncalls > 0)
		return oa__calls_prepare(p);
	if (p->stateless)
		oa__cut(p, 0);
	else if (oa__push_reply(p, NULL))
		return oa__fail_turn(p, OA_ERR_NOMEM, "out of memory");
	return end_turn(p, p->finish[0] ? p->finish : "stop", OA__DONE);
}

/* The turn's next request (-> SEND). One that cannot be built ends the
 * turn, taking back a prompt that got no answer. */
static int
send_next(struct oa__client *p)
{
	int r;

	p->state = OA__SEND;
	oa__reply_reset(p);
	r = oa__build_request(p);
	return r ? oa__fail_turn(p, r, NULL) : 0;
}

/* TOOLS: hand out the next call. */
static int
tool_step(struct oa__client *p)
{
	oa__call *k = &p->calls[p->icall];
	int r, error;

	if (p->icall == p->ncalls) {
		/* after the last call: wait for results, or send them */
		if (p->manual)
			return end_turn(p, "tool_calls", OA__WAITING);
		if (oa__calls_settle(p, "not run") != 0)
			return oa__fail_turn(p, OA_ERR_NOMEM, "out of memory");
		if (p->rounds++ >= p->max_rounds)
			return end_turn(p, "max_tool_iterations", OA__DONE);
		return send_next(p);
	}
	/* a result before the hooks: the checks found it cannot run */
	error = k->has_result;
	if (!error && !p->manual && p->rounds >= p->max_rounds) {
		/* auto mode has run max_tool_iterations rounds */
		oa__buf_printf(&k->result, "error: not run: the limit of %d "
		               "tool rounds was reached", p->max_rounds);
		k->has_result = k->failed = 1;
	} else if (!error && (r = oa__hook_pre_tool(p, k)) != 0) {
		return oa__fail_turn(p, r, NULL);
	}
	/* A call that cannot run, or in manual mode one the hooks answered,
	 * needs nothing from the caller, which a tool-use-error block says
	 * (the caller answers every tool-use block). */
	if (k->has_result && (error || p->manual)) {
		/* the reason alone; the block adds the arguments received */
		p->icall++;
		return oa__queue(p, OA_BLOCK_TOOL_USE_ERROR,
		                 k->result.p + k->why, k->result.len - k->why,
		                 k);
	}
	p->state = OA__RUN;
	return oa__queue(p, OA_BLOCK_TOOL_USE, NULL, 0, k);
}

/* RUN: the result of the call just handed out: the one it has (a hook's,
 * or the rounds limit's), or its handler's; in manual mode the caller's,
 * later. */
static int
run_step(struct oa__client *p)
{
	oa__call *k = &p->calls[p->icall++];
	int r;

	p->state = OA__TOOLS;
	if (!k->has_result && !p->manual && (r = oa__call_run(p, k)) != 0)
		return oa__fail_turn(p, r, NULL);
	return k->has_result ? oa__queue(p, OA_BLOCK_TOOL_RESULT, k->result.p,
	                                 k->result.len, k) : 0;
}

/* The step of each state that has one (IDLE, WAITING and DONE wait for
 * a call of the caller's). */
static int (*const steps[])(struct oa__client *p) = {
	[OA__SEND] = send_request, [OA__ENDING] = finish_reply,
	[OA__TOOLS] = tool_step, [OA__RUN] = run_step
};

/*
 * The loop behind oa_next(): fixed priorities, a stored error first (it
 * sticks), then blocks already queued (they came before anything that
 * follows), then an interrupt, then one step of the state. With b NULL
 * (oa_ready) it stops short of any step that may wait -- sending, reading
 * the socket, running a hook or a tool -- and returns OA__AGAIN there;
 * anything else means oa_next() would return at once.
 */
static int
pump(struct oa__client *p, oa_block *b)
{
	int r, nowait = b == NULL;

	for (;;) {
		if (p->err)
			return p->err;
		if (p->ipend < p->npend)
			return nowait ? 1 : fill_block(p, &p->pend[p->ipend++], b);
		p->npend = p->ipend = 0;
		if (p->state == OA__IDLE)
			return nowait ? 1 : refuse(p, OA_ERR_STATE, "oa_next() "
			                           "before oa_query()");
		if (p->state == OA__WAITING || p->state == OA__DONE)
			return 0;
		if (p->interrupted)
			return oa__fail_turn(p, OA_ERR_INTERRUPTED, "oa_interrupt() "
			                     "was called");
		if (nowait && p->state != OA__STREAM && p->state != OA__ENDING)
			return OA__AGAIN;
		r = p->state == OA__STREAM ? stream_step(p, nowait)
		                           : steps[p->state](p);
		if (r < 0 || r == OA__AGAIN)
			return r;
	}
}

/* The client behind c, into *pp: 0; OA_ERR_INVALID when c or another
 * argument (args is 0) is NULL; OA_ERR_STATE when it was not set up or
 * is inside a handler or hook (which may not call it). */
static int
usable(const oa_client *c, int args, struct oa__client **pp)
{
	if (c == NULL || !args)
		return OA_ERR_INVALID;
	*pp = c->p;
	return c->p && c->p->ready && !c->p->busy ? 0 : OA_ERR_STATE;
}

/* see openagent.h */
int
oa_next(oa_client *c, oa_block *b)
{
	struct oa__client *p;
	int r = usable(c, b != NULL, &p);

	return r ? r : pump(p, b);
}

/* see openagent.h */
int
oa_ready(oa_client *c)
{
	struct oa__client *p;

	return usable(c, 1, &p) ? 1 : pump(p, NULL) != OA__AGAIN;
}

/* ================================================================ turns */

/* Start a turn on c and prepare its request: oa_query's with its prompt,
 * or oa_continue's (prompt NULL); args as for usable(). The last turn has
 * ended, or was interrupted; results given in manual mode go into history
 * first. */
static int
begin_turn(oa_client *c, int args, const char *prompt)
{
	char drain[64], ids[OA__ERRLEN];
	struct oa__client *p;
	size_t i, o = 0;
	int r;

	if ((r = usable(c, args, &p)) != 0)
		return r;
	if (prompt == NULL && p->state != OA__WAITING)
		return refuse(p, OA_ERR_STATE, "no tool calls are waiting for "
		              "results");
	/* Calls waiting for results are the caller's to answer: a new
	 * request would leave them dangling, so it is refused, naming them,
	 * as oa_truncate() and the other history calls are. */
	for (i = 0; p->state == OA__WAITING && i < p->ncalls; i++)
		if (!p->calls[i].has_result && o < sizeof ids)
			o += (size_t)snprintf(ids + o, sizeof ids - o, "%s%s",
			                      o ? ", " : "", p->calls[i].id.p);
	if (o > 0)
		return refuse(p, OA_ERR_STATE, "no result for tool call %s: "
		              "give each its result with oa_add_tool_result()"
		              ", then call oa_continue()", ids);
	if (p->state != OA__IDLE && p->state < OA__WAITING) {
		if (!p->interrupted)
			return refuse(p, OA_ERR_STATE, "a turn is still "
			              "running");
		oa__fail_turn(p, OA_ERR_INTERRUPTED, "oa_interrupt() was "
		              "called");
	}
	while (read(p->wake[0], drain, sizeof drain) > 0)
		;
	p->interrupted = p->err = p->requests = p->rounds = 0;
	p->errmsg[0] = '\0';
	memset(&p->total, 0, sizeof p->total);
	p->npend = p->ipend = 0;
	/* (every call has its result by now) */
	if (p->state == OA__WAITING && oa__calls_settle(p, "") != 0)
		return refuse(p, OA_ERR_NOMEM, "out of memory");
	p->state = OA__DONE;
	if (prompt && p->stateless)
		oa__cut(p, 0);
	if (prompt && (r = oa__hook_prompt(p, &prompt)) != 0)
		return r;
	p->turn_base = p->nmsgs;
	if (prompt && oa__push(p, OA__USER, prompt, strlen(prompt), NULL))
		return refuse(p, OA_ERR_NOMEM, "out of memory");
	return send_next(p);
}

/* see openagent.h */
int
oa_query(oa_client *c, const char *prompt)
{
	return begin_turn(c, prompt != NULL, prompt);
}

/* see openagent.h */
int
oa_add_tool_result(oa_client *c, const char *id, const char *result)
{
	struct oa__client *p;
	oa__call *k;
	int r;

	if ((r = usable(c, id != NULL && result != NULL, &p)) != 0)
		return r;
	for (k = p->calls; p->state == OA__WAITING &&
	     k < p->calls + p->ncalls && strcmp(k->id.p, id) != 0; k++)
		;
	if (p->state != OA__WAITING || k == p->calls + p->ncalls)
		return refuse(p, OA_ERR_INVALID, "no tool call waiting for a "
		              "result has id \"%.100s\"", id);
	if (k->has_result)
		return refuse(p, OA_ERR_INVALID, "tool call \"%s\" %s", k->id.p,
		              k->failed || k->blocked ? "needs no result: the "
		              "library answered it (its tool-use-error block "
		              "says why)" : "already has a result");
	oa__buf_reset(&k->result);
	if (oa__buf_puts(&k->result, result))
		return refuse(p, k->result.err, "the result of \"%s\" is too "
		              "large", k->id.p);
	k->has_result = 1;
	return 0;
}

/* see openagent.h */
int
oa_continue(oa_client *c)
{
	return begin_turn(c, 1, NULL);
}

/* see openagent.h */
int
oa_interrupt_fd(const oa_client *c)
{
	return c && c->p && c->p->ready ? c->p->wake[0] : -1;
}

/* see openagent.h */
void
oa_interrupt(oa_client *c)
{
	/* Only a flag store and write(2): both async-signal-safe. */
	if (oa_interrupt_fd(c) < 0)
		return;
	c->p->interrupted = 1;
	/* a full pipe is readable already: a failed write loses nothing */
	if (write(c->p->wake[1], "", 1) < 0)
		return;
}

/* see openagent.h */
const char *
oa_errmsg(const oa_client *c)
{
	return c == NULL ? "" : c->p ? c->p->errmsg : "out of memory";
}

/* see openagent.h */
int
oa_http_status(const oa_client *c)
{
	return c && c->p ? c->p->http.status : 0;
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
	*p = (struct oa__client){.alloc = o->allocator}; /* state IDLE */
	c->p = p;
	if ((r = oa__setup(p, o)) == 0)
		p->ready = 1;
	return r;
}

/* see openagent.h */
void
oa_free(oa_client *c)
{
	if (c == NULL || c->p == NULL)
		return;
	oa__teardown(c->p);
	oa__free(&c->p->alloc, c->p);
	c->p = NULL;
}
