/*
 * json.c -- reading JSON where it lies, and writing JSON strings.
 *
 * Reading. jsmn cuts the text into tokens (type, start, end, size, parent)
 * kept in one array that belongs to the oa__json and is reused by every
 * parse: once it has grown to fit, parsing same-shaped documents allocates
 * nothing. jsmn is lax even in strict mode -- it takes "[1,]", "[1 2]",
 * "{}{}", "tru", "01" and raw control bytes in strings -- so the text is
 * checked first, in one pass that also counts the tokens and finds where
 * each subtree ends (see validate()); jsmn only ever sees valid JSON,
 * in a token array of the right size. With the reuse module
 * (jsonreuse.c) both start where the text stops matching the last one
 * parsed.
 *
 * States. After a parse, tokens are read-only except strings, which are
 * unescaped lazily and in place the first time they are asked for: the
 * token's end moves to the end of the unescaped value, where a NUL now
 * stands (over the closing quote when nothing shrank), so asking again
 * finds the NUL (a string in valid JSON holds none) and returns the same
 * bytes. shrunk is the first token whose end moved (jsonreuse.c puts them
 * back). Unescaping
 * rewrites bytes a container's raw text spans, hence the rule at
 * oa__json_raw in oa_private.h.
 *
 * Writing. oa__json_put_str escapes a byte string into an oa__buf, copying
 * each run of bytes that need no escape with one append.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "oa_private.h"

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

/* Whitespace, and what ends a literal (whitespace , ] }), as bits by
 * byte value (the ones below 64): a test per byte on the hot path. */
#define WS_BITS (1ull << ' ' | 1ull << '\t' | 1ull << '\n' | 1ull << '\r')
#define END_BITS (WS_BITS | 1ull << ',')

static size_t
skip_ws(const unsigned char *s, size_t i, size_t n)
{
	while (i < n && s[i] < 64 && (WS_BITS >> s[i] & 1))
		i++;
	return i;
}

/* A byte a string holds as it is: not '"', '\\' or a control byte. */
static int
json_plain(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\\';
}

static int
bad(const oa__json *j, size_t at, const char *what, char *err)
{
	char q[64] = "";

	if (at < j->len && j->src[at] == '\0')
		what = "NUL byte";   /* jsmn would stop there: say why */
	oa__quote(q, sizeof q, j->src + at, at < j->len ? j->len - at : 0, 16);
	return oa__fail(err, OA_ERR_STREAM, "invalid JSON: %s at byte %zu%s%s",
	                what, at, at < j->len ? ": " : " (the end)", q);
}

/* Grow the token array (and its next links) toward limit. */
static int
grow(oa__json *j, size_t limit, char *err)
{
	size_t c1 = j->cap, c2 = c1;

	if (j->cap >= limit)
		return oa__fail(err, OA_ERR_LIMIT,
		                "JSON text has more than %zu tokens (the "
		                "max_json_tokens limit)", limit);
	/* both double; each kept as soon as it has moved, cap only once
	 * both have */
	if (oa__grow(j->alloc, &j->tok, &c1, c1 + 1, sizeof(jsmntok_t)) ||
	    oa__grow(j->alloc, (void **)&j->next, &c2, c2 + 1, sizeof(int)))
		return oa__fail(err, OA_ERR_NOMEM, "out of memory");
	j->cap = (unsigned)(c1 < limit ? c1 : limit);
	return 0;
}

/* ------------------------------------------------------------ validation */

/*
 * One pass over the text checks it against the JSON grammar (RFC 8259)
 * and numbers its tokens as jsmn will (in the order they start), so
 * jsmn then tokenizes a text known to be valid into an array of exactly
 * the right size, and nothing is checked twice. The same pass fills
 * next[]: for each token, the token after its subtree, so look-ups skip
 * a subtree in one step. While a container is open its next[] holds the
 * container around it instead, (index + 1) * 2 + 1 for an object: the
 * stack of open levels needs no memory of its own.
 *
 * Nesting deeper than max_depth is refused here, before jsmn runs: jsmn
 * walks the parent chain at each closing bracket, so its time grows with
 * depth times brackets.
 */

/* Past the digits at p (before e), or NULL when there are none. */
static const char *
digits(const char *p, const char *e)
{
	const char *d = p;

	while (p < e && *p >= '0' && *p <= '9')
		p++;
	return p > d ? p : NULL;
}

