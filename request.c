/*
 * request.c -- what the client sends: the options it keeps, the history,
 * and the request body built from them.
 *
 * oa_init() copies every option here once (oa__setup): the strings, the
 * tool table, the hooks, and the request fields, which are written as
 * JSON text once (p->fields) because they never change: max_tokens and
 * temperature here, the others by the fields module (fields.c). Each
 * request body is then the model, the system prompt, every history
 * message, the tools, the stream switch and those fields, in a fixed
 * order so tests can compare bodies byte for byte.
 *
 * The history is an array of messages owned by the client. Assistant
 * messages carry their tool_calls as the JSON text sent back to the
 * server; tool messages the id of the call they answer; user messages
 * with images their content parts as JSON text (images.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "oa_private.h"

static const char *const role_names[] = {"user", "assistant", "tool",
                                         "system"};

/* ================================================================ history */

/* A message at the end of the history owning content (n bytes; freed on
 * failure); extra is copied (see oa__push). 0 or OA_ERR_NOMEM. */
static int
add_message(struct oa__client *p, int role, char *content, size_t n,
            const char *extra)
{
	char *e = extra ? oa__strndup(&p->alloc, extra, strlen(extra)) : NULL;

	if (content == NULL || (extra && e == NULL) ||
	    oa__grow(&p->alloc, (void **)&p->msgs, &p->capmsgs, p->nmsgs + 1,
	             sizeof *p->msgs)) {
		oa__free(&p->alloc, content);
		oa__free(&p->alloc, e);
		return OA_ERR_NOMEM;
	}
	p->msgs[p->nmsgs++] = (oa__message){
		.role = role, .content = content, .len = n,
		.tool_calls = role == OA__TOOL ? NULL : e,
		.tool_call_id = role == OA__TOOL ? e : NULL};
	return 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__push(struct oa__client *p, int role, const char *s, size_t n,
         const char *extra)
{
	return add_message(p, role, oa__strndup(&p->alloc, s, n), n, extra);
}

/* see oa_private.h */
OA_PRIVATE int
oa__push_reply(struct oa__client *p, const char *calls)
{
	oa__buf *t = &p->text;
	size_t n = t->len;
	/* The buffer the reply grew in becomes the message, given back
	 * what doubling left unused; the next reply starts a new one. */
	char *s = oa__realloc(&p->alloc, t->p, n + 1);

	if (s == NULL)
		return OA_ERR_NOMEM;
	s[n] = '\0';
	*t = (oa__buf){.alloc = t->alloc};
	return add_message(p, OA__ASSISTANT, s, n, calls);
}

/* see oa_private.h */
OA_PRIVATE void
oa__message_free(struct oa__client *p, oa__message *m)
{
	oa__free(&p->alloc, m->content);
	oa__free(&p->alloc, m->tool_calls);
	oa__free(&p->alloc, m->tool_call_id);
	oa__free(&p->alloc, m->parts);
}

/* see oa_private.h */
OA_PRIVATE void
oa__cut(struct oa__client *p, size_t n)
{
	while (p->nmsgs > n)
		oa__message_free(p, &p->msgs[--p->nmsgs]);
}

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
	const oa__message *h = c && c->p && i < c->p->nmsgs ? &c->p->msgs[i]
	                                                    : NULL;

	if (h == NULL || m == NULL)
		return OA_ERR_INVALID;
	*m = (oa_message){.role = role_names[h->role], .content = h->content,
	                  .content_len = h->len, .tool_calls = h->tool_calls,
	                  .tool_call_id = h->tool_call_id, .parts = h->parts,
	                  .is_error = h->is_error, .blocked = h->blocked};
	return 0;
}

/* ================================================================ request */

/* Append pre, then s[0..n): as it is (JSON text) if raw, else as a JSON
 * string. No printf: a request holds the whole history, and a long tool
 * loop sends it again every round. */
static void
put(oa__buf *b, const char *pre, const char *s, size_t n, int raw)
{
	oa__buf_puts(b, pre);
	if (raw)
		oa__buf_append(b, s, n);
	else
		oa__json_put_str(b, s, n);
}

static void
put_message(oa__buf *b, const oa__message *m, int comma)
{
	const char *r = role_names[m->role], *id = m->tool_call_id;

	put(b, comma ? ",{\"role\":\"" : "{\"role\":\"", r, strlen(r), 1);
	oa__buf_puts(b, "\"");
	if (id)
		put(b, ",\"tool_call_id\":", id, strlen(id), 0);
	if (m->parts)
		put(b, ",\"content\":", m->parts, strlen(m->parts), 1);
	else
		put(b, ",\"content\":", m->content, m->len, 0);
	if (m->tool_calls)
		put(b, ",\"tool_calls\":", m->tool_calls,
		    strlen(m->tool_calls), 1);
	oa__buf_puts(b, "}");
}

