/*
 * test_json.c -- json.c: parsing, validation, look-ups, unescaping,
 * numbers, the token limit, token-array reuse and the string writer.
 *
 * Every input is copied into a malloc'd block of exactly its length, so
 * AddressSanitizer catches any read past the end.
 */
#include <limits.h>

#include "oa_private.h"
#include "test.h"

static char *doc;               /* the current input, exactly its length */
static char err[OA__ERRLEN];
static oa__json J;              /* zeroed: the C library's allocator */

static int
parse_n(oa__json *j, const char *text, size_t n)
{
	free(doc);
	doc = malloc(n ? n : 1);
	if (n)
		memcpy(doc, text, n);
	err[0] = '\0';
	return oa__json_parse(j, doc, n, err);
}

static int
parse(oa__json *j, const char *text)
{
	return parse_n(j, text, strlen(text));
}

/* The value of string token t equals want[0..n). */
static int
str_is(oa__json *j, int t, const char *want, size_t n)
{
	size_t len = (size_t)-1;
	const char *s = oa__json_str(j, t, &len);

	return s != NULL && len == n && memcmp(s, want, n) == 0 &&
	       s[len] == '\0';
}

/* A counting allocator over the C library's. */
struct counts {
	int calls;
	int fail_at;    /* fail the call with this number (1-based); 0 never */
};

static void *
count_malloc(void *ctx, size_t n)
{
	struct counts *c = ctx;

	return ++c->calls == c->fail_at ? NULL : malloc(n);
}

static void *
count_realloc(void *ctx, void *p, size_t n)
{
	struct counts *c = ctx;

	return ++c->calls == c->fail_at ? NULL : realloc(p, n);
}

static void
count_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

/* ------------------------------------------------------------ valid input */

static void
test_types(void)
{
	static const struct {
		const char *text;
		int type;
	} cases[] = {
		{ "{}", OA__JSON_OBJECT },
		{ " \t\r\n[] \n", OA__JSON_ARRAY },
		{ "\"s\"", OA__JSON_STRING },
		{ "\"\"", OA__JSON_STRING },
		{ "0", OA__JSON_NUMBER },
		{ "-0", OA__JSON_NUMBER },
		{ "1", OA__JSON_NUMBER },
		{ "-12.5e+3", OA__JSON_NUMBER },
		{ "1E-2", OA__JSON_NUMBER },
		{ "0.25", OA__JSON_NUMBER },
		{ " 7 ", OA__JSON_NUMBER },
		{ "true", OA__JSON_TRUE },
		{ "false", OA__JSON_FALSE },
		{ "null", OA__JSON_NULL },
		{ "\n null\n", OA__JSON_NULL },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_INT(parse(&J, cases[i].text), 0);
		CHECK_INT(J.ntok, 1);
		CHECK_INT(oa__json_type(&J, 0), cases[i].type);
		CHECK_INT(oa__json_type(&J, 1), OA__JSON_NONE);
	}
	CHECK_INT(parse(&J, "[1,\"a\",true,false,null,{},[],-2.5]"), 0);
	CHECK_INT(J.ntok, 9);
	CHECK_INT(oa__json_count(&J, 0), 8);
	CHECK_INT(oa__json_type(&J, oa__json_at(&J, 0, 0)), OA__JSON_NUMBER);
	CHECK_INT(oa__json_type(&J, oa__json_at(&J, 0, 1)), OA__JSON_STRING);
	CHECK_INT(oa__json_type(&J, oa__json_at(&J, 0, 2)), OA__JSON_TRUE);
	CHECK_INT(oa__json_type(&J, oa__json_at(&J, 0, 3)), OA__JSON_FALSE);
	CHECK_INT(oa__json_type(&J, oa__json_at(&J, 0, 4)), OA__JSON_NULL);
	CHECK_INT(oa__json_type(&J, oa__json_at(&J, 0, 5)), OA__JSON_OBJECT);
	CHECK_INT(oa__json_type(&J, oa__json_at(&J, 0, 6)), OA__JSON_ARRAY);
	CHECK_INT(oa__json_type(&J, oa__json_at(&J, 0, 7)), OA__JSON_NUMBER);
	CHECK_INT(oa__json_at(&J, 0, 8), -1);
	CHECK_INT(oa__json_bool(&J, oa__json_at(&J, 0, 2)), 1);
	CHECK_INT(oa__json_bool(&J, oa__json_at(&J, 0, 3)), 0);
	CHECK_INT(oa__json_bool(&J, oa__json_at(&J, 0, 4)), -1);
	CHECK_INT(oa__json_bool(&J, oa__json_at(&J, 0, 1)), -1);
	oa__json_free(&J);
}

