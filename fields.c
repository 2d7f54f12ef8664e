/*
 * fields.c -- the fields module: the request fields beyond max_tokens and
 * temperature -- top_p, seed, stop, the penalties, tool_choice,
 * response_format (structured output), parallel_tool_calls -- and
 * oa_options.extra, the caller's own members for server-specific fields.
 *
 * Optional: without this file oa_init() refuses those options. The
 * client reaches it through oa__modules.fields (modules.c), once, at
 * oa_init(): the fields never change, so they are written as JSON text
 * once, into p->fields, which every request body ends with -- but for
 * a forcing tool_choice, which requests that send tool results skip
 * (p->choice_at, p->choice_len).
 *
 * extra is a JSON object whose members go last; a member it names
 * replaces ours, so ours is left out.
 */
#include <string.h>

#include "oa_private.h"

/* Does extra set this member? */
static int
extra_has(oa__json *j, const char *key)
{
	return j->ntok > 0 && oa__json_get(j, 0, key) >= 0;
}

/* Check oa_options.extra; j keeps its parse for extra_has. */
static int
check_extra(struct oa__client *p, oa__buf *copy, const char *extra)
{
	static const char *const managed[] = {"model", "messages", "stream",
	                                      "stream_options", "tools"};
	size_t i;

	if (oa__buf_puts(copy, extra))
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	if (oa__json_parse(&p->json2, copy->p, copy->len, NULL) != 0 ||
	    oa__json_type(&p->json2, 0) != OA__JSON_OBJECT)
		return oa__fail(p->errmsg, OA_ERR_INVALID,
		                "extra is not a JSON object");
	for (i = 0; i < sizeof managed / sizeof *managed; i++)
		if (oa__json_get(&p->json2, 0, managed[i]) >= 0)
			return oa__fail(p->errmsg, OA_ERR_INVALID,
			                "extra may not set \"%s\": the library "
			                "manages it", managed[i]);
	return 0;
}

/* Append extra's members, without its braces and surrounding blanks. */
static void
put_extra(oa__buf *b, const char *extra)
{
	const char *s = extra;
	size_t n = strlen(s);

	oa__trim(&s, &n);
	s++, n -= 2; /* the braces: extra is a JSON object */
	oa__trim(&s, &n);
	if (n > 0) {
		oa__buf_puts(b, ",");
		oa__buf_append(b, s, n);
	}
}

static int
put_tool_choice(struct oa__client *p, oa__buf *b, const char *t)
{
	if (!strcmp(t, "auto") || !strcmp(t, "none") || !strcmp(t, "required"))
		return oa__buf_printf(b, ",\"tool_choice\":\"%s\"", t), 0;
	if (oa__tools_find(&p->tools, t) == NULL)
		return oa__fail(p->errmsg, OA_ERR_INVALID, "tool_choice "
		                "\"%.64s\" is neither auto, none, required nor "
		                "a tool's name", t);
	oa__buf_puts(b, ",\"tool_choice\":{\"type\":\"function\","
	                "\"function\":{\"name\":");
	oa__json_put_str(b, t, strlen(t));
	oa__buf_puts(b, "}}");
	return 0;
}

static int
put_response_format(struct oa__client *p, oa__buf *b, oa__buf *copy,
                    const char *f)
{
	size_t n = strlen(f);

	if (strcmp(f, "json_object") == 0) {
		oa__buf_puts(b, ",\"response_format\":{\"type\":"
		                "\"json_object\"}");
		return 0;
	}
	oa__buf_reset(copy);
	oa__buf_puts(copy, f);
	if (copy->err || oa__json_parse(&p->json, copy->p, copy->len, NULL) ||
	    oa__json_type(&p->json, 0) != OA__JSON_OBJECT)
		return oa__fail(p->errmsg, OA_ERR_INVALID, "response_format is "
		                "neither \"json_object\" nor a JSON Schema "
		                "object");
	oa__trim(&f, &n);
	oa__buf_puts(b, ",\"response_format\":{\"type\":\"json_schema\","
	                "\"json_schema\":{\"name\":\"response\",\"schema\":");
	oa__buf_append(b, f, n);
	oa__buf_puts(b, "}}");
	return 0;
}

