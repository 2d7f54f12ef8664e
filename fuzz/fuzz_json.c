/*
 * fuzz_json.c -- the JSON reader (json.c) against arbitrary bytes.
 *
 * Input: byte 0 picks the token limit (0: the default) and, with its top
 * bit set, a depth limit of 1 to 8 from its low bits (else the default);
 * the rest is the text, in an allocation of exactly its size. Three
 * oracles:
 *   - a small recursive-descent validator, written from RFC 8259, must
 *     agree with oa__json_parse on what is JSON (unless the token limit
 *     stopped the parse), and on whether a JSON text nests deeper than
 *     the depth limit;
 *   - every look-up on every token of a parsed text stays in bounds, and
 *     unescaping a string twice gives the same bytes;
 *   - every string, written back with oa__json_put_str and parsed again,
 *     reads back as the same bytes;
 *   - parsed again after the text (same, one byte changed, cut short),
 *     the oa__json that reuses its last parse gives what a fresh one
 *     gives: result, message and every token.
 */
#include "../util.c"
#include "../json.c"
#include "../jsonreuse.c"

/* The reuse module only: the oa__json under test resumes parses. */
const struct oa__modules oa__modules = {.json_reuse = oa__json_reuse};

#define FUZZ_NAME "json"
#include "fuzz.h"

/* ------------------------------------------------------------ reference */

static const char *ref_value(const char *s, const char *e, int depth);
static int ref_deepest;   /* levels of the deepest container opened */

static const char *
ref_ws(const char *s, const char *e)
{
	while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++;
	return s;
}

