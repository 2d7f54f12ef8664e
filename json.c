/*
 * json.c -- reading JSON where it lies, and writing JSON strings.
 *
 * Reading. jsmn cuts the text into tokens (type, start, end, size, parent)
 * kept in one array that belongs to the oa__json and is reused by every
 * parse: once it has grown to fit, parsing same-shaped documents allocates
 * nothing. jsmn is lax even in strict mode -- it takes "[1,]", "[1 2]",
 * "{}{}", "tru", "01" and raw control bytes in strings -- so the text is
 * checked first, in one pass that also counts the tokens and finds where
 * each subtree ends (see json_validate()); jsmn only ever sees valid JSON,
 * in a token array of the right size. Both start where the text stops
 * matching the last one parsed, when it does (see "reuse").
 *
 * A lone top-level literal ("1", "true") never reaches jsmn: in strict
 * mode jsmn wants a delimiter after a literal, and there is none at the
 * end of the input, so its token is made here.
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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oa_private.h"

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#define FIRST_TOKENS 64

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

	if (at < j->len && j->src[at] == '\0')
		what = "NUL byte";   /* jsmn would stop there: say why */

	if (at >= j->len)
		return oa__fail(err, OA_ERR_STREAM,
		                "invalid JSON: %s at byte %zu (the end)", what,
		                at);
	oa__quote(q, sizeof q, j->src + at, j->len - at, 16);
	return oa__fail(err, OA_ERR_STREAM, "invalid JSON: %s at byte %zu: %s",
	                what, at, q);
}

/* Grow the token array (and its done bytes and next links) toward
 * limit. */
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
	p = oa__realloc(j->alloc, j->next, cap * sizeof(int));
	if (p == NULL)
		return oa__fail(err, OA_ERR_NOMEM, "out of memory");
	j->next = p;
	j->cap = (unsigned)cap;
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

/* Byte classes, one table look-up per byte on the hot path. */
enum {
	J_PLAIN = 1,   /* a string holds it as it is: not '"', '\\', < 0x20 */
	J_WS = 2,      /* whitespace */
	J_DELIM = 4    /* ends a literal: whitespace , ] } */
};
static const unsigned char json_cls[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 6, 0, 0, 6, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	7, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 5, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

#define JSON_ONES ((uint64_t)-1 / 255)   /* 0x0101...01 */
#define JSON_HIGHS (JSON_ONES * 0x80)

/* The high bit of each byte of x that is not J_PLAIN, and maybe of bytes
 * after such a byte: (x - ONES * k) & ~x & HIGHS marks the bytes below k
 * (k <= 0x80), and a borrow can only mark more bytes after a true one.
 * So the lowest mark is exact, and no mark means all eight are plain. */
static uint64_t
json_stops(uint64_t x)
{
	uint64_t q = x ^ (JSON_ONES * '"'), b = x ^ (JSON_ONES * '\\');

	return (((x - JSON_ONES * 0x20) & ~x) | ((q - JSON_ONES) & ~q) |
	        ((b - JSON_ONES) & ~b)) & JSON_HIGHS;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* The first byte of the eight loaded is the lowest. */
#define JSON_FIRST_STOP(m) ((size_t)__builtin_ctzll(m) / 8)
#endif

/* The index of the first byte at or after i that is not J_PLAIN, or n. */
static size_t
json_plain_run(const unsigned char *s, size_t i, size_t n)
{
	uint64_t x, m;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, s + i, 8);
		if ((m = json_stops(x)) != 0) {
#ifdef JSON_FIRST_STOP
			return i + JSON_FIRST_STOP(m);
#else
			break;
#endif
		}
	}
	while (i < n && (json_cls[s[i]] & J_PLAIN))
		i++;
	return i;
}

static int
json_is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') ||
	       ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* The string whose quote is at *at; *at moves past its closing quote. */
static int
json_string(const oa__json *j, size_t *at, char *err)
{
	const unsigned char *s = (const unsigned char *)j->src;
	size_t i = *at + 1, n = j->len, k;

	for (;;) {
		i = json_plain_run(s, i, n);
		if (i == n)
			return bad(j, *at, "unterminated value", err);
		if (s[i] == '"')
			break;
		if (s[i] != '\\')
			return bad(j, i, "control character in a string", err);
		if (i + 1 == n)
			return bad(j, *at, "unterminated value", err);
		if (s[i + 1] == 'u') {
			for (k = 2; k < 6; k++) {
				if (i + k >= n)
					return bad(j, *at, "unterminated value",
					           err);
				if (!json_is_hex(s[i + k]))
					return bad(j, *at, "bad escape in "
					           "string", err);
			}
			i += 6;
		} else if (strchr("\"\\/bfnrt", s[i + 1]) != NULL &&
		           s[i + 1] != '\0') {
			i += 2;
		} else {
			return bad(j, *at, "bad escape in string", err);
		}
	}
	*at = i + 1;
	return 0;
}