/* see oa_private.h */
OA_PRIVATE int
oa__build_request(struct oa__client *p)
{
	oa__buf *b = &p->body, *f = &p->fields;
	/* requests sending tool results leave out a forcing tool_choice */
	size_t i, cut = p->nmsgs && p->msgs[p->nmsgs - 1].role == OA__TOOL
	                    ? p->choice_len : 0;

	oa__buf_reset(b);
	if (p->model)
		put(b, "{\"model\":", p->model, strlen(p->model), 0);
	oa__buf_puts(b, p->model ? ",\"messages\":[" : "{\"messages\":[");
	if (p->system_prompt)
		put_message(b, &(oa__message){.role = OA__SYSTEM,
		            .content = p->system_prompt,
		            .len = strlen(p->system_prompt)}, 0);
	for (i = 0; i < p->nmsgs; i++)
		put_message(b, &p->msgs[i], i > 0 || p->system_prompt);
	oa__buf_puts(b, "]");
	if (p->tools.n) {
		oa__buf_puts(b, ",\"tools\":");
		oa__tools_put(&p->tools, b);
	}
	oa__buf_puts(b, p->no_stream ? ",\"stream\":false" :
	                p->no_stream_options ? ",\"stream\":true" :
	                ",\"stream\":true,\"stream_options\":"
	                "{\"include_usage\":true}");
	oa__buf_append(b, f->p, cut ? p->choice_at : f->len);
	if (cut)
		oa__buf_append(b, f->p + p->choice_at + cut,
		               f->len - p->choice_at - cut);
	oa__buf_puts(b, "}");
	if (b->err == OA_ERR_LIMIT)
		return oa__fail(p->errmsg, OA_ERR_LIMIT,
		                "the request would exceed max_history_bytes "
		                "(%zu bytes)", b->limit);
	return b->err ? oa__fail(p->errmsg, b->err, "out of memory") : 0;
}

/* ================================================================ options */

/* An option's value, or def when it is 0 or below (OR: when 0). */
#define POS(v, def) ((v) > 0 ? (v) : (def))

/* Every buffer of the client: their allocator set, or (release) freed. */
static void
buffers(struct oa__client *p, int release)
{
	oa__buf *v[] = {&p->fields, &p->segs, &p->seen, &p->body,
	                &p->headers, &p->text, &p->held, &p->scratch,
	                &p->parts, &p->ask, &p->argtext,
	                &p->hooktext, &p->repaired, &p->schema, NULL};
	size_t i;

	for (i = 0; v[i] != NULL; i++)
		if (release)
			oa__buf_free(v[i]);
		else
			v[i]->alloc = &p->alloc;
}

/* *dst = a copy of src, when src is given. Nonzero when out of memory. */
static int
copy_option(struct oa__client *p, char **dst, const char *src)
{
	return src && (*dst = oa__strndup(&p->alloc, src, strlen(src))) == NULL;
}

/* max_tokens and temperature: 0 means the default, OA_OMIT leaves the
 * field out, OA_ZERO sends a temperature of 0. The other fields need
 * fields.c, which writes these two as well (extra may replace them). */
