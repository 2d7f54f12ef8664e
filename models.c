/*
 * models.c -- GET base_url + "/models": which models a server offers.
 *
 * Every OpenAI-compatible server answers that path (llama-server, Ollama,
 * LM Studio, vLLM), each with its own extra members around the common
 * {"object":"list","data":[{"id":...},...]}. The library does not pick
 * those apart: the caller gets the body as the server sent it, checked
 * only for being a JSON reply of bounded size, so nothing a server adds
 * is lost. The request goes over the client's own connection, with its
 * key, proxy, TLS settings and timeouts.
 *
 * Optional, like every module: leaving it out removes oa_models() only.
 */
#include <stdio.h>
#include <string.h>

#include "oa_private.h"

/* Larger than any real list (a few hundred models of a few hundred bytes
 * each), small enough that a wrong port cannot fill memory. */
#define MODELS_MAX_BYTES (4 * 1024 * 1024)

/* The rest of the body into *b, up to MODELS_MAX_BYTES; 0 or an oa_err. */
static int
read_models(oa__http *h, oa__buf *b, size_t limit, char *err)
{
	size_t got;
	int r;

	oa__buf_reset(b);
	for (;;) {
		if (b->len >= limit)
			return oa__fail(err, OA_ERR_LIMIT, "the model list "
			                "exceeds %zu bytes", limit);
		if (oa__buf_reserve(b, 4096))
			return b->err;
		r = oa__http_read(h, b->p + b->len, b->cap - b->len - 1, &got,
		                  err);
		if (r != 0)
			return r;
		if (got == 0)
			return 0;
		b->len += got;
		b->p[b->len] = '\0';
	}
}

/* see openagent.h */
int
oa_models(oa_client *c, const char **json, size_t *len)
{
	oa__buf head = {0}, *body;
	const char *headers, *eol;
	char path[sizeof ((oa__url *)0)->path + 8], *err, quoted[160];
	oa__http *h;
	int r;

	if (c == NULL || c->p == NULL || json == NULL)
		return OA_ERR_INVALID;
	/* between turns only: the connection is the client's */
	if (!c->p->ready || c->p->busy || (c->p->state != OA__IDLE &&
	                                   c->p->state != OA__DONE))
		return OA_ERR_STATE;
	err = c->p->errmsg;
	err[0] = '\0';
	h = &c->p->http;
	headers = c->p->headers.p;
	body = &c->p->scratch;
	/* The client's headers ask for an event stream first; this request
	 * wants JSON, and keeps the rest (the key). */
	if (strncmp(headers, "Accept:", 7) == 0 &&
	    (eol = strstr(headers, "\r\n")) != NULL)
		headers = eol + 2;
	head.alloc = &c->p->alloc;
	oa__buf_puts(&head, "Accept: application/json\r\n");
	oa__buf_puts(&head, headers);
	if (head.err) {
		oa__buf_free(&head);
		return oa__fail(err, OA_ERR_NOMEM, "out of memory");
	}
	snprintf(path, sizeof path, "%s/models", h->url.path);
	r = oa__http_request(h, "GET", path, head.p, NULL, 0, err);
	oa__buf_free(&head);
	if (r != 0)
		return r;
	r = read_models(h, body, MODELS_MAX_BYTES, err);
	if (r != 0 && !(r == OA_ERR_LIMIT && (h->status < 200 ||
	                                      h->status > 299)))
		return r;
	if (h->status < 200 || h->status > 299) {
		quoted[0] = '\0';
		oa__quote(quoted, sizeof quoted, body->p ? body->p : "",
		          body->len, 120);
		return oa__fail(err, OA_ERR_HTTP, "HTTP %d%s%s", h->status,
		                body->len ? ": " : "", quoted);
	}
	if (strstr(h->content_type, "json") == NULL)
		return oa__fail(err, OA_ERR_PROTOCOL, "the server answered "
		                "with %s, not JSON",
		                h->content_type[0] ? h->content_type
		                                   : "no Content-Type");
	*json = body->p ? body->p : "";
	if (len != NULL)
		*len = body->len;
	return 0;
}