#define JSON_SKIP_WS()                                                       \
	while (i < n && (json_cls[s[i]] & J_WS))                             \
		i++

/* Where the check starts: at byte i, before token nt, inside container
 * open (an object if obj; -1: none) depth levels deep, where a key is
 * due if key. All zero but open = -1: the start of the text. */
struct json_at {
	size_t i, depth;
	int nt, open, obj, key;
};

/* The number of tokens, or an OA_ERR_* code. The labels are the three
 * things the text may hold next: a value, an object's key, or what
 * follows a value (',', a closing bracket, or the end). */
static int
json_validate(oa__json *j, const struct json_at *at, size_t limit,
              size_t max_depth, char *err)
{
	const unsigned char *s = (const unsigned char *)j->src;
	size_t n = j->len, i = at->i, start, depth = at->depth;
	size_t comma = (size_t)-1;
	int nt = at->nt, open = at->open, obj = at->obj, r, up;
	unsigned char c;

	if (at->key)
		goto key;
value:
	JSON_SKIP_WS();
	if (i == n)
		return bad(j, i, open < 0 ? "no value" : "unterminated value",
		           err);
	c = s[i];
	if (c == ']' || c == '}')   /* after a ',' (or a ':') */
		return bad(j, comma != (size_t)-1 ? comma : i,
		           "unexpected character", err);
	if (nt == (int)j->cap && (r = grow(j, limit, err)) != 0)
		return r;
	j->done[nt] = 0;
	if (c == '[' || c == '{') {
		if (++depth > max_depth)
			return oa__fail(err, OA_ERR_LIMIT, "JSON text nested "
			                "deeper than %zu levels at byte %zu (the "
			                "max_json_depth limit)", max_depth, i);
		j->next[nt] = (open + 1) * 2 + obj;
		obj = c == '{';
		open = nt++;
		i++;
		JSON_SKIP_WS();
		if (i < n && s[i] == (obj ? '}' : ']'))
			goto close;
		comma = (size_t)-1;
		if (obj)
			goto key;
		goto value;
	}
	j->next[nt] = nt + 1;
	nt++;
	if (c == '"') {
		if ((r = json_string(j, &i, err)) != 0)
			return r;
		goto after;
	}
	for (start = i; i < n && !(json_cls[s[i]] & J_DELIM); i++)
		;
	if (i == n && open >= 0)
		return bad(j, start, "unterminated value", err);
	if (!literal_ok(j->src + start, i - start))
		return bad(j, start, c && strchr("-0123456789tfn", c) ?
		           "invalid literal" : "unexpected character", err);
	goto after;

key:
	JSON_SKIP_WS();
	if (i == n)
		return bad(j, i, "unterminated value", err);
	if (s[i] != '"')
		return bad(j, s[i] == '}' && comma != (size_t)-1 ? comma : i,
		           "unexpected character", err);
	if (nt == (int)j->cap && (r = grow(j, limit, err)) != 0)
		return r;
	j->done[nt] = 0;
	j->next[nt] = nt + 1;
	nt++;
	if ((r = json_string(j, &i, err)) != 0)
		return r;
	start = i;
	JSON_SKIP_WS();
	if (i < n && s[i] == ':') {
		i++;
		comma = (size_t)-1;
		goto value;
	}
	if (i < n && s[i] == '}')
		return bad(j, start, "key without a value", err);
	return bad(j, i, i == n ? "unterminated value" : "expected ':'", err);

after:
	JSON_SKIP_WS();
	if (open < 0)
		return i == n ? nt : bad(j, i, "more data after the value",
		                         err);
	if (i == n)
		return bad(j, i, "unterminated value", err);
	if (s[i] == ',') {
		comma = i++;
		if (obj)
			goto key;
		goto value;
	}
	if (s[i] != (obj ? '}' : ']'))
		return bad(j, i, "expected ','", err);
close:
	i++;
	up = j->next[open];
	j->next[open] = nt;
	open = up / 2 - 1;
	obj = up & 1;
	depth--;
	goto after;
}

/* ------------------------------------------------------------ reuse */

