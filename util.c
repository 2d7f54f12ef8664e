/*
 * util.c -- the small things every other file needs: allocation through
 * the client's allocator, a growing buffer whose errors stick, and bounded
 * error messages.
 *
 * Growing buffers double their capacity, so appending n bytes one at a
 * time costs O(n) and, once a buffer has reached its working size, nothing
 * is allocated again: buffers are reset, never freed, between turns.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "oa_private.h"

/* ---------------------------------------------------------------- memory */

/* The user's allocator, or the C library's when a function is missing.
 * It is never asked for 0 bytes, which could come back as NULL. */
static int
use_libc(const oa_allocator *a)
{
	return !a || !a->malloc || !a->realloc || !a->free;
}

OA_PRIVATE void *
oa__malloc(const oa_allocator *a, size_t n)
{
	n += n == 0;
	return use_libc(a) ? malloc(n) : a->malloc(a->ctx, n);
}

OA_PRIVATE void *
oa__realloc(const oa_allocator *a, void *p, size_t n)
{
	n += n == 0;
	return use_libc(a) ? realloc(p, n) : a->realloc(a->ctx, p, n);
}

OA_PRIVATE void
oa__free(const oa_allocator *a, void *p)
{
	if (p != NULL && !use_libc(a))
		a->free(a->ctx, p);
	else
		free(p);   /* free(NULL) does nothing */
}

OA_PRIVATE void *
oa__mallocarray(const oa_allocator *a, size_t n, size_t size)
{
	return size && n > (size_t)-1 / size ? NULL : oa__malloc(a, n * size);
}

OA_PRIVATE char *
oa__strndup(const oa_allocator *a, const char *s, size_t n)
{
	char *d = oa__malloc(a, n + 1);

	if (d != NULL)
		d[n] = '\0';
	return d && n ? memcpy(d, s, n) : d;   /* s may be NULL when n is 0 */
}

/* ---------------------------------------------------------------- buffers */

OA_PRIVATE int
oa__buf_reserve(oa__buf *b, size_t n)
{
	size_t need = b->len + n + 1;

	if (b->err)
		return b->err;
	if (b->limit && need > n && b->len + n > b->limit)
		return b->err = OA_ERR_LIMIT;
	/* 64 bytes at first, then doubling; need <= n: it wrapped around */
	if (need <= n || oa__grow(b->alloc, (void **)&b->p, &b->cap,
	                          need < 64 ? 64 : need, 1))
		return b->err = OA_ERR_NOMEM;
	return 0;
}

OA_PRIVATE int
oa__buf_append(oa__buf *b, const void *s, size_t n)
{
	if (oa__buf_reserve(b, n))
		return b->err;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

OA_PRIVATE int
oa__buf_puts(oa__buf *b, const char *s)
{
	return oa__buf_append(b, s, strlen(s));
}

OA_PRIVATE int
oa__buf_printf(oa__buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	/* n < 0: vsnprintf could not format it (an error kept comes first) */
	if (n < 0 || oa__buf_reserve(b, (size_t)n))
		return b->err ? b->err : (b->err = OA_ERR_INVALID);
	va_start(ap, fmt);
	b->len += (size_t)vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return 0;
}

OA_PRIVATE void
oa__buf_reset(oa__buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->p)
		b->p[0] = '\0';
}

OA_PRIVATE void
oa__buf_free(oa__buf *b)
{
	oa__free(b->alloc, b->p);
	*b = (oa__buf){ .limit = b->limit, .alloc = b->alloc };
}

/* ---------------------------------------------------------------- errors */

OA_PRIVATE int
oa__fail(char *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(err, OA__ERRLEN, fmt, ap);
		va_end(ap);
	}
	return code;
}

OA_PRIVATE void
oa__quote(char *out, size_t outlen, const char *s, size_t n, size_t max)
{
	size_t o = strlen(out), i, w;

	for (i = 0; i < n && i < max; i++, o += w) {
		/* printable ASCII as it is (any byte >= 0x80 fails a test) */
		w = s[i] >= 0x20 && s[i] < 0x7f ? 1 : 4;
		if (o + w >= outlen)
			break;
		snprintf(out + o, w + 1, w == 1 ? "%c" : "\\x%02x",
		         (unsigned char)s[i]);
	}
	snprintf(out + o, outlen - o, i < n && o + 3 < outlen ? "..." : "");
}

/* ---------------------------------------------------------------- time */

OA_PRIVATE int64_t
oa__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* see oa_private.h */
OA_PRIVATE int
oa__blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* see oa_private.h */
OA_PRIVATE int
oa__grow(const oa_allocator *a, void **v, size_t *cap, size_t need,
         size_t size)
{
	size_t n = *cap ? *cap : 4;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n = n <= (size_t)-1 / 2 ? n * 2 : need;
	if ((q = oa__realloc(a, *v, n <= (size_t)-1 / size ? n * size
	                                                  : (size_t)-1)) == NULL)
		return OA_ERR_NOMEM;
	*v = q;
	*cap = n;
	return 0;
}

/* see oa_private.h */
OA_PRIVATE int
oa__ieq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* see oa_private.h */
OA_PRIVATE void
oa__trim(const char **s, size_t *n)
{
	while (*n > 0 && oa__blank((*s)[0]))
		(*s)++, (*n)--;
	while (*n > 0 && oa__blank((*s)[*n - 1]))
		(*n)--;
}

/* see oa_private.h */
OA_PRIVATE uint64_t
oa__random(uint64_t *state)
{
	/* xorshift64: for jitter and call ids, which need only differ */
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

/* see oa_private.h */
OA_PRIVATE uint64_t
oa__seed(const void *p)
{
	return (uint64_t)oa__now_ms() ^ ((uint64_t)(uintptr_t)p << 16) ^
	       ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ULL;
}