/* true, false, null or -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
literal_ok(const char *s, size_t n)
{
	const char *e = s + n, *p = s + (n > 0 && s[0] == '-'), *q;

	if ((n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) ||
	    (n == 5 && !memcmp(s, "false", 5)))
		return 1;
	if ((q = digits(p, e)) == NULL || (*p == '0' && q > p + 1))
		return 0;
	if (q < e && *q == '.' && (q = digits(q + 1, e)) == NULL)
		return 0;
	if (q < e && (*q == 'e' || *q == 'E')) {
		q += q + 1 < e && (q[1] == '+' || q[1] == '-');
		if ((q = digits(q + 1, e)) == NULL)
			return 0;
	}
	return q == e;
}

/* The string whose quote is at *at; *at moves past its closing quote. */
static int
check_string(const oa__json *j, size_t *at, char *err)
{
	const unsigned char *s = (const unsigned char *)j->src;
	size_t i = *at + 1, n = j->len, k, m;

	for (;;) {
		while (i < n && json_plain(s[i]))
			i++;
		if (i < n && s[i] == '"')
			break;
		if (i < n && s[i] != '\\')
			return bad(j, i, "control character in a string", err);
		/* an escape: u and four hex digits, or one of "\/bfnrt; the
		 * closing quote still to come */
		k = i + 1 < n && s[i + 1] == 'u' ? 6 : 2;
		if (i + k >= n)
			return bad(j, *at, "unterminated value", err);
		for (m = i + 2; m < i + k && isxdigit(s[m]); m++)
			;
		if (m < i + k || !s[i + 1] || !strchr("\"\\/bfnrtu", s[i + 1]))
			return bad(j, *at, "bad escape in string", err);
		i += k;
	}
	*at = i + 1;
	return 0;
}

/* The number of tokens, or an OA_ERR_* code. The labels are the things
 * the text may hold next: a value (an object's key when key is set), or
 * what follows one (',', a closing bracket, or the end). comma is where
 * the last ',' stood (0: none, a value comes first), to point at it when
 * a closing bracket follows. */
static int
validate(oa__json *j, const struct oa__json_at *at, size_t limit,
         size_t max_depth, char *err)
{
	const unsigned char *s = (const unsigned char *)j->src;
	size_t n = j->len, i = at->i, start, depth = at->depth, comma = 0;
	int nt = at->nt, open = at->open, obj = at->obj, key = at->key, r, up;
	unsigned char c;

value:
	i = skip_ws(s, i, n);
	if (i == n)
		return bad(j, i, open < 0 ? "no value" : "unterminated value",
		           err);
	c = s[i];
	if (c == ']' || c == '}' || (key && c != '"'))
		return bad(j, (c == ']' || c == '}') && comma ? comma : i,
		           "unexpected character", err);
	if (nt == (int)j->cap && (r = grow(j, limit, err)) != 0)
		return r;
	j->next[nt] = nt + 1;
	comma = 0;
	if (c == '[' || c == '{') {
		if (++depth > max_depth)
			return oa__fail(err, OA_ERR_LIMIT, "JSON text nested "
			                "deeper than %zu levels at byte %zu (the "
			                "max_json_depth limit)", max_depth, i);
		j->next[nt] = (open + 1) * 2 + obj;
		key = obj = c == '{';
		open = nt++;
		i = skip_ws(s, i + 1, n);
		if (i < n && s[i] == (obj ? '}' : ']'))
			goto close;
		goto value;
	}
	nt++;
	if (c == '"' && (r = check_string(j, &i, err)) != 0)
		return r;
	if (c != '"') {
		/* a literal runs up to whitespace , ] } or the end */
		for (start = i; i < n && (s[i] < 64 ? !(END_BITS >> s[i] & 1) :
		                          s[i] != ']' && s[i] != '}'); i++)
			;
		if (i == n && open >= 0)
			return bad(j, start, "unterminated value", err);
		if (!literal_ok(j->src + start, i - start))
			return bad(j, start, strchr("-0123456789tfn", c) ?
			           "invalid literal" : "unexpected character",
			           err);
	}
	if (key) {
		start = i;
		i = skip_ws(s, i, n);
		if (i < n && s[i] == '}')
			return bad(j, start, "key without a value", err);
		if (i == n || s[i] != ':')
			return bad(j, i, i == n ? "unterminated value" :
			           "expected ':'", err);
		i++;
		key = 0;
		goto value;
	}
after:
	i = skip_ws(s, i, n);
	if (open < 0)
		return i == n ? nt : bad(j, i, "more data after the value",
		                         err);
	if (i < n && s[i] == ',') {
		comma = i++;
		key = obj;
		goto value;
	}
	if (i == n || s[i] != (obj ? '}' : ']'))
		return bad(j, i, i == n ? "unterminated value" :
		           "expected ','", err);
close:
	i++;
	up = j->next[open];
	j->next[open] = nt;
	open = up / 2 - 1;
	obj = up & 1;
	depth--;
	goto after;
}