/*
 * Events of one stream mostly repeat the one before up to the delta:
 * {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,
 * "model":"m","choices":[{"index":0,"delta":{"content":" the"}}]}.
 * The first SEEN_MAX bytes of the last text parsed are kept; the next
 * parse finds the last token that starts before the first byte that
 * differs, puts the tokens back as they were when that token started
 * (its ancestors open again, their sizes counted anew), and the check
 * and jsmn resume there. Everything before that point depends on those
 * bytes only, which are the same, so tokens, verdict and messages are
 * what a parse from the start gives (fuzz_json compares the two).
 */
#define SEEN_MAX 1024

struct json_seen {
	size_t n;              /* bytes kept; 0: nothing to reuse */
	size_t limit, depth;   /* the limits that parse ran under */
	int ntok;              /* its tokens */
	int moved;             /* the first string unescaped shorter */
	int last;              /* the token it resumed at (0: none) */
	char text[SEEN_MAX];
};

/* The first index where a[0..n) and b[0..n) differ, or n. */
static size_t
json_same(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			break;
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* The first byte of token t: a string's opening quote. */
static size_t
json_first_byte(const jsmntok_t *k)
{
	return (size_t)k->start - (k->type == JSMN_STRING);
}

/* Set tokens and next[] back to how they stood when token t (> 0) was
 * about to be made; fill at and jsmn's parser for going on from there. */
static void
json_rewind(oa__json *j, int t, struct json_at *at, jsmn_parser *p)
{
	jsmntok_t *tok = j->tok;
	int a, c, k, below = -1;

	memset(at, 0, sizeof *at);
	at->open = -1;
	at->i = json_first_byte(tok + t);
	at->nt = t;
	at->key = tok[t].parent >= 0 && tok[tok[t].parent].type == JSMN_OBJECT;
	/* sizes first: counting children hops with next[], which the
	 * second walk turns back into links for the open levels */
	for (a = tok[t].parent; a >= 0; a = tok[a].parent) {
		if (tok[a].type == JSMN_STRING) {   /* a key: ended */
			tok[a].size = a + 1 < t;   /* its value made yet */
			continue;
		}
		tok[a].end = -1;
		for (c = a + 1, k = 0; c < t; k++)
			c = j->next[tok[a].type == JSMN_OBJECT ? c + 1 : c];
		tok[a].size = k;
	}
	for (a = tok[t].parent; a >= 0; a = tok[a].parent) {
		if (tok[a].type == JSMN_STRING)
			continue;
		if (below >= 0)
			j->next[below] = (a + 1) * 2 +
			                 (tok[a].type == JSMN_OBJECT);
		else {
			at->open = a;
			at->obj = tok[a].type == JSMN_OBJECT;
		}
		below = a;
		at->depth++;
	}
	if (below >= 0)
		j->next[below] = 0;
	memset(j->done, 0, (size_t)t);
	jsmn_init(p);
	p->pos = (unsigned)at->i;
	p->toknext = (unsigned)t;
	p->toksuper = tok[t].parent;
}

/* Keep the first bytes of src for the next parse; returns the last token
 * of the previous parse that starts before they differ (0: none). */
static int
json_reuse(oa__json *j, size_t limit, size_t depth)
{
	struct json_seen *c = j->seen;
	const jsmntok_t *tok = j->tok;
	size_t n = j->len < SEEN_MAX ? j->len : SEEN_MAX, same = 0, at, next;
	size_t was = c->n;
	int lo = 0, hi = 0, mid, t = 0;

	/* tokens up to hi may be reused: those of the last parse, up to
	 * the first string unescaped shorter since */
	if (c->n > 0 && c->limit == limit && c->depth == depth)
		hi = c->ntok <= c->moved ? c->ntok : c->moved + 1;
	c->n = 0;
	c->limit = limit;
	c->depth = depth;
	/* Most often the token the last parse resumed at serves again: one
	 * memcmp up to it, then on to each next token while the bytes up to
	 * it match, instead of comparing the texts from the start. */
	if (c->last > 0 && c->last < hi &&
	    (at = json_first_byte(tok + c->last)) < n && at < was &&
	    memcmp(c->text, j->src, at + 1) == 0) {
		t = c->last;
		while (t + 1 < hi && (next = json_first_byte(tok + t + 1)) < n &&
		       next < was && memcmp(c->text + at + 1, j->src + at + 1,
		                            next - at) == 0) {
			t++;
			at = next;
		}
		memcpy(c->text + at + 1, j->src + at + 1, n - at - 1);
		c->last = t;
		return t;
	}
	if (hi > 0)
		same = json_same(c->text, j->src, n < was ? n : was);
	memcpy(c->text + same, j->src + same, n - same);
	/* the last token with its first byte before same */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (json_first_byte(tok + mid) < same)
			lo = mid;
		else
			hi = mid;
	}
	if (hi > 0)
		t = lo;
	c->last = t;
	return t;
}

