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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oa_private.h"

static const char *const role_names[] = {"user", "assistant", "tool"};

/* ================================================================ history */

/* A new message at the end of the history, without content yet; extra is
 * copied (see oa__push). NULL when out of memory. */
static oa__message *
add_message(struct oa__client *p, int role, const char *extra)
{
	oa__message *m;
	char *e = NULL;

	if (oa__grow(&p->alloc, (void **)&p->msgs, &p->capmsgs, p->nmsgs + 1,
	             sizeof *m) ||
	    (extra && (e = oa__strndup(&p->alloc, extra, strlen(extra))) ==
	                  NULL))
		return NULL;
	m = &p->msgs[p->nmsgs];
	memset(m, 0, sizeof *m);
	m->role = role;
	if (role == OA__TOOL)
		m->tool_call_id = e;
	else
		m->tool_calls = e;
	return m;
}

/* see oa_private.h */
OA_PRIVATE int
oa__push(struct oa__client *p, int role, const char *s, size_t n,
         const char *extra)
{
	oa__message *m = add_message(p, role, extra);

	if (m == NULL || (m->content = oa__strndup(&p->alloc, s ? s : "",
	                                           s ? n : 0)) == NULL) {
		if (m != NULL)
			oa__message_free(p, m);
		return OA_ERR_NOMEM;
	}
	m->len = n;
	p->nmsgs++;
	return 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__push_reply(struct oa__client *p, const char *calls)
{
	oa__buf *t = &p->text;
	oa__message *m;
	char *s;

	if (t->p == NULL)
		return oa__push(p, OA__ASSISTANT, "", 0, calls);
	if ((m = add_message(p, OA__ASSISTANT, calls)) == NULL)
		return OA_ERR_NOMEM;
	/* The buffer the reply grew in becomes the message, given back
	 * what doubling left unused; the next reply starts a new one. */
	s = oa__realloc(&p->alloc, t->p, t->len + 1);
	m->content = s ? s : t->p;
	m->len = t->len;
	t->p = NULL;
	t->len = t->cap = 0;
	p->nmsgs++;
	return 0;
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
	const oa__message *h;

	if (c == NULL || c->p == NULL || m == NULL || i >= c->p->nmsgs)
		return OA_ERR_INVALID;
	h = &c->p->msgs[i];
	m->role = role_names[h->role];
	m->content = h->content;
	m->content_len = h->len;
	m->tool_calls = h->tool_calls;
	m->tool_call_id = h->tool_call_id;
	m->parts = h->parts;
	m->is_error = h->is_error;
	m->blocked = h->blocked;
	return 0;
}

/* ================================================================ request */

static void
put_message(oa__buf *b, const oa__message *m)
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

/* see oa_private.h */
OA_PRIVATE int
oa__build_request(struct oa__client *p)
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
	if (p->choice_len && p->nmsgs &&
	    p->msgs[p->nmsgs - 1].role == OA__TOOL) {
		oa__buf_append(b, p->fields.p, p->choice_at);
		oa__buf_append(b, p->fields.p + p->choice_at + p->choice_len,
		               p->fields.len - p->choice_at - p->choice_len);
	} else {
		oa__buf_append(b, p->fields.p, p->fields.len);
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

/* ================================================================ options */

static int
copy_option(struct oa__client *p, char **dst, const char *src)
{
	if (src == NULL || src[0] == '\0')
		return 0;
	*dst = oa__strndup(&p->alloc, src, strlen(src));
	return *dst ? 0 : OA_ERR_NOMEM;
}

/* max_tokens and temperature: 0 means the default, OA_OMIT leaves the
 * field out, OA_ZERO sends a temperature of 0. */
static int
sampling(struct oa__client *p, const oa_options *o)
{
	int max_tokens = o->max_tokens ? o->max_tokens : OA_DEFAULT_MAX_TOKENS;
	double t = o->temperature;

	if (o->max_tokens < 0 && o->max_tokens != OA_OMIT)
		return oa__fail(p->errmsg, OA_ERR_INVALID,
		                "max_tokens must be positive, 0 or OA_OMIT");
	if (t == 0)
		t = OA_DEFAULT_TEMPERATURE;
	else if (t == OA_ZERO)
		t = 0;
	else if (t != OA_OMIT && !(t > 0 && t <= 100))
		return oa__fail(p->errmsg, OA_ERR_INVALID,
		                "temperature out of range");
	if (oa__modules.fields != NULL)
		return oa__modules.fields(p, o, max_tokens,
		                          o->temperature != OA_OMIT, t);
	if (o->top_p != 0 || o->seed != 0 || o->send_seed || o->nstop ||
	    o->presence_penalty != 0 || o->frequency_penalty != 0 ||
	    o->tool_choice || o->keep_tool_choice || o->response_format ||
	    o->parallel_tool_calls ||
	    o->extra)
		return oa__fail(p->errmsg, OA_ERR_INVALID, "top_p, seed, stop, "
		                "the penalties, tool_choice, response_format, "
		                "parallel_tool_calls and extra need fields.c, "
		                "which this build leaves out");
	if (max_tokens != OA_OMIT)
		oa__buf_printf(&p->fields, ",\"max_tokens\":%d", max_tokens);
	if (o->temperature != OA_OMIT)
		oa__buf_printf(&p->fields, ",\"temperature\":%.15g", t);
	return p->fields.err ? oa__fail(p->errmsg, OA_ERR_NOMEM, "out of "
	                                "memory") : 0;
}

/* The text filter, when the options ask for one (textfilter.c). */
static int
filter_setup(struct oa__client *p, const oa_options *o)
{
	unsigned f = 0;

	if (o->parse_text_tools && o->ntools)
		f |= OA__TF_TOOLS;
	if (o->think_tags)
		f |= o->think_tags == 2 ? OA__TF_THINK_OPEN : OA__TF_THINK;
	if (!o->parse_text_tools && !o->think_tags && !o->lenient_tool_args)
		return 0;
	if (oa__modules.filter == NULL)
		return oa__fail(p->errmsg, OA_ERR_INVALID, "parse_text_tools, "
		                "think_tags and lenient_tool_args need "
		                "textfilter.c, which this build leaves out");
	p->lenient = o->lenient_tool_args != 0;
	/* lenient alone mends the server's tool calls; no filter on text */
	if (f == 0)
		return 0;
	p->filter = oa__modules.filter->open(&p->alloc, f, p->max_response);
	return p->filter ? 0 : oa__fail(p->errmsg, OA_ERR_NOMEM,
	                                "out of memory");
}

static int
copy_hooks(struct oa__client *p, const oa_options *o)
{
	size_t i;

	if (o->nhooks == 0)
		return 0;
	if (o->hooks == NULL)
		return oa__fail(p->errmsg, OA_ERR_INVALID, "hooks is NULL");
	for (i = 0; i < o->nhooks; i++)
		if (o->hooks[i].fn == NULL)
			return oa__fail(p->errmsg, OA_ERR_INVALID,
			                "hook %zu has no function", i);
	p->hooks = oa__mallocarray(&p->alloc, o->nhooks, sizeof *p->hooks);
	if (p->hooks == NULL)
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	memcpy(p->hooks, o->hooks, o->nhooks * sizeof *p->hooks);
	p->nhooks = o->nhooks;
	return 0;
}

/* The pipe that lets oa_interrupt() wake a blocked poll. */
static int
wake_pipe(struct oa__client *p)
{
	int i;

	if (pipe(p->wake) != 0)
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "pipe: %s",
		                strerror(errno));
	for (i = 0; i < 2; i++) {
		fcntl(p->wake[i], F_SETFL, O_NONBLOCK);
		fcntl(p->wake[i], F_SETFD, FD_CLOEXEC);
	}
	p->http.cancel_fd = p->wake[0];
	p->http.cancelled = &p->interrupted;
	return 0;
}

/* Every buffer of the client, for setting up and freeing them alike. */
static size_t
buffers(struct oa__client *p, oa__buf **v)
{
	oa__buf *all[] = {&p->fields, &p->segs, &p->seen, &p->body,
	                  &p->headers, &p->text, &p->held, &p->scratch,
	                  &p->parts, &p->ask, &p->argtext,
	                  &p->hooktext, &p->repaired, &p->schema, NULL};
	size_t n;

	for (n = 0; all[n] != NULL; n++)
		v[n] = all[n];
	return n;
}

/* see oa_private.h */
OA_PRIVATE int
oa__setup(struct oa__client *p, const oa_options *o)
{
	oa__url *u = &p->http.url;
	oa__buf *v[16];
	size_t i, n = buffers(p, v);
	int r;

	for (i = 0; i < n; i++)
		v[i]->alloc = &p->alloc;
	p->wake[0] = p->wake[1] = -1;
	oa__http_init(&p->http);
	p->http.alloc = p->json.alloc = p->json2.alloc = &p->alloc;

	if (o->base_url == NULL || o->base_url[0] == '\0')
		return oa__fail(p->errmsg, OA_ERR_INVALID, "no base_url given");
	if ((r = oa__url_parse(u, o->base_url, p->errmsg)) != 0 ||
	    (r = oa__http_configure(&p->http, o, p->errmsg)) != 0)
		return r;
	snprintf(p->path, sizeof p->path, "%s/chat/completions", u->path);
	p->max_turns = o->max_turns > 0 ? o->max_turns : OA_DEFAULT_MAX_TURNS;
	p->max_rounds = o->max_tool_iterations > 0
	                    ? o->max_tool_iterations
	                    : OA_DEFAULT_MAX_TOOL_ITERATIONS;
	p->max_calls = o->max_tool_calls ? o->max_tool_calls
	                                 : OA_MAX_TOOL_CALLS;
	p->max_image = o->max_image_bytes ? o->max_image_bytes
	                                  : OA_MAX_IMAGE_BYTES;
	p->max_response = o->max_response_bytes ? o->max_response_bytes
	                                        : OA_MAX_RESPONSE_BYTES;
	p->auto_tools = o->auto_execute_tools != 0;
	p->stateless = o->stateless != 0;
	p->no_stream = o->no_stream != 0;
	p->rng = oa__seed(p);
	p->body.limit = o->max_history_bytes ? o->max_history_bytes
	                                     : OA_MAX_HISTORY_BYTES;
	oa__sse_init(&p->sse, &p->alloc, o->max_event_bytes);
	p->json.max_tokens = p->json2.max_tokens = o->max_json_tokens;
	p->json.max_depth = p->json2.max_depth = o->max_json_depth;

	if (o->ntools && o->tools == NULL)
		return oa__fail(p->errmsg, OA_ERR_INVALID, "tools is NULL");
	if ((r = oa__tools_init(&p->tools, &p->alloc, o->tools, o->ntools,
	                        p->errmsg)) != 0 ||
	    (r = copy_hooks(p, o)) != 0 || (r = filter_setup(p, o)) != 0)
		return r;
	if (strpbrk(o->api_key ? o->api_key : "", "\r\n"))
		return oa__fail(p->errmsg, OA_ERR_INVALID,
		                "api_key contains a line break");
	if (copy_option(p, &p->model, o->model) ||
	    copy_option(p, &p->system_prompt, o->system_prompt) ||
	    copy_option(p, &p->api_key, o->api_key))
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	/* an empty system prompt is still sent, as given */
	if (o->system_prompt && o->system_prompt[0] == '\0' &&
	    (p->system_prompt = oa__strndup(&p->alloc, "", 0)) == NULL)
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	oa__buf_puts(&p->headers, "Accept: text/event-stream\r\n");
	if (p->api_key)
		oa__buf_printf(&p->headers, "Authorization: Bearer %s\r\n",
		               p->api_key);
	if (p->headers.err)
		return oa__fail(p->errmsg, OA_ERR_NOMEM, "out of memory");
	if ((r = sampling(p, o)) != 0)
		return r;
	return wake_pipe(p);
}

/* see oa_private.h */
OA_PRIVATE void
oa__teardown(struct oa__client *p)
{
	oa__buf *v[16];
	size_t i, n = buffers(p, v);

	oa__cut(p, 0);
	oa__free(&p->alloc, p->msgs);
	oa__calls_free(p);
	oa__tools_free(&p->tools);
	oa__free(&p->alloc, p->hooks);
	oa__free(&p->alloc, p->pend);
	if (p->filter)
		oa__modules.filter->close(p->filter);
	for (i = 0; i < n; i++)
		oa__buf_free(v[i]);
	oa__free(&p->alloc, p->model);
	oa__free(&p->alloc, p->api_key);
	oa__free(&p->alloc, p->system_prompt);
	oa__http_free(&p->http);
	oa__sse_free(&p->sse);
	oa__json_free(&p->json);
	oa__json_free(&p->json2);
	for (i = 0; i < 2; i++)
		if (p->wake[i] >= 0)
			close(p->wake[i]);
}
