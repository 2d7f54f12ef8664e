/*
 * json.c -- reading JSON where it lies, and writing JSON strings.
 *
 * Reading. jsmn cuts the text into tokens (type, start, end, size, parent)
 * kept in one array that belongs to the oa__json and is reused by every
 * parse: once it has grown to fit, parsing same-shaped documents allocates
 * nothing. jsmn is lax even in strict mode -- it takes "[1,]", "[1 2]",
 * "{}{}", "tru", "01" and raw control bytes in strings -- so a second pass
 * walks the tokens in source order and checks everything jsmn let through:
 * what lies between two tokens (whitespace around exactly the separator
 * the grammar wants there), each literal against the JSON grammar, each
 * string for control bytes. Escapes need no second look: jsmn's string
 * scanner already rejects any but the nine JSON ones and \u without four
 * hex digits. What passes the walk is one JSON value.
 *
 * A lone top-level literal ("1", "true") never reaches jsmn: in strict
 * mode jsmn wants a delimiter after a literal, and there is none at the
 * end of the input, so it is cut out and checked here.
 *
 * States. After a parse, tokens are read-only except strings, which are
 * unescaped lazily and in place the first time they are asked for. One
 * "done" byte per token remembers that, so asking again returns the same
 * bytes; the token's end moves to the end of the unescaped value, where a
 * NUL now stands (over the closing quote when nothing shrank). Unescaping
 * rewrites bytes a container's raw text spans, hence the rule at
 * oa__json_raw in oa_private.h.
 *
 * Writing. oa__json_put_str escapes a byte string into an oa__buf, copying
 * each run of bytes that need no escape with one append.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "oa_private.h"

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#define FIRST_TOKENS 64

enum { AT_START, AT_KEY, AT_VALUE };   /* what the walk saw last */

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The object or array that token i belongs to: its parent, or for an
 * object member's value the parent of its key. -1 for the root. */
static int
container(const jsmntok_t *tok, int i)
{
	int p = tok[i].parent;

	return p >= 0 && tok[p].type == JSMN_STRING ? tok[p].parent : p;
}

static int
bad(const oa__json *j, size_t at, const char *what, char *err)
{
	char q[64] = "";

	if (at >= j->len)
		return oa__fail(err, OA_ERR_STREAM,
		                "invalid JSON: %s at byte %zu (the end)", what,
		                at);
	oa__quote(q, sizeof q, j->src + at, j->len - at, 16);
	return oa__fail(err, OA_ERR_STREAM, "invalid JSON: %s at byte %zu: %s",
	                what, at, q);
}

/* Grow the token array (and its done bytes) toward limit. */
static int
grow(oa__json *j, size_t limit, char *err)
{
	size_t cap = j->cap ? (size_t)j->cap * 2 : FIRST_TOKENS;
	void *p;

	if (j->cap >= limit)
		return oa__fail(err, OA_ERR_LIMIT,
		                "JSON text has more than %zu tokens (the "
		                "max_json_tokens limit)", limit);
	if (cap > limit)
		cap = limit;
	if (cap > (size_t)-1 / sizeof(jsmntok_t))
		return oa__fail(err, OA_ERR_NOMEM, "out of memory");
	p = oa__realloc(j->alloc, j->tok, cap * sizeof(jsmntok_t));
	if (p == NULL)
		return oa__fail(err, OA_ERR_NOMEM, "out of memory");
	j->tok = p;
	p = oa__realloc(j->alloc, j->done, cap);
	if (p == NULL)
		return oa__fail(err, OA_ERR_NOMEM, "out of memory");
	j->done = p;
	j->cap = (unsigned)cap;
	return 0;
}

/* ------------------------------------------------------------ validation */

/* Nesting deeper than max is refused before jsmn runs: jsmn walks the
 * parent chain at each closing bracket, so its time grows with depth
 * times brackets. Brackets inside strings are text and skipped. */