static void
test_get_chained(void)
{
	const char *text = "{\"error\":{\"message\":\"boom\",\"code\":429,"
	                   "\"inner\":{\"k\":[10,20]}},\"a\":1,\"a\":2,"
	                   "\"e\\u0041\":3}";
	int e;

	CHECK_INT(parse(&J, text), 0);
	e = oa__json_get(&J, 0, "error");
	CHECK_INT(oa__json_type(&J, e), OA__JSON_OBJECT);
	CHECK_INT(oa__json_count(&J, e), 3);
	CHECK(oa__json_eq(&J, oa__json_get(&J, e, "message"), "boom"));
	CHECK_INT(oa__json_type(&J, oa__json_get(&J, e, "code")),
	          OA__JSON_NUMBER);
	CHECK_INT(oa__json_type(&J, oa__json_at(&J, oa__json_get(&J,
	          oa__json_get(&J, e, "inner"), "k"), 1)), OA__JSON_NUMBER);
	CHECK(oa__json_eq(&J, oa__json_get(&J, e, "message"), "boom"));
	/* the first match wins */
	{
		long long v = 0;
		CHECK_INT(oa__json_int(&J, oa__json_get(&J, 0, "a"), &v), 0);
		CHECK_INT(v, 1);
	}
	/* keys are compared as raw bytes */
	CHECK_INT(oa__json_get(&J, 0, "eA"), -1);
	CHECK(oa__json_get(&J, 0, "e\\u0041") > 0);
	/* absent values chain to absent values */
	CHECK_INT(oa__json_get(&J, 0, "nope"), -1);
	CHECK_INT(oa__json_get(&J, oa__json_get(&J, 0, "nope"), "message"), -1);
	CHECK_INT(oa__json_get(&J, oa__json_get(&J, e, "message"), "x"), -1);
	CHECK_INT(oa__json_type(&J, -1), OA__JSON_NONE);
	CHECK_INT(oa__json_count(&J, -1), 0);
	CHECK_INT(oa__json_first(&J, -1), -1);
	CHECK_INT(oa__json_next(&J, -1), -1);
	CHECK_INT(oa__json_at(&J, -1, 0), -1);
	CHECK(oa__json_str(&J, -1, NULL) == NULL);
	CHECK(oa__json_raw(&J, -1, NULL) == NULL);
	CHECK_INT(oa__json_bool(&J, -1), -1);
	CHECK(!oa__json_eq(&J, -1, ""));
	CHECK_INT(oa__json_type(&J, J.ntok), OA__JSON_NONE);
	/* the wrong kind of container */
	CHECK_INT(oa__json_at(&J, 0, 0), -1);
	CHECK_INT(oa__json_get(&J, oa__json_get(&J, oa__json_get(&J, e,
	          "inner"), "k"), "0"), -1);
	oa__json_free(&J);
}

static void
test_iterate(void)
{
	const char *text = "{\"a\":[1,[2,[3]],{\"x\":{\"y\":4}},\"s\"],"
	                   "\"b\":{\"c\":{\"d\":5},\"e\":[]},\"f\":{},\"g\":7}";
	static const char *keys[] = { "a", "b", "f", "g" };
	static const int types[] = { OA__JSON_NUMBER, OA__JSON_ARRAY,
	                             OA__JSON_OBJECT, OA__JSON_STRING };
	int k, n, a, b;
	size_t len;
	const char *s;

	CHECK_INT(parse(&J, text), 0);
	n = 0;
	for (k = oa__json_first(&J, 0); k >= 0; k = oa__json_next(&J, k + 1)) {
		CHECK(n < 4);
		s = oa__json_raw(&J, k, &len);
		CHECK_INT(len, 1);
		CHECK_INT(s[0], keys[n][0]);
		n++;
	}
	CHECK_INT(n, 4);
	a = oa__json_get(&J, 0, "a");
	CHECK_INT(oa__json_count(&J, a), 4);
	n = 0;
	for (k = oa__json_first(&J, a); k >= 0; k = oa__json_next(&J, k)) {
		CHECK(n < 4);
		CHECK_INT(oa__json_type(&J, k), types[n]);
		CHECK_INT(k, oa__json_at(&J, a, n));
		n++;
	}
	CHECK_INT(n, 4);
	/* a key's next token is its value */
	CHECK_INT(oa__json_next(&J, 1), 2);
	/* the last child has no next; nor has the root */
	CHECK_INT(oa__json_next(&J, oa__json_at(&J, a, 3)), -1);
	CHECK_INT(oa__json_next(&J, 0), -1);
	b = oa__json_get(&J, 0, "b");
	CHECK_INT(oa__json_count(&J, b), 2);
	CHECK_INT(oa__json_type(&J, oa__json_get(&J, oa__json_get(&J,
	          oa__json_get(&J, b, "c"), "d"), "z")), OA__JSON_NONE);
	s = oa__json_raw(&J, oa__json_get(&J, oa__json_get(&J, b, "c"), "d"),
	                 &len);
	CHECK_INT(len, 1);
	CHECK_INT(s[0], '5');
	CHECK_INT(oa__json_first(&J, oa__json_get(&J, 0, "f")), -1);
	CHECK_INT(oa__json_first(&J, oa__json_get(&J, b, "e")), -1);
	CHECK_INT(oa__json_count(&J, oa__json_get(&J, 0, "f")), 0);
	CHECK_INT(oa__json_first(&J, oa__json_get(&J, 0, "g")), -1);
	CHECK_INT(oa__json_count(&J, oa__json_get(&J, 0, "g")), 0);
	/* deep in the array: a[2].x.y */
	s = oa__json_raw(&J, oa__json_get(&J, oa__json_get(&J,
	                 oa__json_at(&J, a, 2), "x"), "y"), &len);
	CHECK_INT(len, 1);
	CHECK_INT(s[0], '4');
	oa__json_free(&J);
}

