/*
 * toolcalls.c -- a reply's tool calls: assembled from stream fragments,
 * checked once the reply is complete, run in auto mode.
 *
 * Assembly follows what servers send (docs/provider-compatibility.md):
 * tool_calls as an array or a single object; index an integer, a string
 * of digits, or missing; the id and the name set once from the first
 * non-empty value and never appended; arguments appended verbatim, or
 * taken whole when a server sends them as a JSON value. A fragment joins
 * the last slot at its index unless it brings both a new id and a name
 * (SGLang sends two calls at one index that way).
 *
 * Once the reply is complete the calls get unique ids, their arguments
 * are parsed (and, with lenient_tool_args, mended), and each call is
 * marked as an error (unknown tool, bad arguments) or runnable. In auto
 * mode a runnable call's arguments are also checked against the tool's
 * schema, and the handler runs (oa__call_run). Each call ends with a
 * result, which oa__calls_settle puts into the history.
 *
 * A call that cannot run has its result ("error: " and the reason) from
 * the start, so has_result before the hooks have run means "an error".
 * A buffer that ran out of memory keeps the error (oa__buf), and
 * oa__calls_prepare checks them all at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oa_private.h"

/* Where the reason starts in an error result. */
#define ERROR_PREFIX "error: "

/* Is b (an id) exactly the non-empty s[0..n)? */
static int
id_is(const oa__buf *b, const char *s, size_t n)
{
	return b->len == n && n > 0 && memcmp(b->p, s, n) == 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__new_call(struct oa__client *p, int has_index, long long index)
{
	size_t i, old = p->capcalls;
	oa__call *k, spare;

	if (p->ncalls >= p->max_calls)
		return oa__fail_turn(p, OA_ERR_LIMIT, "more than "
		                     "max_tool_calls (%zu) tool calls in one "
		                     "reply", p->max_calls);
	if (oa__grow(&p->alloc, (void **)&p->calls, &p->capcalls,
	             p->ncalls + 1, sizeof *k))
		return oa__fail_turn(p, OA_ERR_NOMEM, "out of memory");
	memset(p->calls + old, 0, (p->capcalls - old) * sizeof *k);
	/* Slots stay in index order, a new one after those at its index
	 * (stable). Without an index: past the highest, at the end. */
	if (!has_index && p->ncalls > 0 &&
	    p->calls[p->ncalls - 1].index >= index)
		index = p->calls[p->ncalls - 1].index + 1;
	for (i = p->ncalls; i > 0 && p->calls[i - 1].index > index; i--)
		;
	/* the spare slot past the last moves in there with its buffers,
	 * which keep their memory from reply to reply */
	spare = p->calls[p->ncalls];
	memmove(p->calls + i + 1, p->calls + i, (p->ncalls - i) * sizeof *k);
	p->ncalls++;
	k = &p->calls[i];
	*k = spare;
	p->lastcall = i;
	/* the fields before the buffers: index and flags */
	memset(k, 0, offsetof(oa__call, id));
	k->index = index;
	oa__buf_reset(&k->id);
	oa__buf_reset(&k->name);
	oa__buf_reset(&k->args);
	oa__buf_reset(&k->input);
	oa__buf_reset(&k->result);
	k->id.alloc = k->name.alloc = k->args.alloc = &p->alloc;
	k->input.alloc = k->result.alloc = &p->alloc;
	k->result.limit = p->max_response;
	return 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__take_tool_calls(struct oa__client *p, int f)
{
	oa__json *j = &p->json;
	int fn = oa__json_get(j, f, "function"), t, r, whole, has_index = 1;
	size_t i, at, nid, nname, ni, n = 0;
	const char *s, *id = oa__json_str(j, oa__json_get(j, f, "id"), &nid);
	const char *name = oa__json_str(j, oa__json_get(j, fn, "name"), &nname);
	long long index = 0;
	oa__call *k;

	/* an array of fragments, or (TGI) a single one; anything else,
	 * the array included once taken, is not a fragment */
	if (oa__json_type(j, f) == OA__JSON_ARRAY)
		for (t = oa__json_first(j, f); t >= 0; t = oa__json_next(j, t))
			if ((r = oa__take_tool_calls(p, t)) != 0)
				return r;
	if (oa__json_type(j, f) != OA__JSON_OBJECT)
		return 0;
	/* llama.cpp builds of mid-2025 put the id inside function */
	if (nid == 0)
		id = oa__json_str(j, oa__json_get(j, fn, "id"), &nid);
	/* the index: an integer, or (text-generation-webui) a string of
	 * digits, or none */
	s = oa__json_str(j, t = oa__json_get(j, f, "index"), &ni);
	if (s && ni > 0 && ni < 10 && strspn(s, "0123456789") == ni)
		index = strtoll(s, NULL, 10);
	else
		has_index = oa__json_int(j, t, &index) == 0;
	/* The slot it joins, at (p->ncalls: a new one): the latest at its
	 * index, or without an index the one last made or continued. An id
	 * other than the slot's starts a new call when a name comes with it
	 * (SGLang's second call at the same index; a changed id alone
	 * continues) or, without an index, a name or another id does. */
	at = has_index || p->ncalls == 0 ? p->ncalls : p->lastcall;
	for (i = 0; has_index && i < p->ncalls; i++)
		if (p->calls[i].index == index)
			at = i;
	if (at < p->ncalls && !id_is(&p->calls[at].id, id, nid) &&
	    (has_index ? nid && nname && p->calls[at].id.len : nid || nname))
		at = p->ncalls;
	if (at < p->ncalls)
		p->lastcall = at;
	else if ((r = oa__new_call(p, has_index, index)) != 0)
		return r;
	k = &p->calls[p->lastcall];
	if (nid && k->id.len == 0)
		oa__buf_append(&k->id, id, nid);
	if (nname && k->name.len == 0)
		oa__buf_append(&k->name, name, nname);
	/* arguments as a JSON value instead of text: the whole of them */
	t = oa__json_get(j, fn, "arguments");
	whole = oa__json_type(j, t) == OA__JSON_OBJECT ||
	        oa__json_type(j, t) == OA__JSON_ARRAY;
	if (whole)
		oa__buf_reset(&k->args);
	s = whole ? oa__json_raw(j, t, &n) : oa__json_str(j, t, &n);
	if (s && (whole || !k->args_whole))
		oa__buf_append(&k->args, s, n);
	k->args_whole |= whole;
	return oa__count(p, nid + nname + n);
}

/* ---------------------------------------------------------------- checks */

/* see oa_private.h */
OA_PRIVATE int
oa__call_fail(oa__call *k, int blocked, const char *fmt, const char *arg)
{
	k->has_result = k->failed = 1;
	k->blocked = blocked;
	oa__buf_reset(&k->result);
	oa__buf_puts(&k->result, blocked ? "blocked: " : ERROR_PREFIX);
	k->why = k->result.len;
	oa__buf_printf(&k->result, fmt, arg);
	return k->result.err;
}

/* Parse a copy of s[0..n) into p->json (parsing works in place and the
 * original must stay as received). 0, or 1 with a reason in msg. */
static int
parse_args(struct oa__client *p, const char *s, size_t n, char *msg)
{
	oa__buf *b = &p->argtext;

	msg[0] = '\0';
	oa__buf_reset(b);
	if (oa__buf_append(b, s, n))
		return oa__fail(msg, 1, "out of memory");
	/* a parse error keeps its own message */
	if (oa__json_parse(&p->json, b->p, b->len, msg) != 0 ||
	    oa__json_type(&p->json, 0) != OA__JSON_OBJECT)
		return oa__fail(msg, 1, "arguments must be a JSON object");
	return 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__calls_prepare(struct oa__client *p)
{
	oa__buf *b = &p->argtext;
	char msg[OA__ERRLEN];
	const oa__tool *tool;
	size_t i, j, base;
	oa__call *k;
	int d;

	p->manual = !p->auto_tools;
	for (i = 0, k = p->calls; i < p->ncalls; i++, k++) {
		/* An id the follow-up can refer to, unique in the reply;
		 * none: "call_" and 24 hex digits (two 48-bit random
		 * numbers) */
		if (k->id.len == 0)
			oa__buf_printf(&k->id, "call_%012llx%012llx",
			    (unsigned long long)(oa__random(&p->rng) >> 16),
			    (unsigned long long)(oa__random(&p->rng) >> 16));
		base = k->id.len;
		for (j = 0, d = 2; j < i && k->id.err == 0; j++)
			if (id_is(&p->calls[j].id, k->id.p, k->id.len)) {
				/* taken: the next suffix, checked from the
				 * first call again (j wraps to 0) */
				k->id.len = base;
				oa__buf_printf(&k->id, "_%d", d++);
				j = (size_t)-1;
			}
		/* no arguments, or only blanks: {} */
		if (k->args.err == 0 && strspn(k->args.p ? k->args.p : "",
		                               " \t\r\n") == k->args.len) {
			oa__buf_reset(&k->args);
			oa__buf_puts(&k->args, "{}");
		}
		/* lenient_tool_args: small models' almost-JSON, mended */
		k->args_ok = parse_args(p, k->args.p, k->args.len, msg) == 0 ||
		             (p->lenient && k->unreadable == NULL &&
		              oa__modules.filter->mend(p, k, msg));
		/* then an error result for a call that cannot run */
		if (k->unreadable)
			oa__call_fail(k, 0, "%s", k->unreadable);
		else if (!k->args_ok)
			oa__call_fail(k, 0, "arguments are not valid JSON: %s",
			           strncmp(msg, "invalid JSON: ", 14) ? msg
			           : msg + 14);
		else if (k->name.len == 0)
			oa__call_fail(k, 0, "%s", "the tool call has no name");
		else if ((tool = oa__tools_find(&p->tools, k->name.p)) == NULL)
			oa__call_fail(k, 0, "unknown tool \"%s\"", k->name.p);
		else if (tool->fn == NULL)
			p->manual = 1;
		/* the schema only where we run the tool */
		else if (!p->manual &&
		         oa__tools_check(tool, &p->json, &p->json2, &p->schema,
		                         msg, sizeof msg))
			oa__call_fail(k, 0, "%s", msg);
	}
	/* The assistant message's tool_calls, as sent back to the server:
	 * unparseable arguments would make some servers fail the follow-up
	 * request, so they go as {} (the error result tells the model). */
	oa__buf_reset(b);
	for (k = p->calls; k < p->calls + p->ncalls; k++) {
		if (k->id.err || k->name.err || k->args.err || k->result.err)
			return oa__fail_turn(p, OA_ERR_NOMEM, "out of memory");
		oa__buf_puts(b, k == p->calls ? "[{\"id\":" : "}},{\"id\":");
		oa__json_put_str(b, k->id.p, k->id.len);
		oa__buf_puts(b, ",\"type\":\"function\",\"function\":{\"name\":");
		oa__json_put_str(b, k->name.p ? k->name.p : "", k->name.len);
		oa__buf_puts(b, ",\"arguments\":");
		oa__json_put_str(b, k->args_ok ? k->args.p : "{}",
		                 k->args_ok ? k->args.len : 2);
	}
	oa__buf_puts(b, "}}]");
	if (b->err || oa__push_reply(p, b->p) != 0)
		return oa__fail_turn(p, OA_ERR_NOMEM, "out of memory");
	p->state = OA__TOOLS;
	return 0;
}

/* ---------------------------------------------------------------- running */

/* see oa_private.h */
OA_PRIVATE int
oa__call_run(struct oa__client *p, oa__call *k)
{
	const char *in = k->input.len ? k->input.p : k->args.p;
	oa_args a = {&p->json, in, strlen(in)};
	oa_hook_event ev = {.kind = OA_HOOK_POST_TOOL_USE, .tool_id = k->id.p,
	                    .tool_name = k->name.p, .input = in, .args = &a};
	size_t e = strlen(ERROR_PREFIX);
	int r;

	/* the arguments passed the checks (a hook's too): only memory can
	 * fail here */
	if (parse_args(p, in, a.len, p->errmsg))
		return OA_ERR_NOMEM;
	/* the handler reads in itself, which the parser left alone */
	p->busy = 1;
	r = oa__tools_call(oa__tools_find(&p->tools, k->name.p), &p->json,
	                   in, a.len, &k->result);
	p->busy = 0;
	if (r == OA_ERR_LIMIT) {
		oa__buf_reset(&k->result);
		oa__buf_printf(&k->result, ERROR_PREFIX "the tool result exceeds "
		               "max_response_bytes (%zu)", p->max_response);
	} else if (r < 0) {
		return r;
	} else if (r == 1 && oa__buf_append(&k->result, ERROR_PREFIX, e) == 0) {
		/* the handler's message becomes "error: message" */
		memmove(k->result.p + e, k->result.p, k->result.len - e);
		memcpy(k->result.p, ERROR_PREFIX, e);
	}
	k->has_result = 1;
	ev.is_error = k->failed = r != 0;
	if (k->result.err)
		return k->result.err;
	/* observers: the hooks decide nothing, so this is 0 or an error */
	ev.result = k->result.p;
	return oa__hook_run(p, &ev);
}

/* see oa_private.h */
OA_PRIVATE int
oa__calls_settle(struct oa__client *p, const char *why)
{
	oa__call *k;

	for (k = p->calls; k < p->calls + p->ncalls; k++) {
		if (!k->has_result)
			oa__call_fail(k, 0, "%s", why);
		if (k->result.err ||
		    oa__push(p, OA__TOOL, k->result.p, k->result.len, k->id.p))
			return OA_ERR_NOMEM;
		p->msgs[p->nmsgs - 1].is_error = k->failed || k->blocked;
		p->msgs[p->nmsgs - 1].blocked = k->blocked;
	}
	p->ncalls = 0;
	return 0;
}