/* What modules.c puts in oa__modules.fields. */
OA_PRIVATE int oa__fields(struct oa__client *p, const oa_options *o,
                          int max_tokens, int send_temperature,
                          double temperature);

/* see oa_private.h */
OA_PRIVATE int
oa__fields(struct oa__client *p, const oa_options *o, int max_tokens,
           int send_temperature, double temperature)
{
	oa__buf *b = &p->fields, copy = {0};
	oa__json *x = &p->json2;
	size_t i;
	int r = 0;

	copy.alloc = &p->alloc;
	x->ntok = 0;
	if (o->extra && (r = check_extra(p, &copy, o->extra)) != 0)
		goto out;
	if (max_tokens != OA_OMIT && !extra_has(x, "max_tokens"))
		oa__buf_printf(b, ",\"max_tokens\":%d", max_tokens);
	if (send_temperature && !extra_has(x, "temperature"))
		oa__buf_printf(b, ",\"temperature\":%.15g", temperature);
	if (o->top_p != 0 && !extra_has(x, "top_p"))
		oa__buf_printf(b, ",\"top_p\":%.15g", o->top_p);
	if ((o->seed != 0 || o->send_seed) && !extra_has(x, "seed"))
		oa__buf_printf(b, ",\"seed\":%lld", o->seed);
	if (o->nstop && !extra_has(x, "stop")) {
		if (o->stop == NULL) {
			r = oa__fail(p->errmsg, OA_ERR_INVALID, "stop is NULL");
			goto out;
		}
		oa__buf_puts(b, ",\"stop\":[");
		for (i = 0; i < o->nstop; i++) {
			if (o->stop[i] == NULL) {
				r = oa__fail(p->errmsg, OA_ERR_INVALID,
				             "stop[%zu] is NULL", i);
				goto out;
			}
			oa__buf_puts(b, i ? "," : "");
			oa__json_put_str(b, o->stop[i], strlen(o->stop[i]));
		}
		oa__buf_puts(b, "]");
	}
	if (o->presence_penalty != 0 && !extra_has(x, "presence_penalty"))
		oa__buf_printf(b, ",\"presence_penalty\":%.15g",
		               o->presence_penalty);
	if (o->frequency_penalty != 0 && !extra_has(x, "frequency_penalty"))
		oa__buf_printf(b, ",\"frequency_penalty\":%.15g",
		               o->frequency_penalty);
	p->choice_at = b->len;
	if (o->tool_choice && o->tool_choice[0] &&
	    !extra_has(x, "tool_choice") &&
	    (r = put_tool_choice(p, b, o->tool_choice)) != 0)
		goto out;
	/* A choice that forces a call, sent again with the results, would
	 * force another call every round: those requests leave it out
	 * (request.c), unless the caller asked to keep it. */
	if (b->len > p->choice_at && !o->keep_tool_choice &&
	    strcmp(o->tool_choice, "auto") != 0 &&
	    strcmp(o->tool_choice, "none") != 0)
		p->choice_len = b->len - p->choice_at;
	if (o->response_format && !extra_has(x, "response_format") &&
	    (r = put_response_format(p, b, &copy, o->response_format)) != 0)
		goto out;
	if (o->parallel_tool_calls && !extra_has(x, "parallel_tool_calls"))
		oa__buf_printf(b, ",\"parallel_tool_calls\":%s",
		               o->parallel_tool_calls > 0 ? "true" : "false");
	if (o->extra)
		put_extra(b, o->extra);
	if (b->err)
		r = oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
out:
	oa__buf_free(&copy);
	return r;
}