static void
test_raw(void)
{
	const char *text = " {\"k\" : [1, \"a\\nb\"] } ";
	size_t len;
	const char *s;

	CHECK_INT(parse(&J, text), 0);
	s = oa__json_raw(&J, 0, &len);
	CHECK_INT(len, 20);
	CHECK(memcmp(s, "{\"k\" : [1, \"a\\nb\"] }", len) == 0);
	s = oa__json_raw(&J, oa__json_get(&J, 0, "k"), &len);
	CHECK_INT(len, 11);
	CHECK(memcmp(s, "[1, \"a\\nb\"]", len) == 0);
	s = oa__json_raw(&J, 1, &len);
	CHECK_INT(len, 1);
	CHECK_INT(s[0], 'k');
	s = oa__json_raw(&J, 4, &len);      /* a string: no quotes, escaped */
	CHECK_INT(len, 4);
	CHECK(memcmp(s, "a\\nb", 4) == 0);
	oa__json_free(&J);
}

/* ---------------------------------------------------------------- strings */

static void
test_escapes(void)
{
	static const char want[] = "q\"b\\s/b\bf\fn\nr\rt\tA\xc3\xa9"
	                           "\xe2\x82\xac\x7f\x01";

	CHECK_INT(parse(&J, "\"q\\\"b\\\\s\\/b\\bf\\fn\\nr\\rt\\t\\u0041"
	                    "\\u00E9\\u20ac\\u007f\\u0001\""), 0);
	CHECK(str_is(&J, 0, want, sizeof want - 1));
	/* \u0000 stays a NUL inside the returned length */
	CHECK_INT(parse(&J, "[\"x\\u0000y\"]"), 0);
	CHECK(str_is(&J, 1, "x\0y", 3));
	/* two-byte and three-byte UTF-8 boundaries */
	CHECK_INT(parse(&J, "\"\\u0080\\u07ff\\u0800\\uffff\""), 0);
	CHECK(str_is(&J, 0, "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 10));
	/* raw UTF-8 and DEL pass through */
	CHECK_INT(parse(&J, "\"caf\xc3\xa9 \xf0\x9f\x98\x80\x7f\""), 0);
	CHECK(str_is(&J, 0, "caf\xc3\xa9 \xf0\x9f\x98\x80\x7f", 11));
	/* an empty string */
	CHECK_INT(parse(&J, "{\"\":\"\"}"), 0);
	CHECK(str_is(&J, 1, "", 0));
	CHECK(str_is(&J, 2, "", 0));
	CHECK_INT(oa__json_get(&J, 0, ""), 2);
	oa__json_free(&J);
}

static void
test_surrogates(void)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80" },
		{ "\"\\uD83D\\uDE00!\"", "\xf0\x9f\x98\x80!" },
		{ "\"\\ud800\\udc00\"", "\xf0\x90\x80\x80" },
		{ "\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf" },
		{ "\"\\ud83d\"", "\xef\xbf\xbd" },
		{ "\"\\ude00\"", "\xef\xbf\xbd" },
		{ "\"\\ud83dx\"", "\xef\xbf\xbdx" },
		{ "\"\\ud83d\\u0041\"", "\xef\xbf\xbd" "A" },
		{ "\"\\ude00\\ud83d\"", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\"\\ud83d\\ud83d\\ude00\"", "\xef\xbf\xbd\xf0\x9f\x98\x80" },
		{ "\"a\\ud83d\\n\"", "a\xef\xbf\xbd\n" },
		{ "\"\\ud83d\\ue000\"", "\xef\xbf\xbd\xee\x80\x80" },
		{ "\"\\udc00\\udc00\"", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\"\\ud7ff\"", "\xed\x9f\xbf" },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_INT(parse(&J, cases[i].text), 0);
		CHECK(str_is(&J, 0, cases[i].want, strlen(cases[i].want)));
	}
	oa__json_free(&J);
}

static void
test_str_twice(void)
{
	const char *s1, *s2;
	size_t n1, n2;
	int v;

	/* "\\n" unescapes to a backslash and an n; unescaping that again
	 * would give a newline */
	CHECK_INT(parse(&J, "{\"k\":\"\\\\n\\\\u0041\",\"p\":\"plain\"}"), 0);
	v = oa__json_get(&J, 0, "k");
	s1 = oa__json_str(&J, v, &n1);
	s2 = oa__json_str(&J, v, &n2);
	CHECK(s1 != NULL && s1 == s2);
	CHECK_INT(n1, 8);
	CHECK_INT(n2, 8);
	CHECK_STR(s2, "\\n\\u0041");
	CHECK(oa__json_eq(&J, v, "\\n\\u0041"));
	CHECK(str_is(&J, v, "\\n\\u0041", 8));
	/* a string with no escapes: the NUL replaces the closing quote */
	v = oa__json_get(&J, 0, "p");
	CHECK_STR(oa__json_str(&J, v, NULL), "plain");
	CHECK_STR(oa__json_str(&J, v, NULL), "plain");
	CHECK(oa__json_eq(&J, v, "plain"));
	CHECK(!oa__json_eq(&J, v, "plai"));
	CHECK(!oa__json_eq(&J, v, "plainer"));
	/* not strings */
	CHECK_INT(parse(&J, "[1,null]"), 0);
	CHECK(oa__json_str(&J, 1, &n1) == NULL);
	CHECK_INT(n1, 0);
	CHECK(!oa__json_eq(&J, 1, "1"));
	CHECK(!oa__json_eq(&J, 0, "[1,null]"));
	/* a new parse forgets which strings were unescaped */
	CHECK_INT(parse(&J, "[\"a\\tb\",\"c\"]"), 0);
	CHECK(str_is(&J, 1, "a\tb", 3));
	CHECK(str_is(&J, 2, "c", 1));
	CHECK_INT(parse(&J, "[\"x\\\\y\",\"z\"]"), 0);
	CHECK(str_is(&J, 1, "x\\y", 3));
	CHECK(str_is(&J, 1, "x\\y", 3));
	oa__json_free(&J);
}

