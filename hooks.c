/*
 * hooks.c -- running the caller's lifecycle hooks: for one event
 * (oa__hooks_run), and at the client's moments: through oa__hook_run,
 * for a prompt, before a call runs (and after, from oa__call_run).
 *
 * The hooks are the caller's table (copied by the client; their ctx
 * pointers are not), run in registration order, skipping those of another
 * kind. The first hook that decides anything but "allow" settles the
 * event and the later ones do not run, so a hook that blocks is never
 * second-guessed. POST_TOOL_USE hooks only observe: every one of them runs
 * and their decisions are ignored, though a value that is no decision at
 * all is still an error, because it means a broken hook.
 *
 * No state, one buffer: the winning hook's text is copied into the
 * caller's buffer at once, since the hook may have pointed it into its own
 * memory that does not outlive the call.
 */
#include <string.h>

#include "oa_private.h"

/* see oa_private.h */
OA_PRIVATE int
oa__hooks_run(const oa_hook *hooks, size_t n, const oa_hook_event *ev,
              oa__buf *text, char *err)
{
	static const char *const kinds[] = { "an unknown event",
		"OA_HOOK_PRE_TOOL_USE", "OA_HOOK_POST_TOOL_USE",
		"OA_HOOK_USER_PROMPT_SUBMIT" };
	size_t i;

	oa__buf_reset(text);
	/* text->p is "" rather than NULL whatever the hooks say */
	if (oa__buf_append(text, "", 0) != 0)
		return oa__fail(err, OA_ERR_NOMEM, "out of memory");
	if (ev == NULL || (hooks == NULL && n > 0))
		return oa__fail(err, OA_ERR_INVALID, "no hook event or table");
	for (i = 0; i < n; i++) {
		oa_hook_reply reply = { NULL };
		oa_hook_decision d;

		if (hooks[i].kind != ev->kind || hooks[i].fn == NULL)
			continue;
		d = hooks[i].fn(hooks[i].ctx, ev, &reply);
		if ((unsigned)d > OA_HOOK_REPLACE)
			return oa__fail(err, OA_ERR_HOOK, "hook %zu for %s "
			                "returned %d, which is not a decision", i,
			                kinds[(unsigned)ev->kind < 4 ? ev->kind : 0],
			                (int)d);
		if (d == OA_HOOK_ALLOW || ev->kind == OA_HOOK_POST_TOOL_USE)
			continue;
		if (reply.text != NULL && oa__buf_puts(text, reply.text) != 0)
			return oa__fail(err, text->err, "hook %zu's text: %s", i,
			                text->err == OA_ERR_NOMEM ?
			                "out of memory" : "over the limit");
		return d;
	}
	return OA_HOOK_ALLOW;
}

/* ---------------------------------------------------------------- the client's events */

/* see oa_private.h */
OA_PRIVATE int
oa__hook_run(struct oa__client *p, oa_hook_event *ev)
{
	oa_client self = { p };
	int r;

	if (p->nhooks == 0)
		return OA_HOOK_ALLOW;
	ev->client = &self;
	p->busy = 1;
	r = oa__hooks_run(p->hooks, p->nhooks, ev, &p->hooktext, p->errmsg);
	p->busy = 0;
	ev->client = NULL; /* self lives only for the call */
	return r;
}

/* see oa_private.h */
OA_PRIVATE int
oa__hook_prompt(struct oa__client *p, const char **prompt)
{
	oa_hook_event ev = { .kind = OA_HOOK_USER_PROMPT_SUBMIT,
	                     .prompt = *prompt };
	int r = oa__hook_run(p, &ev);

	if (r == OA_HOOK_BLOCK)
		return oa__fail(p->errmsg, OA_ERR_HOOK, "%s", p->hooktext.len ?
		                p->hooktext.p : "the hook gave no reason");
	if (r == OA_HOOK_REPLACE)
		*prompt = p->hooktext.p;
	return r < 0 ? r : 0;
}

/* see oa_private.h -- a call the hooks block or give a replacement that
 * is not an object gets its result ("blocked: " or "error: " and why). */
OA_PRIVATE int
oa__hook_pre_tool(struct oa__client *p, oa__call *k)
{
	oa_hook_event ev = { .kind = OA_HOOK_PRE_TOOL_USE,
	                     .tool_id = k->id.p, .tool_name = k->name.p,
	                     .input = k->args.p };
	struct oa_args a = { &p->json, k->args.p, k->args.len };
	int r;

	if (p->nhooks == 0)
		return 0;
	/* The arguments as a handler reads them: parsed from a copy, since
	 * string look-ups unescape in place, beside the untouched text. A
	 * call reaches the hooks only when they parsed as an object, and the
	 * copy fits: the buffer held the reply's tool_calls, these among
	 * them. */
	oa__buf_reset(&p->argtext);
	if (oa__buf_append(&p->argtext, k->args.p, k->args.len) == 0 &&
	    oa__json_parse(&p->json, p->argtext.p, k->args.len, NULL) == 0)
		ev.args = &a;
	if ((r = oa__hook_run(p, &ev)) == OA_HOOK_REPLACE) {
		oa__buf_reset(&k->input);
		if (oa__buf_append(&k->input, p->hooktext.p, p->hooktext.len))
			return k->input.err;
		/* a replacement must be an object, like the model's input
		 * (parsing writes nothing; the call parses it again to run) */
		if (oa__json_parse(&p->json, k->input.p, k->input.len, NULL) ==
		    0 && oa__json_type(&p->json, 0) == OA__JSON_OBJECT)
			return 0;
	} else if (r != OA_HOOK_BLOCK) {
		return r; /* OA_HOOK_ALLOW (0) or an error */
	}
	return oa__call_fail(k, r == OA_HOOK_BLOCK, "%s", r == OA_HOOK_REPLACE
	                     ? "hook replaced the input with invalid JSON"
	                     : p->hooktext.len ? p->hooktext.p : "by a hook");
}