/* ---------------------------------------------------------------- parsing */

/*
 * The check and jsmn start at at: the beginning of the text, or where the
 * reuse module (jsonreuse.c) found the new text stops matching the last
 * one. A top-level literal that ends the text ("1", "true") is the one
 * thing jsmn refuses: in strict mode it wants a delimiter after a
 * literal, and there is none at the end of the input, so its token is
 * made here.
 */
OA_PRIVATE int
oa__json_parse(oa__json *j, char *src, size_t len, char *err)
{
	size_t limit = j->max_tokens ? j->max_tokens : OA_MAX_JSON_TOKENS;
	size_t depth = j->max_depth ? j->max_depth : OA_MAX_JSON_DEPTH;
	struct oa__json_at at = { 0, 0, 0, -1, 0, 0 };
	jsmn_parser p;
	int n = 0;

	j->src = src;
	j->len = len;
	if (limit > INT_MAX)
		limit = INT_MAX;
	/* n: first 0 or an error, then the number of tokens */
	if (len > INT_MAX)   /* jsmn's offsets are int */
		n = oa__fail(err, OA_ERR_LIMIT, "JSON text of %zu bytes is too "
		             "long to parse", len);
	else if (oa__modules.json_reuse != NULL)
		n = oa__modules.json_reuse(j, limit, depth, &at, err);
	j->ntok = 0;
	if (n == 0)
		n = validate(j, &at, limit, depth, err);
	if (n < 0)
		return n;
	/* a member's value belongs to its key, the rest to their container */
	jsmn_init(&p);
	p.pos = (unsigned)at.i;
	p.toknext = (unsigned)at.nt;
	p.toksuper = at.obj && !at.key ? at.nt - 1 : at.open;
	/* the text is valid JSON: jsmn fails on a lone literal only */
	if (jsmn_parse(&p, src, len, j->tok, (unsigned)n) != n)
		*(jsmntok_t *)j->tok = (jsmntok_t){ JSMN_PRIMITIVE,
		        (int)skip_ws((const unsigned char *)src, 0, len),
		        (int)len, 0, -1 };
	j->ntok = j->shrunk = n;
	return 0;
}

OA_PRIVATE void
oa__json_free(oa__json *j)
{
	oa__free(j->alloc, j->tok);
	oa__free(j->alloc, j->next);
	oa__free(j->alloc, j->seen);
	*j = (oa__json){ .alloc = j->alloc, .max_tokens = j->max_tokens,
	                 .max_depth = j->max_depth };
}

/* ---------------------------------------------------------------- look-ups */

static const jsmntok_t *
token(const oa__json *j, int t)
{
	return t >= 0 && t < j->ntok ? (const jsmntok_t *)j->tok + t : NULL;
}

OA_PRIVATE int
oa__json_type(const oa__json *j, int t)
{
	const jsmntok_t *k = token(j, t);

	if (k == NULL)
		return OA__JSON_NONE;
	if (k->type != JSMN_PRIMITIVE)
		return k->type == JSMN_OBJECT ? OA__JSON_OBJECT :
		       k->type == JSMN_ARRAY ? OA__JSON_ARRAY : OA__JSON_STRING;
	return j->src[k->start] == 't' ? OA__JSON_TRUE :
	       j->src[k->start] == 'f' ? OA__JSON_FALSE :
	       j->src[k->start] == 'n' ? OA__JSON_NULL : OA__JSON_NUMBER;
}