/* ---------------------------------------------------------------- numbers */

static void
test_int(void)
{
	long long v;

	CHECK_INT(parse(&J, "9223372036854775807"), 0);
	v = 0;
	CHECK_INT(oa__json_int(&J, 0, &v), 0);
	CHECK(v == LLONG_MAX);
	CHECK_INT(parse(&J, "[-9223372036854775808]"), 0);
	v = 0;
	CHECK_INT(oa__json_int(&J, 1, &v), 0);
	CHECK(v == LLONG_MIN);
	CHECK_INT(parse(&J, "9223372036854775808"), 0);
	CHECK_INT(oa__json_int(&J, 0, &v), OA_ERR_LIMIT);
	CHECK_INT(parse(&J, "-9223372036854775809"), 0);
	CHECK_INT(oa__json_int(&J, 0, &v), OA_ERR_LIMIT);
	CHECK_INT(parse(&J, "123456789012345678901234567890"), 0);
	CHECK_INT(oa__json_int(&J, 0, &v), OA_ERR_LIMIT);
	CHECK_INT(parse(&J, "[0,-0,42,-7,1.0,1e2,-3E0,0.5,"
	                    "99999999999999999999.5,\"1\",true,null,[],{}]"), 0);
	CHECK_INT(oa__json_int(&J, 1, &v), 0);
	CHECK_INT(v, 0);
	CHECK_INT(oa__json_int(&J, 2, &v), 0);
	CHECK_INT(v, 0);
	CHECK_INT(oa__json_int(&J, 3, &v), 0);
	CHECK_INT(v, 42);
	CHECK_INT(oa__json_int(&J, 4, &v), 0);
	CHECK_INT(v, -7);
	v = 99;
	CHECK_INT(oa__json_int(&J, 5, &v), OA_ERR_STREAM);
	CHECK_INT(oa__json_int(&J, 6, &v), OA_ERR_STREAM);
	CHECK_INT(oa__json_int(&J, 7, &v), OA_ERR_STREAM);
	CHECK_INT(oa__json_int(&J, 8, &v), OA_ERR_STREAM);
	CHECK_INT(oa__json_int(&J, 9, &v), OA_ERR_STREAM);
	CHECK_INT(oa__json_int(&J, 10, &v), OA_ERR_STREAM);
	CHECK_INT(oa__json_int(&J, 11, &v), OA_ERR_STREAM);
	CHECK_INT(oa__json_int(&J, 12, &v), OA_ERR_STREAM);
	CHECK_INT(oa__json_int(&J, 13, &v), OA_ERR_STREAM);
	CHECK_INT(oa__json_int(&J, 14, &v), OA_ERR_STREAM);
	CHECK_INT(oa__json_int(&J, -1, &v), OA_ERR_STREAM);
	CHECK_INT(v, 99);
	oa__json_free(&J);
}

static void
test_double(void)
{
	char big[601];
	double d = 0;

	/* a number that ends the input (ASan watches the byte after it) */
	CHECK_INT(parse(&J, "1.5"), 0);
	CHECK_INT(oa__json_double(&J, 0, &d), 0);
	CHECK(d == 1.5);
	CHECK_INT(parse(&J, "-2"), 0);
	CHECK_INT(oa__json_double(&J, 0, &d), 0);
	CHECK(d == -2.0);
	CHECK_INT(parse(&J, "[1e3,-0.25,0,7E-1]"), 0);
	CHECK_INT(oa__json_double(&J, 1, &d), 0);
	CHECK(d == 1000.0);
	CHECK_INT(oa__json_double(&J, 2, &d), 0);
	CHECK(d == -0.25);
	CHECK_INT(oa__json_double(&J, 3, &d), 0);
	CHECK(d == 0.0);
	CHECK_INT(oa__json_double(&J, 4, &d), 0);
	CHECK(d == 0.7);
	CHECK_INT(parse(&J, "{\"t\":0.125}"), 0);
	CHECK_INT(oa__json_double(&J, 2, &d), 0);
	CHECK(d == 0.125);
	CHECK_INT(parse(&J, "[\"1\",true]"), 0);
	CHECK_INT(oa__json_double(&J, 1, &d), OA_ERR_STREAM);
	CHECK_INT(oa__json_double(&J, 2, &d), OA_ERR_STREAM);
	CHECK_INT(oa__json_double(&J, 0, &d), OA_ERR_STREAM);
	CHECK_INT(oa__json_double(&J, -1, &d), OA_ERR_STREAM);
	/* long numbers: inside the text, and ending it (copied, bounded) */
	memset(big, '0', sizeof big);
	memcpy(big, "[0.5", 4);   /* [0.5000...0] */
	big[600] = ']';
	CHECK_INT(parse_n(&J, big, 601), 0);
	CHECK_INT(oa__json_double(&J, 1, &d), 0);
	CHECK(d == 0.5);
	d = 0;
	CHECK_INT(parse_n(&J, big + 1, 511), 0);
	CHECK_INT(oa__json_double(&J, 0, &d), 0);
	CHECK(d == 0.5);
	CHECK_INT(parse_n(&J, big + 1, 512), 0);
	CHECK_INT(oa__json_double(&J, 0, &d), OA_ERR_LIMIT);
	oa__json_free(&J);
}

