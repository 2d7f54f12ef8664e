/*
 * retry.c -- the retry module: a request is tried again, after a pause,
 * when the connection was refused (a server still starting), a fresh
 * connection dropped before any answer, or the server answered 429 or
 * 503 (servers say that while a model loads). The pause doubles from
 * BACKOFF_BASE_MS up to BACKOFF_MAX_MS with "equal jitter" (half fixed,
 * half random) so clients do not retry in step, or is the server's
 * Retry-After, obeyed up to max_retry_after_ms (30 s by default: a
 * server asking for an hour would otherwise hold the caller that long);
 * oa_interrupt() cuts it short.
 *
 * Optional: without this file every request is tried once and
 * oa_options.max_retries is refused. http.c reaches it through
 * oa__modules.retry (modules.c). Only http.c knows that nothing of the
 * answer has been handed out yet, so it asks after each attempt.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "oa_private.h"

#define BACKOFF_BASE_MS 500
#define BACKOFF_MAX_MS 8000

static int
setup(oa__http *h, const oa_options *o, char *err)
{
	if (o->max_retries < 0 && o->max_retries != OA_OMIT)
		return oa__fail(err, OA_ERR_INVALID, "max_retries must be 0 "
		                "(the default), positive or OA_OMIT");
	if (o->max_retry_after_ms < 0)
		return oa__fail(err, OA_ERR_INVALID, "max_retry_after_ms must "
		                "be 0 (the default) or positive");
	h->max_retries = o->max_retries == OA_OMIT ? 0 : o->max_retries ?
	                 o->max_retries : OA_DEFAULT_MAX_RETRIES;
	h->max_retry_after_ms = o->max_retry_after_ms ?
	                        o->max_retry_after_ms :
	                        OA_DEFAULT_MAX_RETRY_AFTER_MS;
	/* Jitter differs between clients started in the same millisecond. */
	h->rng = oa__seed(h);
	return 0;
}

/* The pause before retry number tries + 1: exponential, with "equal
 * jitter" (half fixed, half random) so clients do not retry in step. */
static int
backoff(oa__http *h, int tries)
{
	int base = BACKOFF_BASE_MS << (tries < 5 ? tries : 5);

	if (base > BACKOFF_MAX_MS)
		base = BACKOFF_MAX_MS;
	return base / 2 + (int)(oa__random(&h->rng) % (uint64_t)(base / 2 + 1));
}

/* The answer's Retry-After in ms, at most max_retry_after_ms; -1 when it
 * has none. Seconds only: the HTTP-date form is ignored. The head in
 * h->head[0..head_off) ends with an empty line, so no scan runs past
 * it. */
static int
retry_after(const oa__http *h)
{
	const char *s = h->head, *end = h->head + h->head_off;
	long long sec;
	int ms = -1;
	size_t n;

	while ((s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		if (end - ++s < 12 || strncasecmp(s, "retry-after:", 12) != 0)
			continue;
		s += 12 + strspn(s + 12, " \t");
		n = strspn(s, "0123456789");
		if (n == 0 || !(s[n] && strchr("\r\n \t", s[n])))
			continue;
		for (sec = 0; n-- > 0; s++)
			if (sec < 1000000)
				sec = sec * 10 + (*s - '0');
		ms = sec * 1000 < h->max_retry_after_ms ? (int)(sec * 1000) :
		     h->max_retry_after_ms;
	}
	return ms;
}

/* see oa_private.h (oa__retry_ops) */
static int
again(oa__http *h, int tries, int *r, char *err)
{
	int delay;

	if (tries >= h->max_retries)
		return 0;
	if (*r == 0 && (h->status == 429 || h->status == 503)) {
		if ((delay = retry_after(h)) < 0)
			delay = backoff(h, tries);
	} else if ((*r == OA_ERR_CONNECT && h->refused) ||
	           (*r == OA_ERR_IO && h->head_len == 0)) {
		/* refused, or a fresh connection dropped before any answer
		 * (http.c resends on a kept-alive one itself) */
		delay = backoff(h, tries);
	} else {
		return 0;
	}
	/* No time left to wait: the caller gets this answer. */
	if (h->deadline && oa__now_ms() + delay >= h->deadline)
		return 0;
	if (*r == 0 && (*r = oa__http_discard(h, h->read_timeout_ms)) != 0)
		return 0;
	if (h->debug)
		fprintf(stderr, "oa: retry %d of %d in %d ms (%s)\n",
		        tries + 1, h->max_retries, delay, *r == 0 ?
		        (h->status == 429 ? "HTTP 429" : "HTTP 503") :
		        err ? err : "");
	/* oa__net_wait on nothing but the cancel pipe: 1 when the pause
	 * passed */
	return (*r = oa__net_wait(h, 0, delay, err)) == 1;
}

/* see oa_private.h */
OA_PRIVATE const oa__retry_ops oa__retry = { setup, again };