static int
sampling(struct oa__client *p, const oa_options *o)
{
	int max_tokens = OA__OR(o->max_tokens, OA_DEFAULT_MAX_TOKENS);
	int send_t = o->temperature != OA_OMIT;
	double t = o->temperature == OA_ZERO ? 0 : OA__OR(o->temperature,
	                                            OA_DEFAULT_TEMPERATURE);

	if (o->max_tokens < 0 && o->max_tokens != OA_OMIT)
		return oa__fail(p->errmsg, OA_ERR_INVALID,
		                "max_tokens must be positive, 0 or OA_OMIT");
	if (send_t && !(t >= 0 && t <= 100))
		return oa__fail(p->errmsg, OA_ERR_INVALID,
		                "temperature out of range");
	if (oa__modules.fields != NULL)
		return oa__modules.fields(p, o, max_tokens, send_t, t);
	if (o->top_p || o->seed || o->send_seed || o->nstop ||
	    o->presence_penalty || o->frequency_penalty || o->tool_choice ||
	    o->keep_tool_choice || o->response_format ||
	    o->parallel_tool_calls || o->extra)
		return oa__fail(p->errmsg, OA_ERR_INVALID, "top_p, seed, stop, "
		                "the penalties, tool_choice, response_format, "
		                "parallel_tool_calls and extra need fields.c, "
		                "which this build leaves out");
	if (max_tokens != OA_OMIT)
		oa__buf_printf(&p->fields, ",\"max_tokens\":%d", max_tokens);
	if (send_t)
		oa__buf_printf(&p->fields, ",\"temperature\":%.15g", t);
	return 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__setup(struct oa__client *p, const oa_options *o)
{
	const char *key = OA__OR(o->api_key, "");
	size_t i;
	int r;

	buffers(p, 0);
	p->wake[0] = p->wake[1] = -1;
	oa__http_init(&p->http);
	p->http.alloc = p->json.alloc = p->json2.alloc = &p->alloc;
	p->max_turns = POS(o->max_turns, OA_DEFAULT_MAX_TURNS);
	p->max_rounds = POS(o->max_tool_iterations,
	                    OA_DEFAULT_MAX_TOOL_ITERATIONS);
	p->max_calls = OA__OR(o->max_tool_calls, OA_MAX_TOOL_CALLS);
	p->max_image = OA__OR(o->max_image_bytes, OA_MAX_IMAGE_BYTES);
	p->max_response = OA__OR(o->max_response_bytes, OA_MAX_RESPONSE_BYTES);
	p->body.limit = OA__OR(o->max_history_bytes, OA_MAX_HISTORY_BYTES);
	p->auto_tools = o->auto_execute_tools != 0;
	p->stateless = o->stateless != 0;
	p->no_stream = o->no_stream != 0;
	p->rng = oa__seed(p);
	oa__sse_init(&p->sse, &p->alloc, o->max_event_bytes);
	p->json.max_tokens = p->json2.max_tokens = o->max_json_tokens;
	p->json.max_depth = p->json2.max_depth = o->max_json_depth;
	if (o->base_url == NULL || o->base_url[0] == '\0')
		return oa__fail(p->errmsg, OA_ERR_INVALID, "no base_url given");
	if (strpbrk(key, "\r\n"))
		return oa__fail(p->errmsg, OA_ERR_INVALID,
		                "api_key contains a line break");
	for (i = 0; i < o->nhooks; i++)
		if (o->hooks == NULL || o->hooks[i].fn == NULL)
			return oa__fail(p->errmsg, OA_ERR_INVALID,
			                "hook %zu has no function%s", i,
			                o->hooks ? "" : " (hooks is NULL)");
	if ((r = oa__url_parse(&p->http.url, o->base_url, p->errmsg)) != 0 ||
	    (r = oa__http_configure(&p->http, o, p->errmsg)) != 0 ||
	    (r = oa__tools_init(&p->tools, &p->alloc, o->tools, o->ntools,
	                        p->errmsg)) != 0 ||
	    (r = sampling(p, o)) != 0)
		return r;
	snprintf(p->path, sizeof p->path, "%s/chat/completions",
	         p->http.url.path);
	oa__buf_puts(&p->headers, "Accept: text/event-stream\r\n");
	if (key[0])
		oa__buf_printf(&p->headers, "Authorization: Bearer %s\r\n", key);
	/* the model is left out when empty; a system prompt is sent as given */
	if (copy_option(p, &p->model, o->model && o->model[0] ? o->model
	                                                      : NULL) ||
	    copy_option(p, &p->system_prompt, o->system_prompt) ||
	    (o->nhooks && (p->hooks = oa__mallocarray(&p->alloc, o->nhooks,
	                                sizeof *p->hooks)) == NULL) ||
	    p->headers.err || p->fields.err)
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	if (o->nhooks)
		memcpy(p->hooks, o->hooks, o->nhooks * sizeof *p->hooks);
	p->nhooks = o->nhooks;
	/* the pipe that lets oa_interrupt() wake a blocked poll */
	if (pipe(p->wake) != 0)
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "pipe: %s",
		                strerror(errno));
	for (i = 0; i < 2; i++) {
		fcntl(p->wake[i], F_SETFL, O_NONBLOCK);
		fcntl(p->wake[i], F_SETFD, FD_CLOEXEC);
	}
	p->http.cancel_fd = p->wake[0];
	p->http.cancelled = &p->interrupted;
	if (oa__modules.filter != NULL)
		return oa__modules.filter->setup(p, o);
	return o->parse_text_tools || o->think_tags || o->lenient_tool_args
	       ? oa__fail(p->errmsg, OA_ERR_INVALID, "parse_text_tools, "
	                  "think_tags and lenient_tool_args need textfilter.c, "
	                  "which this build leaves out") : 0;
}

/* see oa_private.h */
OA_PRIVATE void
oa__teardown(struct oa__client *p)
{
	void *owned[] = {p->msgs, p->hooks, p->pend, p->model,
	                 p->system_prompt, p->calls};
	oa__call *k;
	size_t i;

	oa__cut(p, 0);
	/* every slot's buffers, the spare ones' too (toolcalls.c) */
	for (k = p->calls; k && k < p->calls + p->capcalls; k++) {
		oa__buf *v[] = {&k->id, &k->name, &k->args, &k->input,
		                &k->result, NULL};

		for (i = 0; v[i] != NULL; i++)
			oa__buf_free(v[i]);
	}
	for (i = 0; i < sizeof owned / sizeof *owned; i++)
		oa__free(&p->alloc, owned[i]);
	oa__tools_free(&p->tools);
	if (p->filter)
		oa__modules.filter->close(p);
	buffers(p, 1);
	oa__http_free(&p->http);
	oa__sse_free(&p->sse);
	oa__json_free(&p->json);
	oa__json_free(&p->json2);
	for (i = 0; i < 2; i++)
		if (p->wake[i] >= 0)
			close(p->wake[i]);
}