/* ---------------------------------------------------------------- errors */

static void
test_invalid(void)
{
	static const char *cases[] = {
		"", "   ", "\n\t",
		/* separators */
		"[1,]", "{\"a\":1,}", "[,1]", "[1,,2]", "[1 2]", "{,}",
		"{\"a\":1 \"b\":2}", "{\"a\":1,,\"b\":2}", "{\"a\" 1}",
		"{\"a\"}", "{\"a\":}", "{\"a\"::1}", "{:\"a\"}", "{\"a\",1}",
		"[1:2]", "[\"a\":1]", "\"a\":1", "{\"a\":[1]:2}", "[1,]  ",
		/* literals */
		"tru", "nul", "True", "NULL", "[undefined]", "[truex]",
		"[nulll]", "NaN", "Infinity", "-Infinity", "[nan]",
		"01", "[01]", "-01", "-", "[-]", "1.", "[1.]", ".5", "[.5]",
		"1e", "1e+", "[1E-]", "+1", "[+1]", "0x10", "1.5.2",
		"[1-2]", "[--1]", "1 2", "true false",
		/* quotes and strings */
		"'a'", "['a']", "{'a':1}", "\"abc", "[\"abc]", "\"a\x01b\"",
		"\"a\tb\"", "[\"\n\"]", "\"\x1f\"", "\"\\x\"", "\"\\u12\"",
		"\"\\u12g4\"", "\"\\U0041\"", "\"\\\"", "[\"a\\\"]", "\"\\",
		"\"a\" \"b\"",
		/* keys */
		"{1:2}", "{null:1}", "{true:1}", "{[]:1}", "{{}:1}", "{a:1}",
		/* brackets and trailing data */
		"[", "{", "[[]", "{\"a\":1", "]", "}", "[]]", "{}}", "[1}",
		"{]", "{}{}", "[][]", "{} x", "[1]x", "{},{}", "1,", "[1] ,",
		"\"s\"x", "x", "@", "[1]\x01",
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (parse(&J, cases[i]) != OA_ERR_STREAM) {
			fprintf(stderr, "accepted or wrong error: '%s'\n",
			        cases[i]);
			CHECK(0);
		}
		CHECK(err[0] != '\0');
		CHECK_INT(J.ntok, 0);
		CHECK_INT(oa__json_type(&J, 0), OA__JSON_NONE);
	}
	oa__json_free(&J);
}

static void
test_messages(void)
{
	CHECK_INT(parse(&J, "[1,]"), OA_ERR_STREAM);
	CHECK_STR(err, "invalid JSON: unexpected character at byte 2: ,]");
	CHECK_INT(parse(&J, "{\"a\":1 \"b\":2}"), OA_ERR_STREAM);
	CHECK_STR(err, "invalid JSON: expected ',' at byte 7: \"b\":2}");
	CHECK_INT(parse(&J, "[01]"), OA_ERR_STREAM);
	CHECK_HAS(err, "invalid literal at byte 1: 01]");
	CHECK_INT(parse(&J, "[\"ok\", \"a\x01\"]"), OA_ERR_STREAM);
	CHECK_HAS(err, "control character in a string at byte 9: \\x01\"]");
	CHECK_INT(parse(&J, "[\"a\\q\"]"), OA_ERR_STREAM);
	CHECK_HAS(err, "bad escape in string at byte 1");
	CHECK_INT(parse(&J, "{}{}"), OA_ERR_STREAM);
	CHECK_HAS(err, "more data after the value at byte 2");
	CHECK_INT(parse(&J, "{\"a\":1"), OA_ERR_STREAM);
	CHECK_HAS(err, "unterminated value at byte 5: 1");
	CHECK_INT(parse(&J, "[[1]"), OA_ERR_STREAM);
	CHECK_HAS(err, "unterminated value at byte 4 (the end)");
	CHECK_INT(parse(&J, "[\"abc"), OA_ERR_STREAM);
	CHECK_HAS(err, "unterminated value at byte 1: \"abc");
	CHECK_INT(parse(&J, "{\"a\"}"), OA_ERR_STREAM);
	CHECK_HAS(err, "key without a value at byte 4");
	CHECK_INT(parse(&J, " \n"), OA_ERR_STREAM);
	CHECK_HAS(err, "no value at byte 2");
	CHECK_INT(parse_n(&J, "[1,\0 2]", 6), OA_ERR_STREAM);
	CHECK_HAS(err, "NUL byte at byte 3");
	CHECK_INT(parse_n(&J, "\"a\0\"", 4), OA_ERR_STREAM);
	CHECK_HAS(err, "NUL byte at byte 2");
	/* a long input is quoted only in part */
	CHECK_INT(parse(&J, "[1,,\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]"),
	          OA_ERR_STREAM);
	CHECK_STR(err, "invalid JSON: unexpected character at byte 3: "
	               ",\"aaaaaaaaaaaaaa...");
	oa__json_free(&J);
}