/* ---------------------------------------------------------------- parsing */

OA_PRIVATE int
oa__json_parse(oa__json *j, char *src, size_t len, char *err)
{
	size_t limit = j->max_tokens ? j->max_tokens : OA_MAX_JSON_TOKENS;
	size_t depth = j->max_depth ? j->max_depth : OA_MAX_JSON_DEPTH;
	struct json_seen *seen;
	struct json_at at;
	jsmntok_t *tok;
	jsmn_parser p;
	size_t s, e;
	int n, r, t = 0;

	j->src = src;
	j->len = len;
	if (len > INT_MAX) {   /* jsmn's offsets are int */
		j->ntok = 0;
		return oa__fail(err, OA_ERR_LIMIT, "JSON text of %zu bytes is "
		                "too long to parse", len);
	}
	if (limit > INT_MAX)
		limit = INT_MAX;
	if (j->seen == NULL) {
		if ((j->seen = oa__realloc(j->alloc, NULL, sizeof *seen)) ==
		    NULL) {
			j->ntok = 0;
			return oa__fail(err, OA_ERR_NOMEM, "out of memory");
		}
		((struct json_seen *)j->seen)->n = 0;
		((struct json_seen *)j->seen)->last = 0;
	}
	seen = j->seen;
	if (j->ntok > 0)
		seen->ntok = j->ntok;
	else
		seen->n = 0;
	j->ntok = 0;
	t = json_reuse(j, limit, depth);
	if (t > 0) {
		json_rewind(j, t, &at, &p);
	} else {
		memset(&at, 0, sizeof at);
		at.open = -1;
		jsmn_init(&p);
	}
	n = json_validate(j, &at, limit, depth, err);
	if (n < 0)
		return n;
	for (s = 0; is_ws(src[s]); s++)
		;
	if (src[s] == '{' || src[s] == '[' || src[s] == '"') {
		r = jsmn_parse(&p, src, len, j->tok, (unsigned)n);
		if (r != n)   /* cannot be: the text was checked */
			return bad(j, p.pos, "unexpected character", err);
	} else {
		/* jsmn's strict mode wants a delimiter after a literal,
		 * and there is none at the end of the text */
		for (e = s; e < len && !is_ws(src[e]); e++)
			;
		tok = j->tok;
		tok->type = JSMN_PRIMITIVE;
		tok->start = (int)s;
		tok->end = (int)e;
		tok->size = 0;
		tok->parent = -1;
	}
	j->ntok = n;
	seen->n = len < SEEN_MAX ? len : SEEN_MAX;
	seen->moved = n;
	return 0;
}

OA_PRIVATE void
oa__json_free(oa__json *j)
{
	oa__free(j->alloc, j->tok);
	oa__free(j->alloc, j->done);
	oa__free(j->alloc, j->next);
	oa__free(j->alloc, j->seen);
	j->seen = NULL;
	j->tok = NULL;
	j->done = NULL;
	j->next = NULL;
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

/* The token after t's subtree, if it lies within t's container: O(1). */
OA_PRIVATE int
oa__json_next(const oa__json *j, int t)
{
	int c;

	if (token(j, t) == NULL)
		return -1;
	c = container(j->tok, t);
	return j->next[t] < (c < 0 ? j->ntok : j->next[c]) ? j->next[t] : -1;
}

/* Keys i and their values i + 1 alternate up to the end of t's subtree;
 * next[] hops over each value's. A key's first byte is compared first,
 * and the rest only then, without measuring key beforehand. */
OA_PRIVATE int
oa__json_get(const oa__json *j, int t, const char *key)
{
	const jsmntok_t *tok = j->tok, *k;
	const char *s;
	size_t n, m;
	int i, end;

	if (t < 0 || t >= j->ntok || tok[t].type != JSMN_OBJECT)
		return -1;
	end = j->next[t];
	for (i = t + 1; i < end; i = j->next[i + 1]) {
		k = tok + i;
		s = j->src + k->start;
		n = (size_t)(k->end - k->start);
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
	size_t n;

	if (oa__json_type(j, t) != OA__JSON_STRING) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	k = (jsmntok_t *)j->tok + t;
	if (!j->done[t]) {
		n = unescape(j->src + k->start, (size_t)(k->end - k->start));
		if (k->start + (int)n != k->end && j->seen != NULL &&
		    t < ((struct json_seen *)j->seen)->moved)
			((struct json_seen *)j->seen)->moved = t;
		k->end = k->start + (int)n;
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
	/* Inside the text a number is followed by a delimiter strtod json_stops
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