OA_PRIVATE int
oa__json_count(const oa__json *j, int t)
{
	const jsmntok_t *k = token(j, t);

	return k && k->type != JSMN_STRING ? k->size : 0;   /* a key's is 1 */
}

OA_PRIVATE int
oa__json_first(const oa__json *j, int t)
{
	return oa__json_count(j, t) > 0 ? t + 1 : -1;
}

/* The token after t's subtree, if it lies within t's container: O(1). */
OA_PRIVATE int
oa__json_next(const oa__json *j, int t)
{
	const jsmntok_t *tok = j->tok;
	int c;

	if (token(j, t) == NULL)
		return -1;
	/* t's container: its parent, or for a member's value its key's */
	c = tok[t].parent;
	if (c >= 0 && tok[c].type == JSMN_STRING)
		c = tok[c].parent;
	return j->next[t] < (c < 0 ? j->ntok : j->next[c]) ? j->next[t] : -1;
}

/* Keys i and their values i + 1 alternate up to the end of t's subtree;
 * next[] hops over each value's. A key's first byte is compared first,
 * and the rest only then, without measuring key beforehand. */
OA_PRIVATE int
oa__json_get(const oa__json *j, int t, const char *key)
{
	const jsmntok_t *tok = j->tok;
	const char *s;
	size_t n, m;
	int i;

	if (t < 0 || t >= j->ntok || tok[t].type != JSMN_OBJECT)
		return -1;
	for (i = t + 1; i < j->next[t]; i = j->next[i + 1]) {
		s = j->src + tok[i].start;
		n = (size_t)(tok[i].end - tok[i].start);
		if (n > 0 && s[0] != key[0])
			continue;
		/* an unescaped key may hold a NUL: stop at key's end */
		for (m = 0; m < n && s[m] == key[m] && key[m] != '\0'; m++)
			;
		if (m == n && key[n] == '\0')
			return i + 1;
	}
	return -1;
}

OA_PRIVATE int
oa__json_at(const oa__json *j, int t, int i)
{
	int k = oa__json_type(j, t) == OA__JSON_ARRAY && i >= 0 ?
	        oa__json_first(j, t) : -1;

	for (; k >= 0 && i > 0; i--)
		k = oa__json_next(j, k);
	return k;
}

OA_PRIVATE const char *
oa__json_raw(const oa__json *j, int t, size_t *len)
{
	const jsmntok_t *k = token(j, t);

	if (len != NULL)
		*len = k ? (size_t)(k->end - k->start) : 0;
	return k ? j->src + k->start : NULL;
}

/* ---------------------------------------------------------------- strings */

/* The four hex digits at s (checked by the parse). */
static unsigned long
hex4(const char *s)
{
	return strtoul((char[]){ s[0], s[1], s[2], s[3], '\0' }, NULL, 16);
}

/* Code point c as UTF-8 at o; returns its length. */
static size_t
put_utf8(char *o, unsigned long c)
{
	size_t n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4, k;

	for (k = n - 1; k > 0; k--, c >>= 6)
		o[k] = (char)(0x80 | (c & 0x3f));
	/* the lead byte: n high bits set (none for ASCII), then c */
	o[0] = (char)((n > 1 ? (0xff00 >> n) & 0xff : 0) | c);
	return n;
}

/* Unescape s[0..n) in place; returns the new length. The output never
 * overtakes the input: each escape is read whole before its (shorter)
 * UTF-8 form is written. The escapes were validated by the parse. */
static size_t
unescape(char *s, size_t n)
{
	const char *bs = memchr(s, '\\', n), *e;
	size_t i = bs ? (size_t)(bs - s) : n, o = i;
	unsigned long c, lo;

	while (i < n) {
		if (s[i] != '\\') {
			s[o++] = s[i++];
		} else if (s[i + 1] != 'u') {
			/* b f n r t stand for controls; " \ / for themselves */
			e = strchr("b\bf\fn\nr\rt\t", s[i + 1]);
			s[o++] = e ? e[1] : s[i + 1];
			i += 2;
		} else {
			c = hex4(s + i + 2);
			i += 6;
			if (c >= 0xd800 && c < 0xdc00 && i + 6 <= n &&
			    s[i] == '\\' && s[i + 1] == 'u' &&
			    (lo = hex4(s + i + 2)) >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			} else if (c >= 0xd800 && c < 0xe000) {
				c = 0xfffd;   /* a lone surrogate */
			}
			o += put_utf8(s + o, c);
		}
	}
	return o;
}