static void
test_too_long(void)
{
	char small[2] = "1";

	/* rejected before a byte is read, so the tiny buffer is safe */
	err[0] = '\0';
	CHECK_INT(oa__json_parse(&J, small, (size_t)INT_MAX + 1, err),
	          OA_ERR_LIMIT);
	CHECK_HAS(err, "too long");
	err[0] = '\0';
	CHECK_INT(oa__json_parse(&J, small, 1, err), 0);
	oa__json_free(&J);
}

/* ---------------------------------------------------------------- limits */

/* "[0,0,...]" with n elements: n + 1 tokens. */
static char *
array_of(int n)
{
	char *s = malloc((size_t)n * 2 + 2), *p = s;
	int i;

	*p++ = '[';
	for (i = 0; i < n; i++) {
		*p++ = '0';
		*p++ = i + 1 < n ? ',' : ']';
	}
	if (n == 0)
		*p++ = ']';
	*p = '\0';
	return s;
}

static void
test_token_limit(void)
{
	oa__json j;
	char *s;
	int r;

	memset(&j, 0, sizeof j);
	j.max_tokens = 5;
	CHECK_INT(parse(&j, "[1,2,3,4]"), 0);
	CHECK_INT(j.ntok, 5);
	CHECK_INT(parse(&j, "{\"a\":1,\"b\":2}"), 0);
	CHECK_INT(parse(&j, "[1,2,3,4,5]"), OA_ERR_LIMIT);
	CHECK_HAS(err, "more than 5 tokens");
	CHECK_INT(j.ntok, 0);
	CHECK_INT(parse(&j, "{\"a\":1,\"b\":[0]}"), OA_ERR_LIMIT);
	CHECK_INT(parse(&j, "7"), 0);
	oa__json_free(&j);

	/* past the first allocation: the array grows up to the limit */
	j.max_tokens = 100;
	s = array_of(99);
	r = parse(&j, s);
	free(s);
	CHECK_INT(r, 0);
	CHECK_INT(j.ntok, 100);
	CHECK_INT(oa__json_count(&j, 0), 99);
	CHECK(j.cap <= 100);
	s = array_of(100);
	r = parse(&j, s);
	free(s);
	CHECK_INT(r, OA_ERR_LIMIT);
	CHECK_HAS(err, "more than 100 tokens");
	oa__json_free(&j);

	/* the default limit */
	j.max_tokens = 0;
	s = array_of(OA_MAX_JSON_TOKENS - 1);
	r = parse(&j, s);
	free(s);
	CHECK_INT(r, 0);
	s = array_of(OA_MAX_JSON_TOKENS);
	r = parse(&j, s);
	free(s);
	CHECK_INT(r, OA_ERR_LIMIT);
	oa__json_free(&j);
}

static void
test_reuse(void)
{
	struct counts c = { 0, 0 };
	oa_allocator a = { count_malloc, count_realloc, count_free, &c };
	char text[2048], *buf;
	oa__json j;
	int i, k, first = -1, n;
	size_t len;

	memset(&j, 0, sizeof j);
	j.alloc = &a;
	/* 1 + 40 * 4 = 161 tokens: the array grows twice on the first parse */
	for (i = 0; i < 1000; i++) {
		len = 0;
		text[len++] = '{';
		for (k = 0; k < 40; k++)
			len += (size_t)sprintf(text + len, "%s\"k%d\":[%d,\"v\\n"
			                       "%d\"]", k ? "," : "", k, i, k);
		text[len++] = '}';
		buf = malloc(len);
		memcpy(buf, text, len);
		err[0] = '\0';
		n = oa__json_parse(&j, buf, len, err);
		if (n == 0 && i == 0)
			first = c.calls;
		if (n == 0) {
			k = oa__json_at(&j, oa__json_get(&j, 0, "k39"), 1);
			n = !str_is(&j, k, "v\n39", 4);
		}
		free(buf);
		CHECK_INT(n, 0);
	}
	CHECK(first > 0);
	CHECK_INT(c.calls, first);
	CHECK_INT(j.ntok, 161);
	oa__json_free(&j);
}

static void
test_nomem(void)
{
	struct counts c = { 0, 0 };
	oa_allocator a = { count_malloc, count_realloc, count_free, &c };
	oa__json j;
	int i;

	for (i = 1; i <= 4; i++) {
		memset(&j, 0, sizeof j);
		j.alloc = &a;
		c.calls = 0;
		c.fail_at = i;
		/* 2 allocations to start, 2 more to grow past 64 tokens */
		{
			char *s = array_of(70);
			CHECK_INT(parse(&j, s), OA_ERR_NOMEM);
			free(s);
		}
		CHECK_HAS(err, "out of memory");
		CHECK_INT(j.ntok, 0);
		oa__json_free(&j);
	}
}

/* ---------------------------------------------------------------- writing */

