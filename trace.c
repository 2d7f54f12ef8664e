/*
 * trace.c -- the trace module: the HTTP exchange on stderr, as it happens
 * (oa_options.debug or OA_DEBUG=1): "oa: > " for what is sent, "oa: < "
 * for what is received, the Authorization value replaced, so the key
 * never reaches a log.
 *
 * Optional: without this file OA_DEBUG is ignored and oa_options.debug is
 * refused. http.c reaches it through oa__modules.trace (modules.c).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "oa_private.h"

/* What modules.c puts in oa__modules.trace. */
OA_PRIVATE void oa__trace(char dir, const char *s, size_t n, int head);


/*
 * Write s[0..n) to stderr as whole lines, each after "oa: > " (dir '>',
 * sent) or "oa: < " (received); a line left open at the end is closed.
 * In a head (head set), the value of an Authorization or
 * Proxy-Authorization header is never written: only its scheme word
 * (Bearer, Basic), then "[redacted]".
 */
/* see oa_private.h */
OA_PRIVATE void
oa__trace(char dir, const char *s, size_t n, int head)
{
	const char *eol, *colon, *v;
	size_t len, k, w;

	while (n > 0) {
		eol = memchr(s, '\n', n);
		len = eol ? (size_t)(eol - s) + 1 : n;
		k = len;
		while (k > 0 && (s[k - 1] == '\n' || s[k - 1] == '\r'))
			k--;
		colon = head ? memchr(s, ':', k) : NULL;
		if (colon && (oa__ieq(s, (size_t)(colon - s), "authorization") ||
		              oa__ieq(s, (size_t)(colon - s),
		                  "proxy-authorization"))) {
			for (v = colon + 1; v < s + k && *v == ' '; v++)
				;
			for (w = 0; v + w < s + k && v[w] != ' ' && w < 16; w++)
				;
			/* only a short word before a space is a scheme; a
			 * value without one is all secret */
			if (v + w >= s + k || v[w] != ' ')
				w = 0;
			fprintf(stderr, "oa: %c %.*s %.*s%s[redacted]\n", dir,
			        (int)(colon - s + 1), s, (int)w, v, w ? " " : "");
		} else
			fprintf(stderr, "oa: %c %.*s\n", dir, (int)k, s);
		s += len;
		n -= len;
	}
}
