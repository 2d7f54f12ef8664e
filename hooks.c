/*
 * hooks.c -- running the caller's lifecycle hooks for one event.
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

static const char *
kind_name(oa_hook_kind k)
{
	switch (k) {
	case OA_HOOK_PRE_TOOL_USE:
		return "OA_HOOK_PRE_TOOL_USE";
	case OA_HOOK_POST_TOOL_USE:
		return "OA_HOOK_POST_TOOL_USE";
	case OA_HOOK_USER_PROMPT_SUBMIT:
		return "OA_HOOK_USER_PROMPT_SUBMIT";
	}
	return "an unknown event";
}

/* see oa_private.h */
OA_PRIVATE int
oa__hooks_run(const oa_hook *hooks, size_t n, const oa_hook_event *ev,
              oa__buf *text, char *err)
{
	oa_hook_reply reply;
	oa_hook_decision d;
	size_t i;

	oa__buf_reset(text);
	/* text->p is "" rather than NULL whatever the hooks say */
	if (oa__buf_append(text, "", 0) != 0)
		return oa__fail(err, OA_ERR_NOMEM, "out of memory");
	if (ev == NULL || (hooks == NULL && n > 0))
		return oa__fail(err, OA_ERR_INVALID, "no hook event or table");
	for (i = 0; i < n; i++) {
		if (hooks[i].kind != ev->kind || hooks[i].fn == NULL)
			continue;
		reply.text = NULL;
		d = hooks[i].fn(hooks[i].ctx, ev, &reply);
		if (d != OA_HOOK_ALLOW && d != OA_HOOK_BLOCK &&
		    d != OA_HOOK_REPLACE)
			return oa__fail(err, OA_ERR_HOOK, "hook %zu for %s "
			                "returned %d, which is not a decision",
			                i, kind_name(ev->kind), (int)d);
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