static void
test_put_str(void)
{
	static const char *ctl[32] = {
		"\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004",
		"\\u0005", "\\u0006", "\\u0007", "\\b", "\\t", "\\n",
		"\\u000b", "\\f", "\\r", "\\u000e", "\\u000f", "\\u0010",
		"\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015",
		"\\u0016", "\\u0017", "\\u0018", "\\u0019", "\\u001a",
		"\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
	};
	oa__buf b;
	char want[16], in[3];
	int i;

	memset(&b, 0, sizeof b);
	for (i = 0; i < 32; i++) {
		oa__buf_reset(&b);
		in[0] = 'a';
		in[1] = (char)i;
		in[2] = 'z';
		oa__json_put_str(&b, in, 3);
		snprintf(want, sizeof want, "\"a%sz\"", ctl[i]);
		CHECK_INT(b.err, 0);
		CHECK_INT(b.len, strlen(want));
		CHECK_STR(b.p, want);
	}
	oa__buf_reset(&b);
	oa__json_put_str(&b, "say \"hi\" \\ /", 12);
	CHECK_STR(b.p, "\"say \\\"hi\\\" \\\\ /\"");
	oa__buf_reset(&b);
	oa__json_put_str(&b, "caf\xc3\xa9 \xf0\x9f\x98\x80 \x7f \xff", 14);
	CHECK_STR(b.p, "\"caf\xc3\xa9 \xf0\x9f\x98\x80 \x7f \xff\"");
	oa__buf_reset(&b);
	oa__json_put_str(&b, "", 0);
	CHECK_STR(b.p, "\"\"");
	oa__buf_reset(&b);
	oa__json_put_str(&b, "\"\"\n", 3);
	CHECK_STR(b.p, "\"\\\"\\\"\\n\"");
	/* a limit reached while writing sticks in the buffer */
	oa__buf_reset(&b);
	b.limit = 4;
	oa__json_put_str(&b, "abcdef", 6);
	CHECK_INT(b.err, OA_ERR_LIMIT);
	oa__buf_free(&b);
}

static void
test_round_trip(void)
{
	char bytes[256];
	oa__buf b;
	int i, r;

	for (i = 0; i < 256; i++)
		bytes[i] = (char)i;
	memset(&b, 0, sizeof b);
	/* every byte 0x01-0xff */
	oa__json_put_str(&b, bytes + 1, 255);
	CHECK_INT(b.err, 0);
	r = parse_n(&J, b.p, b.len);
	CHECK_INT(r, 0);
	CHECK(str_is(&J, 0, bytes + 1, 255));
	/* and with a NUL, inside an object */
	oa__buf_reset(&b);
	oa__buf_puts(&b, "{\"s\":");
	oa__json_put_str(&b, bytes, 256);
	oa__buf_puts(&b, "}");
	r = parse_n(&J, b.p, b.len);
	CHECK_INT(r, 0);
	CHECK(str_is(&J, oa__json_get(&J, 0, "s"), bytes, 256));
	oa__buf_free(&b);
	oa__json_free(&J);
}

static void
cleanup(void)
{
	free(doc);
	doc = NULL;
	oa__json_free(&J);
}

/* Deep nesting needs no recursion, once the depth limit allows it. (Not
 * as deep as the token limit: jsmn's closing bracket walks up the closed
 * levels, O(depth) each; hence the default limit.) */
static void
test_deep(void)
{
	enum { DEPTH = 10000 };
	char *s = malloc(2 * DEPTH);
	int r, t, d;

	memset(s, '[', DEPTH);
	memset(s + DEPTH, ']', DEPTH);
	J.max_depth = DEPTH;
	r = parse_n(&J, s, 2 * DEPTH);
	J.max_depth = 0;
	free(s);
	CHECK_INT(r, 0);
	CHECK_INT(J.ntok, DEPTH);
	for (t = 0, d = 1; oa__json_first(&J, t) >= 0; d++)
		t = oa__json_first(&J, t);
	CHECK_INT(d, DEPTH);
	CHECK_INT(oa__json_next(&J, 1), -1);
	oa__json_free(&J);
}

/* n opening brackets (alternating [ and {"a":), then the closing ones. */
static size_t
nest(char *s, int n)
{
	size_t o = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (i % 2)
			o += (size_t)sprintf(s + o, "{\"a\":");
		else
			s[o++] = '[';
	}
	s[o++] = '1';
	for (i = n - 1; i >= 0; i--)
		s[o++] = i % 2 ? '}' : ']';
	return o;
}