static int
ref_hex(char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static const char *
ref_string(const char *s, const char *e)
{
	int i;

	for (s++; s < e; s++) {
		if (*s == '"')
			return s + 1;
		if ((unsigned char)*s < 0x20)
			return NULL;
		if (*s != '\\')
			continue;
		if (++s == e)
			return NULL;
		if (*s == 'u') {
			for (i = 1; i <= 4; i++)
				if (s + i >= e || !ref_hex(s[i]))
					return NULL;
			s += 4;
		} else if (strchr("\"\\/bfnrt", *s) == NULL || *s == '\0') {
			return NULL;
		}
	}
	return NULL;
}

static const char *
ref_digits(const char *s, const char *e)
{
	const char *d = s;

	while (s < e && *s >= '0' && *s <= '9')
		s++;
	return s > d ? s : NULL;
}

static const char *
ref_number(const char *s, const char *e)
{
	if (s < e && *s == '-')
		s++;
	if (s < e && *s == '0')
		s++;
	else if ((s = ref_digits(s, e)) == NULL)
		return NULL;
	if (s < e && *s == '.' && (s = ref_digits(s + 1, e)) == NULL)
		return NULL;
	if (s < e && (*s == 'e' || *s == 'E')) {
		s++;
		if (s < e && (*s == '+' || *s == '-'))
			s++;
		s = ref_digits(s, e);
	}
	return s;
}

static const char *
ref_items(const char *s, const char *e, char close, int depth)
{
	if (depth + 1 > ref_deepest)
		ref_deepest = depth + 1;
	s = ref_ws(s + 1, e);
	if (s < e && *s == close)
		return s + 1;
	for (;;) {
		if (close == '}') {
			if (s == e || *s != '"' || (s = ref_string(s, e)) == NULL)
				return NULL;
			s = ref_ws(s, e);
			if (s == e || *s != ':')
				return NULL;
			s++;
		}
		if ((s = ref_value(s, e, depth + 1)) == NULL)
			return NULL;
		if (s < e && *s == close)
			return s + 1;
		if (s == e || *s != ',')
			return NULL;
		s = ref_ws(s + 1, e);
	}
}

/* One value with the whitespace around it; the end of it, or NULL. */
static const char *
ref_value(const char *s, const char *e, int depth)
{
	static const char *const lit[] = { "true", "false", "null" };
	size_t i, n;

	if (depth > 10000)
		return NULL;
	s = ref_ws(s, e);
	if (s == e)
		return NULL;
	if (*s == '{' || *s == '[')
		s = ref_items(s, e, *s == '{' ? '}' : ']', depth);
	else if (*s == '"')
		s = ref_string(s, e);
	else if (*s == '-' || (*s >= '0' && *s <= '9'))
		s = ref_number(s, e);
	else {
		for (i = 0; i < 3; i++) {
			n = strlen(lit[i]);
			if ((size_t)(e - s) >= n && memcmp(s, lit[i], n) == 0)
				break;
		}
		if (i == 3)
			return NULL;
		s += n;
	}
	return s ? ref_ws(s, e) : NULL;
}

/* ---------------------------------------------------------------- walk */

/* A string read back through put_str and a second parse. */
static void
roundtrip(const char *s, size_t n)
{
	oa__buf b = { 0 };
	oa__json j = { 0 };
	const char *v;
	size_t vn;

	oa__json_put_str(&b, s, n);
	FUZZ_CHECK(b.err == 0);
	FUZZ_CHECK(oa__json_parse(&j, b.p, b.len, NULL) == 0);
	v = oa__json_str(&j, 0, &vn);
	FUZZ_CHECK(v != NULL && vn == n && memcmp(v, s, n) == 0);
	oa__json_free(&j);
	oa__buf_free(&b);
}

static void
walk(oa__json *j, int t)
{
	const char *s, *s2;
	size_t n, n2;
	long long i;
	double d;
	int k, c, at;

	switch (oa__json_type(j, t)) {
	case OA__JSON_OBJECT:
		/* raw text first: unescaping rewrites bytes inside it */
		FUZZ_CHECK(oa__json_raw(j, t, &n) != NULL && n >= 2);
		c = 0;
		for (k = oa__json_first(j, t); k >= 0;
		     k = oa__json_next(j, k + 1), c++) {
			FUZZ_CHECK(oa__json_type(j, k) == OA__JSON_STRING);
			at = oa__json_get(j, t, "id");
			FUZZ_CHECK(at == -1 ||
			           oa__json_type(j, at) != OA__JSON_NONE);
			walk(j, k);
			walk(j, k + 1);
		}
		FUZZ_CHECK(c == oa__json_count(j, t));
		FUZZ_CHECK(oa__json_at(j, t, 0) == -1);
		break;
	case OA__JSON_ARRAY:
		FUZZ_CHECK(oa__json_raw(j, t, &n) != NULL && n >= 2);
		c = 0;
		for (k = oa__json_first(j, t); k >= 0;
		     k = oa__json_next(j, k), c++) {
			at = oa__json_at(j, t, c);
			FUZZ_CHECK(at == k);
			walk(j, k);
		}
		FUZZ_CHECK(c == oa__json_count(j, t));
		FUZZ_CHECK(oa__json_at(j, t, c) == -1);
		FUZZ_CHECK(oa__json_get(j, t, "a") == -1);
		break;
	case OA__JSON_STRING:
		s = oa__json_str(j, t, &n);
		FUZZ_CHECK(s != NULL && s[n] == '\0');
		s2 = oa__json_str(j, t, &n2);
		FUZZ_CHECK(s2 == s && n2 == n);
		s2 = oa__json_raw(j, t, &n2);
		FUZZ_CHECK(s2 == s && n2 == n);
		roundtrip(s, n);
		oa__json_eq(j, t, "a");
		break;
	case OA__JSON_NUMBER:
		i = 0;
		c = oa__json_int(j, t, &i);
		FUZZ_CHECK(c == 0 || c == OA_ERR_STREAM || c == OA_ERR_LIMIT);
		c = oa__json_double(j, t, &d);
		FUZZ_CHECK(c == 0 || c == OA_ERR_LIMIT);
		FUZZ_CHECK(oa__json_str(j, t, &n) == NULL && n == 0);
		break;
	case OA__JSON_TRUE:
	case OA__JSON_FALSE:
		FUZZ_CHECK(oa__json_bool(j, t) == (oa__json_type(j, t) ==
		                                    OA__JSON_TRUE));
		break;
	case OA__JSON_NULL:
		FUZZ_CHECK(oa__json_bool(j, t) == -1);
		break;
	default:
		FUZZ_CHECK(0);
	}
}

/* Parse text[0..n) into j, which holds an earlier parse, and into a
 * fresh oa__json: the same in every respect. */
static void
reparse(oa__json *j, const char *text, size_t n)
{
	char *s1 = malloc(n + 1), *s2 = malloc(n + 1);
	char e1[OA__ERRLEN] = "", e2[OA__ERRLEN] = "";
	const jsmntok_t *x, *y;
	oa__json f = { 0 };
	int r1, r2, i;

	FUZZ_CHECK(s1 != NULL && s2 != NULL);
	memcpy(s1, text, n);
	memcpy(s2, text, n);
	f.alloc = j->alloc;
	f.max_tokens = j->max_tokens;
	f.max_depth = j->max_depth;
	r1 = oa__json_parse(j, s1, n, e1);
	r2 = oa__json_parse(&f, s2, n, e2);
	FUZZ_CHECK(r1 == r2 && strcmp(e1, e2) == 0 && j->ntok == f.ntok);
	for (i = 0; r1 == 0 && i < j->ntok; i++) {
		x = (const jsmntok_t *)j->tok + i;
		y = (const jsmntok_t *)f.tok + i;
		FUZZ_CHECK(x->type == y->type && x->start == y->start &&
		           x->end == y->end && x->size == y->size &&
		           x->parent == y->parent && j->next[i] == f.next[i]);
	}
	if (r1 == 0)
		walk(j, 0);   /* unescapes: the next reuse must notice */
	oa__json_free(&f);
	free(s1);
	free(s2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fuzz_heap heap;
	oa_allocator a = fuzz_allocator(&heap);
	unsigned limit = fuzz_byte(&in);
	char *s = fuzz_copy(&in), err[OA__ERRLEN] = "";
	const char *end;
	oa__json j = { 0 };
	int r, ok, depth = limit & 0x80 ? (int)(limit & 7) + 1
	                                : OA_MAX_JSON_DEPTH;

	j.alloc = &a;
	j.max_tokens = limit;
	j.max_depth = (size_t)depth;
	char *orig = s ? malloc(in.n + 1) : NULL;
	size_t k;

	if (orig != NULL)
		memcpy(orig, s, in.n);
	/* the reference reads s before the parse unescapes anything */
	ref_deepest = 0;
	end = s ? ref_value(s, s + in.n, 0) : NULL;
	ok = s != NULL && end == s + in.n;
	r = oa__json_parse(&j, s ? s : (char *)"", in.n, err);
	FUZZ_CHECK(r == 0 || err[0] != '\0');
	if (r == OA_ERR_LIMIT && strstr(err, "max_json_depth") != NULL) {
		/* a JSON text is refused for depth only when it is too deep */
		FUZZ_CHECK(!ok || ref_deepest > depth);
	} else if (r == OA_ERR_LIMIT) {
		FUZZ_CHECK(strstr(err, "tokens") != NULL);
	} else {
		FUZZ_CHECK(r == (ok ? 0 : OA_ERR_STREAM));
		FUZZ_CHECK(!ok || ref_deepest <= depth);
	}
	FUZZ_CHECK(oa__json_type(&j, -1) == OA__JSON_NONE);
	FUZZ_CHECK(oa__json_type(&j, j.ntok) == OA__JSON_NONE);
	if (r == 0)
		walk(&j, 0);
	if (orig != NULL) {
		reparse(&j, orig, in.n);
		k = in.n ? ((unsigned char)orig[in.n - 1] * 131u + limit) % in.n
		         : 0;
		if (in.n)
			orig[k] = "0\"[]{},: a\\"[limit % 11];
		reparse(&j, orig, in.n);
		reparse(&j, orig, k);
		free(orig);
	}
	oa__json_free(&j);
	FUZZ_CHECK(heap.live == 0);
	free(s);
	return 0;
}
