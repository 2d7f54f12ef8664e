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
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "oa_private.h"

#define BACKOFF_BASE_MS 500
#define BACKOFF_MAX_MS 8000

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

/* Sleep ms, waking early for oa_interrupt(). */
/* see oa_private.h */
static int
pause_ms(oa__http *h, int ms, char *err)
{
	struct pollfd pf;
	int64_t until = oa__now_ms() + ms, now;
	int r;

	for (;;) {
		if (h->cancelled != NULL && *h->cancelled)
			return oa__fail(err, OA_ERR_INTERRUPTED,
			                "oa_interrupt() was called");
		if ((now = oa__now_ms()) >= until)
			return 0;
		pf.fd = h->cancel_fd;
		pf.events = POLLIN;
		pf.revents = 0;
		r = poll(&pf, h->cancel_fd >= 0 ? 1 : 0, (int)(until - now));
		if (r > 0)
			return oa__fail(err, OA_ERR_INTERRUPTED,
			                "oa_interrupt() was called");
		if (r < 0 && errno != EINTR)
			return oa__fail(err, OA_ERR_IO, "poll: %s",
			                strerror(errno));
	}
}

/* What modules.c puts in oa__modules.retry. */
OA_PRIVATE int oa__retry(oa__http *h, int tries, int *r, int retryable,
                         char *err);

/*
 * After attempt number tries (from 0) ended with *r (0: an answer, whose
 * status says whether it is worth another try; else an error, retryable
 * or not): 1 when the request should be sent again, the pause having
 * passed and the unused answer discarded; 0 when *r (possibly a new
 * error: interrupted, deadline) is the final outcome.
 */
OA_PRIVATE int
oa__retry(oa__http *h, int tries, int *r, int retryable, char *err)
{
	int delay;

	if (tries >= h->max_retries)
		return 0;
	if (*r == 0 && (h->status == 429 || h->status == 503))
		delay = h->retry_after_ms < 0 ? backoff(h, tries) :
		        h->retry_after_ms < h->max_retry_after_ms ?
		        h->retry_after_ms : h->max_retry_after_ms;
	else if (*r != 0 && retryable)
		delay = backoff(h, tries);
	else
		return 0;
	/* No time left to wait: the caller gets this answer. */
	if (h->deadline && oa__now_ms() + delay >= h->deadline)
		return 0;
	if (*r == 0 && (*r = oa__http_discard(h, 0)) != 0)
		return 0;
	if (h->debug)
		fprintf(stderr, "oa: retry %d of %d in %d ms (%s)\n",
		        tries + 1, h->max_retries, delay, *r == 0 ?
		        (h->status == 429 ? "HTTP 429" : "HTTP 503") :
		        err ? err : "");
	return (*r = pause_ms(h, delay, err)) == 0;
}