static void
test_depth_limit(void)
{
	char *s = malloc(10 * 1000), *q;
	size_t n;

	/* the default: OA_MAX_JSON_DEPTH levels pass, one more is refused */
	n = nest(s, OA_MAX_JSON_DEPTH);
	CHECK_INT(parse_n(&J, s, n), 0);
	CHECK_INT(oa__json_type(&J, 2), OA__JSON_STRING);
	n = nest(s, OA_MAX_JSON_DEPTH + 1);
	CHECK_INT(parse_n(&J, s, n), OA_ERR_LIMIT);
	CHECK_HAS(err, "nested deeper than 256 levels");
	CHECK_HAS(err, "max_json_depth");
	CHECK_INT(J.ntok, 0);
	/* brackets inside strings do not count */
	q = s + sprintf(s, "[\"");
	memset(q, '[', 2 * OA_MAX_JSON_DEPTH);
	strcpy(q + 2 * OA_MAX_JSON_DEPTH, "\\\"{\"]");
	CHECK_INT(parse(&J, s), 0);
	/* a lower limit: exactly that many levels, and the byte that passes */
	J.max_depth = 3;
	CHECK_INT(parse(&J, "[{\"a\":[1]}]"), 0);
	CHECK_INT(parse(&J, "[{\"a\":[[1]]}]"), OA_ERR_LIMIT);
	CHECK_HAS(err, "deeper than 3 levels at byte 7");
	/* refused even when the text is not JSON past that point */
	CHECK_INT(parse(&J, "[[[[ x"), OA_ERR_LIMIT);
	/* the limit counts open levels, not brackets */
	CHECK_INT(parse(&J, "[[[1]],[[2]],[[3]],[[]]]"), 0);
	J.max_depth = 0;
	free(s);
	oa__json_free(&J);
}

/* j, which parsed other texts before, and a fresh oa__json read text the
 * same: result, message, and each token's type, bytes, count and next. */
static int
same_as_fresh(oa__json *j, const char *text)
{
	oa__json f;
	char *a = strdup(text), *b = strdup(text), ea[OA__ERRLEN] = "",
	     eb[OA__ERRLEN] = "";
	size_t n = strlen(text), na, nb;
	int ra, rb, t, ok;

	memset(&f, 0, sizeof f);
	f.max_depth = j->max_depth;
	ra = oa__json_parse(j, a, n, ea);
	rb = oa__json_parse(&f, b, n, eb);
	ok = ra == rb && strcmp(ea, eb) == 0 && j->ntok == f.ntok;
	for (t = 0; ok && t < f.ntok; t++) {
		ok = oa__json_type(j, t) == oa__json_type(&f, t) &&
		     oa__json_raw(j, t, &na) - a == oa__json_raw(&f, t, &nb) - b &&
		     na == nb && oa__json_count(j, t) == oa__json_count(&f, t) &&
		     oa__json_next(j, t) == oa__json_next(&f, t);
		/* and strings read the same, unescaped */
		if (ok && oa__json_type(j, t) == OA__JSON_STRING)
			ok = strcmp(oa__json_str(j, t, NULL),
			            oa__json_str(&f, t, NULL)) == 0;
	}
	if (!ok)
		fprintf(stderr, "differs from a fresh parse: %s\n", text);
	oa__json_free(&f);
	free(doc);
	doc = a;   /* j points into it until the next parse */
	free(b);
	return ok;
}

/* A parse that starts where the last text stops matching: events of a
 * stream that differ only in the delta. */
static void
test_reuse_prefix(void)
{
	static const char *texts[] = {
		"{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":"
		"{\"content\":\"a\\nb\"}}]}",
		"{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":"
		"{\"content\":\"cd\"}}]}",
		"{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":"
		"{\"content\":\"cd\"},\"finish_reason\":\"stop\"}]}",
		"{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{}}],"
		"\"usage\":{\"total_tokens\":3}}",
		/* a key unescaped last time, before the first change */
		"{\"i\\u0064\":\"c1\",\"choices\":[]}",
		"{\"i\\u0064\":\"c1\",\"choices\":[1]}",
		/* errors past the shared part, as a fresh parse words them */
		"{\"i\\u0064\":\"c1\",\"choices\":[1,]}",
		"{\"i\\u0064\":\"c1\",\"choices\":[1]",
		"{\"i\\u0064\":\"c1\",\"choices\":[1]}",
		"{\"i\\u0064\":\"c1\",\"choices\":[[[[[1]]]]]}",
		"[1,2,[3,4]]",
		"[1,2,[3,5]]",
		"[1,2,[3,5]] ",
		"[1,2]",
		"7",
		"[7]",
	};
	size_t i;

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		/* every text after a parse of each other one */
		size_t k;

		for (k = 0; k < sizeof texts / sizeof texts[0]; k++) {
			CHECK(same_as_fresh(&J, texts[k]));
			CHECK(same_as_fresh(&J, texts[i]));
		}
	}
	/* a lower depth limit is not met by reusing a deeper parse */
	CHECK(same_as_fresh(&J, texts[9]));
	J.max_depth = 4;
	CHECK(same_as_fresh(&J, texts[9]));
	CHECK_INT(J.ntok, 0);
	J.max_depth = 0;
	oa__json_free(&J);
}

static const struct test tests[] = {
	{ "types", test_types },
	{ "get_chained", test_get_chained },
	{ "iterate", test_iterate },
	{ "raw", test_raw },
	{ "escapes", test_escapes },
	{ "surrogates", test_surrogates },
	{ "str_twice", test_str_twice },
	{ "int", test_int },
	{ "double", test_double },
	{ "invalid", test_invalid },
	{ "messages", test_messages },
	{ "too_long", test_too_long },
	{ "token_limit", test_token_limit },
	{ "deep", test_deep },
	{ "depth_limit", test_depth_limit },
	{ "reuse", test_reuse },
	{ "reuse_prefix", test_reuse_prefix },
	{ "nomem", test_nomem },
	{ "put_str", test_put_str },
	{ "round_trip", test_round_trip },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	int r = test_main("test_json", argc, argv, tests);

	cleanup();
	return r;
}