OA_PRIVATE const char *
oa__json_str(oa__json *j, int t, size_t *len)
{
	jsmntok_t *k;
	size_t n;

	if (t < 0 || t >= j->ntok ||
	    ((jsmntok_t *)j->tok)[t].type != JSMN_STRING)
		return oa__json_raw(j, -1, len);   /* NULL, and *len 0 */
	k = (jsmntok_t *)j->tok + t;
	/* a string not yet unescaped ends at its closing quote */
	if (j->src[k->end] != '\0') {
		n = unescape(j->src + k->start, (size_t)(k->end - k->start));
		if (k->start + (int)n < k->end && t < j->shrunk)
			j->shrunk = t;
		k->end = k->start + (int)n;
		j->src[k->end] = '\0';
	}
	if (len != NULL)
		*len = (size_t)(k->end - k->start);
	return j->src + k->start;
}

OA_PRIVATE int
oa__json_eq(oa__json *j, int t, const char *s)
{
	size_t n;
	const char *v = oa__json_str(j, t, &n);

	return v != NULL && n == strlen(s) && memcmp(v, s, n) == 0;
}

/* ---------------------------------------------------------------- numbers */

OA_PRIVATE int
oa__json_int(const oa__json *j, int t, long long *out)
{
	unsigned long long v = 0, max = LLONG_MAX;
	int neg;
	size_t n, i;
	const char *s = oa__json_raw(j, t, &n);

	/* a number with a fraction or exponent is not one */
	if (oa__json_type(j, t) != OA__JSON_NUMBER ||
	    digits(s + (neg = s[0] == '-'), s + n) != s + n)
		return OA_ERR_STREAM;
	for (i = (size_t)neg; i < n; i++) {
		/* a negative one may reach one more: -LLONG_MIN - 1 */
		if (v > (max + (unsigned)neg - (unsigned)(s[i] - '0')) / 10)
			return OA_ERR_LIMIT;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	/* -(v - 1) - 1 reaches LLONG_MIN without overflowing */
	*out = !neg ? (long long)v : v ? -(long long)(v - 1) - 1 : 0;
	return 0;
}

OA_PRIVATE int
oa__json_double(const oa__json *j, int t, double *out)
{
	char tmp[512] = "";
	size_t n;
	const char *s = oa__json_raw(j, t, &n);

	if (oa__json_type(j, t) != OA__JSON_NUMBER)
		return OA_ERR_STREAM;
	/* Inside the text a number is followed by a delimiter strtod stops
	 * at; at the very end of the text it is copied (after it the zeroed
	 * tmp holds a NUL) so strtod does not read past it. */
	if (s + n == j->src + j->len && n >= sizeof tmp)
		return OA_ERR_LIMIT;
	if (s + n == j->src + j->len)
		s = memcpy(tmp, s, n);
	*out = strtod(s, NULL);
	return 0;
}

OA_PRIVATE int
oa__json_bool(const oa__json *j, int t)
{
	int type = oa__json_type(j, t);

	return type == OA__JSON_TRUE ? 1 : type == OA__JSON_FALSE ? 0 : -1;
}

/* ---------------------------------------------------------------- writing */

OA_PRIVATE void
oa__json_put_str(oa__buf *b, const char *s, size_t n)
{
	static const char ctl[] = "\"\\\b\f\n\r\t", name[] = "\"\\bfnrt";
	const char *e;
	size_t i, k;

	oa__buf_append(b, "\"", 1);
	for (i = 0;; i = k + 1) {
		for (k = i; k < n && json_plain((unsigned char)s[k]); k++)
			;
		oa__buf_append(b, s + i, k - i);
		if (k == n)
			break;
		/* the short escape where there is one, else \u00XX */
		if ((e = memchr(ctl, s[k], sizeof ctl - 1)) != NULL)
			oa__buf_append(b, (char[]){ '\\', name[e - ctl] }, 2);
		else
			oa__buf_printf(b, "\\u%04x", (unsigned char)s[k]);
	}
	oa__buf_append(b, "\"", 1);
}