static int
depth_ok(const oa__json *j, size_t max, char *err)
{
	const char *s = j->src;
	size_t i, depth = 0;

	for (i = 0; i < j->len; i++) {
		switch (s[i]) {
		case '"':
			for (i++; i < j->len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			break;
		case '[':
		case '{':
			if (++depth > max)
				return oa__fail(err, OA_ERR_LIMIT, "JSON text "
				                "nested deeper than %zu levels at "
				                "byte %zu (the max_json_depth "
				                "limit)", max, i);
			break;
		case ']':
		case '}':
			depth -= depth > 0;
			break;
		}
	}
	return 0;
}

static size_t
digits(const char *s, size_t n, size_t i)
{
	size_t k = i;

	while (k < n && s[k] >= '0' && s[k] <= '9')
		k++;
	return k - i;
}

/* true, false, null or -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
literal_ok(const char *s, size_t n)
{
	size_t i = 0, d;

	if ((n == 4 && (memcmp(s, "true", 4) == 0 ||
	                memcmp(s, "null", 4) == 0)) ||
	    (n == 5 && memcmp(s, "false", 5) == 0))
		return 1;
	if (i < n && s[i] == '-')
		i++;
	d = digits(s, n, i);
	if (d == 0 || (d > 1 && s[i] == '0'))
		return 0;
	i += d;
	if (i < n && s[i] == '.') {
		if ((d = digits(s, n, ++i)) == 0)
			return 0;
		i += d;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if ((d = digits(s, n, i)) == 0)
			return 0;
		i += d;
	}
	return i == n;
}

/* src[from..to) lies between two tokens: whitespace around at most one
 * separator, which must be want (0: none belongs here). */
static int
gap(const oa__json *j, size_t from, size_t to, int want, char *err)
{
	int seen = 0;
	size_t i;

	for (i = from; i < to; i++) {
		if (is_ws(j->src[i]))
			continue;
		if (want == 0 || j->src[i] != want || seen)
			return bad(j, i, "unexpected character", err);
		seen = 1;
	}
	if (want && !seen)
		return bad(j, to, want == ':' ? "expected ':'" : "expected ','",
		           err);
	return 0;
}

/*
 * Walk the tokens in source order. Tokens come in the order they start;
 * before token i, every open container that ends before it is closed
 * (checking the gap before its bracket). The separator a gap needs
 * follows from what came last: ':' after a key, ',' after a value, nothing
 * after an opening bracket or before a closing one.
 */
static int
check(const oa__json *j, char *err)
{
	const jsmntok_t *tok = j->tok, *k;
	int i, open = -1, last = AT_START, r;
	size_t pos = 0, at, c;

	for (i = 0;; i++) {
		k = tok + i;
		at = i == j->ntok ? j->len :
		     (size_t)k->start - (k->type == JSMN_STRING);
		while (open >= 0 && (size_t)tok[open].end <= at) {
			if ((r = gap(j, pos, (size_t)tok[open].end - 1, 0, err)))
				return r;
			pos = (size_t)tok[open].end;
			last = AT_VALUE;
			open = container(tok, open);
		}
		if (i == j->ntok)
			return gap(j, pos, j->len, 0, err);
		if (i > 0 && open < 0)
			return bad(j, at, "more data after the value", err);
		r = gap(j, pos, at, last == AT_KEY ? ':' :
		                    last == AT_VALUE ? ',' : 0, err);
		if (r)
			return r;
		if (container(tok, i) != open)
			return bad(j, at, "misplaced value", err);
		last = AT_VALUE;
		pos = (size_t)k->end;
		if (k->type == JSMN_OBJECT || k->type == JSMN_ARRAY) {
			open = i;
			last = AT_START;
			pos = (size_t)k->start + 1;
		} else if (k->type == JSMN_STRING) {
			for (c = (size_t)k->start; c < (size_t)k->end; c++)
				if ((unsigned char)j->src[c] < 0x20)
					return bad(j, c, "control character "
					           "in a string", err);
			pos++;
		} else if (!literal_ok(j->src + k->start,
		                       (size_t)(k->end - k->start))) {
			return bad(j, at, "invalid literal", err);
		}
		if (k->parent >= 0 && tok[k->parent].type == JSMN_OBJECT) {
			if (k->type != JSMN_STRING)
				return bad(j, at, "key is not a string", err);
			/* a second value (size 2) lacks the ',' before
			 * it, which its gap check reports */
			if (k->size == 0)
				return bad(j, pos, "key without a value", err);
			last = AT_KEY;
		}
	}
}

/* ---------------------------------------------------------------- parsing */

OA_PRIVATE int
oa__json_parse(oa__json *j, char *src, size_t len, char *err)
{
	size_t limit = j->max_tokens ? j->max_tokens : OA_MAX_JSON_TOKENS;
	const char *nul;
	jsmntok_t *tok;
	jsmn_parser p;
	size_t s, e;
	int r;

	j->src = src;
	j->len = len;
	j->ntok = 0;
	if (len > INT_MAX)   /* jsmn's offsets are int */
		return oa__fail(err, OA_ERR_LIMIT, "JSON text of %zu bytes is "
		                "too long to parse", len);
	if (limit > INT_MAX)
		limit = INT_MAX;
	/* jsmn stops at a NUL as if the text ended there */
	if ((nul = memchr(src, '\0', len)) != NULL)
		return bad(j, (size_t)(nul - src), "NUL byte", err);
	if ((r = depth_ok(j, j->max_depth ? j->max_depth : OA_MAX_JSON_DEPTH,
	                  err)) != 0)
		return r;
	for (s = 0; s < len && is_ws(src[s]); s++)
		;
	if (s == len)
		return bad(j, s, "no value", err);
	if (j->cap == 0 && (r = grow(j, limit, err)) != 0)
		return r;
	if (src[s] != '{' && src[s] != '[' && src[s] != '"') {
		for (e = s; e < len && !is_ws(src[e]); e++)
			;
		tok = j->tok;
		tok->type = JSMN_PRIMITIVE;
		tok->start = (int)s;
		tok->end = (int)e;
		tok->size = 0;
		tok->parent = -1;
		r = 1;
	} else {
		/* Out of tokens: grow and start again from the top. */
		for (;;) {
			jsmn_init(&p);
			r = jsmn_parse(&p, src, len, j->tok, j->cap);
			if (r != JSMN_ERROR_NOMEM)
				break;
			if ((r = grow(j, limit, err)) != 0)
				return r;
		}
		if (r == JSMN_ERROR_PART)
			return bad(j, p.pos, "unterminated value", err);
		if (r < 0)
			return bad(j, p.pos, src[p.pos] == '"' ?
			           "bad escape in string" :
			           "unexpected character", err);
	}
	j->ntok = r;
	if ((r = check(j, err)) != 0) {
		j->ntok = 0;
		return r;
	}
	memset(j->done, 0, (size_t)j->ntok);
	return 0;
}

OA_PRIVATE void
oa__json_free(oa__json *j)
{
	oa__free(j->alloc, j->tok);
	oa__free(j->alloc, j->done);
	j->tok = NULL;
	j->done = NULL;
	j->cap = 0;
	j->ntok = 0;
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
	if (k->type == JSMN_OBJECT)
		return OA__JSON_OBJECT;
	if (k->type == JSMN_ARRAY)
		return OA__JSON_ARRAY;
	if (k->type == JSMN_STRING)
		return OA__JSON_STRING;
	switch (j->src[k->start]) {
	case 't':
		return OA__JSON_TRUE;
	case 'f':
		return OA__JSON_FALSE;
	case 'n':
		return OA__JSON_NULL;
	default:
		return OA__JSON_NUMBER;
	}
}

OA_PRIVATE int
oa__json_count(const oa__json *j, int t)
{
	int type = oa__json_type(j, t);

	if (type != OA__JSON_OBJECT && type != OA__JSON_ARRAY)
		return 0;
	return token(j, t)->size;
}

OA_PRIVATE int
oa__json_first(const oa__json *j, int t)
{
	return oa__json_count(j, t) > 0 ? t + 1 : -1;
}

/* Tokens are stored in the order they start, so t's subtree is the run of
 * tokens after it that start before it ends: O(subtree), and a loop over
 * a container's children costs O(container). */
OA_PRIVATE int
oa__json_next(const oa__json *j, int t)
{
	const jsmntok_t *tok = j->tok;
	int i;

	if (token(j, t) == NULL)
		return -1;
	for (i = t + 1; i < j->ntok && tok[i].start < tok[t].end; i++)
		;
	if (i < j->ntok && container(tok, i) == container(tok, t))
		return i;
	return -1;
}

OA_PRIVATE int
oa__json_get(const oa__json *j, int t, const char *key)
{
	size_t n = strlen(key), kn;
	const char *s;
	int k;

	if (oa__json_type(j, t) != OA__JSON_OBJECT)
		return -1;
	for (k = oa__json_first(j, t); k >= 0; k = oa__json_next(j, k + 1)) {
		s = oa__json_raw(j, k, &kn);
		if (kn == n && memcmp(s, key, n) == 0)
			return k + 1;
	}
	return -1;
}

OA_PRIVATE int
oa__json_at(const oa__json *j, int t, int i)
{
	int k;

	if (oa__json_type(j, t) != OA__JSON_ARRAY || i < 0 ||
	    i >= oa__json_count(j, t))
		return -1;
	for (k = t + 1; i > 0; i--)
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

static unsigned long
hex4(const char *s)
{
	unsigned long v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v << 4 | (unsigned long)(s[i] <= '9' ? s[i] - '0' :
		                             (s[i] | 0x20) - 'a' + 10);
	return v;
}

static size_t
put_utf8(char *o, unsigned long c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | c >> 12);
		o[1] = (char)(0x80 | (c >> 6 & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | c >> 18);
	o[1] = (char)(0x80 | (c >> 12 & 0x3f));
	o[2] = (char)(0x80 | (c >> 6 & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* Unescape s[0..n) in place; returns the new length. The output never
 * overtakes the input: each escape is read whole before its (shorter)
 * UTF-8 form is written. The escapes were validated by the parse. */
static size_t
unescape(char *s, size_t n)
{
	const char *bs = memchr(s, '\\', n);
	size_t i, o;
	unsigned long c, lo;

	if (bs == NULL)
		return n;
	for (i = o = (size_t)(bs - s); i < n;) {
		if (s[i] != '\\') {
			s[o++] = s[i++];
			continue;
		}
		i += 2;
		switch (s[i - 1]) {
		case 'b': s[o++] = '\b'; break;
		case 'f': s[o++] = '\f'; break;
		case 'n': s[o++] = '\n'; break;
		case 'r': s[o++] = '\r'; break;
		case 't': s[o++] = '\t'; break;
		case 'u':
			c = hex4(s + i);
			i += 4;
			if (c >= 0xd800 && c < 0xdc00 && i + 6 <= n &&
			    s[i] == '\\' && s[i + 1] == 'u' &&
			    (lo = hex4(s + i + 2)) >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			} else if (c >= 0xd800 && c < 0xe000) {
				c = 0xfffd;   /* a lone surrogate */
			}
			o += put_utf8(s + o, c);
			break;
		default:      /* " \ / */
			s[o++] = s[i - 1];
		}
	}
	return o;
}

OA_PRIVATE const char *
oa__json_str(oa__json *j, int t, size_t *len)
{
	jsmntok_t *k;

	if (oa__json_type(j, t) != OA__JSON_STRING) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	k = (jsmntok_t *)j->tok + t;
	if (!j->done[t]) {
		k->end = k->start + (int)unescape(j->src + k->start,
		                                  (size_t)(k->end - k->start));
		j->src[k->end] = '\0';
		j->done[t] = 1;
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
	unsigned long long v = 0, max = LLONG_MAX, d;
	int over = 0;
	size_t n, i = 0;
	const char *s;

	if (oa__json_type(j, t) != OA__JSON_NUMBER)
		return OA_ERR_STREAM;
	s = oa__json_raw(j, t, &n);
	if (s[0] == '-') {
		max++;
		i++;
	}
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return OA_ERR_STREAM;   /* a fraction or exponent */
		d = (unsigned long long)(s[i] - '0');
		if (v > (max - d) / 10)
			over = 1;
		else
			v = v * 10 + d;
	}
	if (over)
		return OA_ERR_LIMIT;
	/* -(v - 1) - 1 reaches LLONG_MIN without overflowing */
	*out = s[0] != '-' ? (long long)v : v ? -(long long)(v - 1) - 1 : 0;
	return 0;
}

OA_PRIVATE int
oa__json_double(const oa__json *j, int t, double *out)
{
	const jsmntok_t *k = token(j, t);
	char tmp[512];
	size_t n;

	if (oa__json_type(j, t) != OA__JSON_NUMBER)
		return OA_ERR_STREAM;
	/* Inside the text a number is followed by a delimiter strtod stops
	 * at; at the very end of the text it is copied so strtod does not
	 * read past it. */
	if ((size_t)k->end < j->len) {
		*out = strtod(j->src + k->start, NULL);
		return 0;
	}
	n = (size_t)(k->end - k->start);
	if (n >= sizeof tmp)
		return OA_ERR_LIMIT;
	memcpy(tmp, j->src + k->start, n);
	tmp[n] = '\0';
	*out = strtod(tmp, NULL);
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
	static const char hex[] = "0123456789abcdef";
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
	size_t i = 0, run;
	unsigned char c;

	oa__buf_append(b, "\"", 1);
	for (;;) {
		for (run = i; run < n; run++) {
			c = (unsigned char)s[run];
			if (c < 0x20 || c == '"' || c == '\\')
				break;
		}
		oa__buf_append(b, s + i, run - i);
		if (run == n)
			break;
		c = (unsigned char)s[run];
		switch (c) {
		case '"':  esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:   esc[1] = 'u';
		}
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 15];
		oa__buf_append(b, esc, esc[1] == 'u' ? 6 : 2);
		i = run + 1;
	}
	oa__buf_append(b, "\"", 1);
}
