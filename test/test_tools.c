/*
 * test_tools.c -- tools.c and hooks.c: the tool table (names, shorthand
 * and full schemas), the request's "tools" array, the argument checker,
 * the oa_args and oa_result accessors as a handler sees them, the hook
 * dispatcher, and out-of-memory at every allocation.
 *
 * Arguments are parsed from malloc'd copies of exactly their length, so
 * AddressSanitizer catches any read past the end.
 */
#include <limits.h>

#include "oa_private.h"
#include "test.h"

static char err[OA__ERRLEN];
static char msg[OA__ERRLEN];
static oa__tools T;             /* zeroed: the C library's allocator */

/* A table of one tool; the previous table is freed. */
static int
init1(const char *name, const char *params)
{
	oa_tool t;

	memset(&t, 0, sizeof t);
	t.name = name;
	t.parameters = params;
	oa__tools_free(&T);
	err[0] = '\0';
	return oa__tools_init(&T, NULL, &t, 1, err);
}

/* The schema init1 made of params, or NULL with err set. */
static const char *
schema_of(const char *params)
{
	return init1("t", params) == 0 ? T.v[0].schema : NULL;
}

/* A JSON text in a block of exactly its length, parsed into j. */
static char *
parse_copy(oa__json *j, const char *text)
{
	size_t n = strlen(text);
	char *p = malloc(n + 1);

	memcpy(p, text, n + 1);
	if (oa__json_parse(j, p, n, err) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* Check args against the schema made of params: the checker's return,
 * with its reason in msg. */
static int
check_with(const char *params, const char *args, size_t msglen)
{
	oa__json a, s;
	oa__buf tmp;
	char *copy;
	int r;

	memset(&a, 0, sizeof a);
	memset(&s, 0, sizeof s);
	memset(&tmp, 0, sizeof tmp);
	if (init1("t", params) != 0)
		return 100;
	if ((copy = parse_copy(&a, args)) == NULL)
		return 101;
	strcpy(msg, "junk");
	r = oa__tools_check(T.v, &a, &s, &tmp, msg, msglen);
	oa__json_free(&a);
	oa__json_free(&s);
	oa__buf_free(&tmp);
	free(copy);
	return r;
}

static int
check(const char *params, const char *args)
{
	return check_with(params, args, sizeof msg);
}

/* ------------------------------------------------------------ the table */

static void
test_shorthand(void)
{
	CHECK_STR(schema_of(NULL), "{\"type\":\"object\",\"properties\":{}}");
	CHECK_STR(schema_of(""), "{\"type\":\"object\",\"properties\":{}}");
	if (NO_SHORTHAND) {
		CHECK_INT(init1("calc", "a:number"), OA_ERR_INVALID);
		CHECK_STR(err, "tool \"calc\": parameters in the shorthand "
		          "need shorthand.c, which this build leaves out; give "
		          "a JSON Schema object");
		return;
	}
	CHECK_STR(schema_of("a:number b:number op:string"),
	          "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
	          "\"number\"},\"b\":{\"type\":\"number\"},\"op\":{\"type\":"
	          "\"string\"}},\"required\":[\"a\",\"b\",\"op\"]}");
	CHECK_STR(schema_of(" ,n_1:integer,,\tB:boolean , "),
	          "{\"type\":\"object\",\"properties\":{\"n_1\":{\"type\":"
	          "\"integer\"},\"B\":{\"type\":\"boolean\"}},\"required\":"
	          "[\"n_1\",\"B\"]}");
	CHECK_STR(schema_of("x:string"),
	          "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":"
	          "\"string\"}},\"required\":[\"x\"]}");
	CHECK_STR(schema_of(" ,\n"), "{\"type\":\"object\",\"properties\":{}}");
	oa__tools_free(&T);
}

static void
test_shorthand_errors(void)
{
	static const struct {
		const char *params, *msg;
	} v[] = {
		{ "a:number x:float", "tool \"calc\": bad parameter \"x:float\"" },
		{ "a", "tool \"calc\": bad parameter \"a\"" },
		{ ":number", "tool \"calc\": bad parameter \":number\"" },
		{ "a:", "tool \"calc\": bad parameter \"a:\"" },
		{ "a-b:string", "tool \"calc\": bad parameter \"a-b:string\"" },
		{ "a:number:x", "tool \"calc\": bad parameter \"a:number:x\"" },
		{ "a:Number", "tool \"calc\": bad parameter \"a:Number\"" },
		{ "a :number", "tool \"calc\": bad parameter \"a\"" },
		{ "a:object", "tool \"calc\": bad parameter \"a:object\"" },
		{ "\xc3\xa9:string",
		  "tool \"calc\": bad parameter \"\\xc3\\xa9:string\"" },
		{ "a:number b:string a:string",
		  "tool \"calc\": parameter \"a\" is given twice" },
		{ "[a:number]", "tool \"calc\": bad parameter \"[a:number]\"" },
	};
	size_t i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		CHECK_INT(init1("calc", v[i].params), OA_ERR_INVALID);
		if (NO_SHORTHAND)
			CHECK_HAS(err, "need shorthand.c");
		else
			CHECK_STR(err, v[i].msg);
		CHECK(T.v == NULL && T.n == 0);
	}
}

static void
test_full_schema(void)
{
	const char *s = "{\"type\":\"object\", \"properties\": "
	                "{\"q\": {\"type\": \"string\", \"enum\": [\"a\\u0062\"]}}}";
	char padded[256];

	CHECK_STR(schema_of(s), s);
	snprintf(padded, sizeof padded, " \n\t%s \r\n", s);
	CHECK_STR(schema_of(padded), s);
	CHECK_STR(schema_of("{}"), "{}");
	CHECK_INT(init1("f", "{\"type\":"), OA_ERR_INVALID);
	CHECK_HAS(err, "tool \"f\": parameters are not a JSON object: ");
	CHECK_INT(init1("f", "{} {}"), OA_ERR_INVALID);
	CHECK_HAS(err, "tool \"f\": parameters are not a JSON object: "
	          "invalid JSON");
	CHECK_INT(init1("f", "{\"a\":1,}"), OA_ERR_INVALID);
	CHECK_HAS(err, "parameters are not a JSON object");
	/* not '{' first: shorthand, which it is not */
	CHECK_INT(init1("f", "[1]"), OA_ERR_INVALID);
	if (NO_SHORTHAND)
		CHECK_HAS(err, "tool \"f\": parameters in the shorthand need "
		          "shorthand.c");
	else
		CHECK_STR(err, "tool \"f\": bad parameter \"[1]\"");
	oa__tools_free(&T);
}

static void
test_names(void)
{
	static const char *const bad[] = {
		"", "a b", "a.b", "caf\xc3\xa9", "x/y", "a\n",
		"12345678901234567890123456789012345678901234567890123456789012345"
	};
	oa_tool two[2];
	size_t i;

	CHECK_INT(init1("aZ09_-", NULL), 0);
	CHECK_STR(T.v[0].name, "aZ09_-");
	CHECK_STR(T.v[0].description, "");
	CHECK(T.v[0].fn == NULL);
	CHECK_INT(init1("1234567890123456789012345678901234567890123456789012"
	                "345678901234", NULL), 0);
	CHECK_INT(init1(NULL, NULL), OA_ERR_INVALID);
	CHECK_STR(err, "tools[0]: bad name \"\" (want 1 to 64 of A-Z a-z "
	          "0-9 _ -)");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_INT(init1(bad[i], NULL), OA_ERR_INVALID);
		CHECK_HAS(err, "tools[0]: bad name \"");
	}
	CHECK_INT(init1("a\n", NULL), OA_ERR_INVALID);
	CHECK_STR(err, "tools[0]: bad name \"a\\x0a\" (want 1 to 64 of A-Z "
	          "a-z 0-9 _ -)");

	memset(two, 0, sizeof two);
	two[0].name = "same";
	two[1].name = "same";
	err[0] = '\0';
	CHECK_INT(oa__tools_init(&T, NULL, two, 2, err), OA_ERR_INVALID);
	CHECK_STR(err, "tools[1]: the name \"same\" is taken by tools[0]");
	CHECK(T.v == NULL && T.n == 0);
	two[1].name = "Same";
	CHECK_INT(oa__tools_init(&T, NULL, two, 2, err), 0);
	CHECK(oa__tools_find(&T, "Same") == T.v + 1);
	CHECK(oa__tools_find(&T, "same") == T.v);
	CHECK(oa__tools_find(&T, "sam") == NULL);
	CHECK(oa__tools_find(&T, NULL) == NULL);
	oa__tools_free(&T);

	err[0] = '\0';
	CHECK_INT(oa__tools_init(&T, NULL, NULL, 3, err), OA_ERR_INVALID);
	CHECK_STR(err, "tools is NULL but ntools is 3");
	CHECK_INT(oa__tools_init(&T, NULL, NULL, 0, err), 0);
	CHECK(T.v == NULL && T.n == 0);
}

static int
noop(void *ctx, oa_args *a, oa_result *r)
{
	(void)ctx;
	(void)a;
	(void)r;
	return 0;
}

static void
test_put(void)
{
	oa_tool v[2];
	oa__buf b;
	int ctx;

	memset(v, 0, sizeof v);
	memset(&b, 0, sizeof b);
	v[0].name = "calc";
	v[0].description = "Say \"hi\"\n\tto \xc3\xa9";
	v[0].parameters = SCHEMA_A;
	v[0].handler = noop;
	v[0].ctx = &ctx;
	v[1].name = "now";
	v[1].parameters = " {\"type\": \"object\"} ";
	CHECK_INT(oa__tools_init(&T, NULL, v, 2, err), 0);
	CHECK(T.v[0].fn == noop && T.v[0].ctx == &ctx);
	oa__tools_put(&T, &b);
	CHECK_STR(b.p, "[{\"type\":\"function\",\"function\":{\"name\":\"calc\","
	          "\"description\":\"Say \\\"hi\\\"\\n\\tto \xc3\xa9\","
	          "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":"
	          "{\"type\":\"number\"}},\"required\":[\"a\"]}}},"
	          "{\"type\":\"function\",\"function\":{\"name\":\"now\","
	          "\"description\":\"\",\"parameters\":{\"type\": "
	          "\"object\"}}}]");
	oa__tools_free(&T);
	oa__buf_reset(&b);
	oa__tools_put(&T, &b);
	CHECK_STR(b.p, "[]");
	oa__buf_free(&b);
}

/* ------------------------------------------------------------ checking */

/* "a:number b:number" and "n:integer", or where the build leaves
 * shorthand.c out, the JSON Schema they stand for. */
#define AB SCHEMA_AB
#ifdef OA_NO_SHORTHAND
#define ONE(n, type)                                                         \
	"{\"type\":\"object\",\"properties\":{\"" n "\":{\"type\":\"" type    \
	"\"}},\"required\":[\"" n "\"]}"
#else
#define ONE(n, type) n ":" type
#endif

static void
test_check_required_and_types(void)
{
	CHECK_INT(check(AB, "{\"a\":1,\"b\":-2.5e3}"), 0);
	CHECK_STR(msg, "");
	CHECK_INT(check(AB, " { \"b\" : 2 , \"a\" : 0 , \"extra\" : [] } "), 0);
	CHECK_INT(check(AB, "{\"a\":1}"), 1);
	CHECK_STR(msg, "missing required argument \"b\"");
	CHECK_INT(check(AB, "{}"), 1);
	CHECK_STR(msg, "missing required argument \"a\"");
	CHECK_INT(check(AB, "{\"a\":\"1\",\"b\":2}"), 1);
	CHECK_STR(msg, "argument \"a\" must be a number");
	CHECK_INT(check(AB, "{\"a\":1,\"b\":null}"), 1);
	CHECK_STR(msg, "argument \"b\" must be a number");
	CHECK_INT(check(AB, "[1,2]"), 1);
	CHECK_STR(msg, "arguments must be a JSON object");
	CHECK_INT(check(AB, "\"{}\""), 1);
	CHECK_STR(msg, "arguments must be a JSON object");
	CHECK_INT(check(NULL, "{}"), 0);
	CHECK_INT(check(NULL, "{\"anything\":1}"), 0);
	CHECK_INT(check(NULL, "7"), 1);
	CHECK_STR(msg, "arguments must be a JSON object");

	CHECK_INT(check(ONE("n", "integer"), "{\"n\":3}"), 0);
	CHECK_INT(check(ONE("n", "integer"), "{\"n\":-0}"), 0);
	CHECK_INT(check(ONE("n", "integer"), "{\"n\":3.0}"), 0);
	CHECK_INT(check(ONE("n", "integer"), "{\"n\":1e3}"), 0);
	CHECK_INT(check(ONE("n", "integer"),
	                "{\"n\":99999999999999999999999}"), 0);
	CHECK_INT(check(ONE("n", "integer"), "{\"n\":1e300}"), 0);
	CHECK_INT(check(ONE("n", "integer"), "{\"n\":3.5}"), 1);
	CHECK_STR(msg, "argument \"n\" must be an integer");
	CHECK_INT(check(ONE("n", "integer"), "{\"n\":1e-3}"), 1);
	CHECK_INT(check(ONE("n", "integer"), "{\"n\":1e999}"), 1);
	CHECK_INT(check(ONE("n", "integer"), "{\"n\":\"3\"}"), 1);
	CHECK_STR(msg, "argument \"n\" must be an integer");

	CHECK_INT(check(ONE("f", "boolean"), "{\"f\":true}"), 0);
	CHECK_INT(check(ONE("f", "boolean"), "{\"f\":false}"), 0);
	CHECK_INT(check(ONE("f", "boolean"), "{\"f\":1}"), 1);
	CHECK_STR(msg, "argument \"f\" must be a boolean");
	CHECK_INT(check(ONE("s", "string"), "{\"s\":\"\"}"), 0);
	CHECK_INT(check(ONE("s", "string"), "{\"s\":{}}"), 1);
	CHECK_STR(msg, "argument \"s\" must be a string");
}

static void
test_check_full(void)
{
	const char *s = "{\"type\":\"object\",\"properties\":{"
	                "\"o\":{\"type\":\"object\",\"properties\":{\"x\":"
	                "{\"type\":\"number\"}},\"required\":[\"x\"]},"
	                "\"l\":{\"type\":\"array\",\"items\":{\"type\":\"number\"}},"
	                "\"z\":{\"type\":\"null\"},"
	                "\"u\":{\"type\":[\"string\",\"null\"]},"
	                "\"w\":{\"type\":[\"string\",\"number\",\"null\"]},"
	                "\"k\":{\"type\":\"uuid\"},"
	                "\"t\":true,"
	                "\"n\":{\"description\":\"no type\"}},"
	                "\"required\":[\"r\"]}";

	CHECK_INT(check(s, "{}"), 1);
	CHECK_STR(msg, "missing required argument \"r\"");
	CHECK_INT(check(s, "{\"r\":0,\"o\":{},\"l\":[\"not checked\"],"
	                "\"z\":null,\"u\":null,\"w\":2,\"k\":[],\"t\":1,"
	                "\"n\":{}}"), 0);
	CHECK_INT(check(s, "{\"r\":0,\"u\":\"x\"}"), 0);
	CHECK_INT(check(s, "{\"r\":0,\"o\":[]}"), 1);
	CHECK_STR(msg, "argument \"o\" must be an object");
	CHECK_INT(check(s, "{\"r\":0,\"l\":{}}"), 1);
	CHECK_STR(msg, "argument \"l\" must be an array");
	CHECK_INT(check(s, "{\"r\":0,\"z\":0}"), 1);
	CHECK_STR(msg, "argument \"z\" must be null");
	CHECK_INT(check(s, "{\"r\":0,\"u\":1}"), 1);
	CHECK_STR(msg, "argument \"u\" must be a string or null");
	CHECK_INT(check(s, "{\"r\":0,\"w\":true}"), 1);
	CHECK_STR(msg, "argument \"w\" must be a string, a number or null");
	/* the first failing member in the schema's order */
	CHECK_INT(check(s, "{\"z\":1,\"r\":0,\"o\":1}"), 1);
	CHECK_STR(msg, "argument \"o\" must be an object");
	/* required comes before types */
	CHECK_INT(check(s, "{\"o\":1}"), 1);
	CHECK_STR(msg, "missing required argument \"r\"");
}

static void
test_check_enum(void)
{
	const char *s = "{\"properties\":{\"op\":{\"type\":\"string\",\"enum\":"
	                "[\"+\",\"-\",\"*\",\"/\"]},"
	                "\"n\":{\"enum\":[1,2.5]},"
	                "\"m\":{\"enum\":[true,null,{\"a\":1},\"\\u00e9\"]}}}";
	char big[1024], args[64];
	int i;

	CHECK_INT(check(s, "{\"op\":\"+\"}"), 0);
	CHECK_INT(check(s, "{\"op\":\"\\u002b\"}"), 0);
	CHECK_INT(check(s, "{\"op\":\"/\"}"), 0);
	CHECK_INT(check(s, "{\"op\":\"x\"}"), 1);
	CHECK_STR(msg, "argument \"op\" must be one of \"+\", \"-\", \"*\", \"/\"");
	CHECK_INT(check(s, "{\"op\":\"++\"}"), 1);
	CHECK_INT(check(s, "{\"op\":1}"), 1);
	CHECK_STR(msg, "argument \"op\" must be a string");
	CHECK_INT(check(s, "{\"n\":1.0}"), 0);
	CHECK_INT(check(s, "{\"n\":25e-1}"), 0);
	CHECK_INT(check(s, "{\"n\":3}"), 1);
	CHECK_STR(msg, "argument \"n\" must be one of 1, 2.5");
	CHECK_INT(check(s, "{\"n\":\"1\"}"), 1);
	CHECK_STR(msg, "argument \"n\" must be one of 1, 2.5");
	CHECK_INT(check(s, "{\"m\":true}"), 0);
	CHECK_INT(check(s, "{\"m\":null}"), 0);
	CHECK_INT(check(s, "{\"m\":{\"a\":1}}"), 0);
	CHECK_INT(check(s, "{\"m\":\"\xc3\xa9\"}"), 0);
	CHECK_INT(check(s, "{\"m\":{\"a\": 1}}"), 1);
	CHECK_STR(msg, "argument \"m\" must be one of true, null, {\"a\":1}, "
	          "\"\xc3\xa9\"");
	CHECK_INT(check(s, "{\"m\":false}"), 1);

	/* a long list is cut politely, within the buffer */
	strcpy(big, "{\"properties\":{\"v\":{\"enum\":[");
	for (i = 0; i < 40; i++)
		sprintf(big + strlen(big), "%s\"value%02d\"", i ? "," : "", i);
	strcat(big, "]}}}");
	snprintf(args, sizeof args, "{\"v\":\"value40\"}");
	CHECK_INT(check(big, args), 1);
	CHECK_HAS(msg, "argument \"v\" must be one of \"value00\", \"value01\", ");
	CHECK(strlen(msg) < sizeof msg);
	CHECK(strcmp(msg + strlen(msg) - 5, ", ...") == 0);
	CHECK_INT(check(big, "{\"v\":\"value39\"}"), 0);
	CHECK_INT(check_with(s, "{\"op\":\"x\"}", 48), 1);
	CHECK_STR(msg, "argument \"op\" must be one of \"+\", \"-\", \"*\", \"/\"");
	CHECK_INT(check_with(s, "{\"op\":\"x\"}", 47), 1);
	CHECK_STR(msg, "argument \"op\" must be one of \"+\", \"-\", ...");
	CHECK_INT(check_with(s, "{\"op\":\"x\"}", 45), 1);
	CHECK_STR(msg, "argument \"op\" must be one of \"+\", \"-\", ...");
	CHECK_INT(check_with(s, "{\"op\":\"x\"}", 35), 1);
	CHECK_STR(msg, "argument \"op\" must be one of ...");
	CHECK_INT(check_with(s, "{\"op\":\"x\"}", 10), 1);
	CHECK_STR(msg, "argument ");
	CHECK_INT(check_with(s, "{\"op\":\"x\"}", 0), 1);
	CHECK_STR(msg, "junk");
	oa__tools_free(&T);
}

/* ------------------------------------------------------------ handlers */

/* What the probing handler saw. */
static struct {
	int rs, rs_num, rs_none, rn, rn_str, rn_bool, ri, ri_big, ri_frac,
	    ri_whole, ri_over, ri_str, rb, rb_null, rr_o, rr_e, rr_s, rr_z,
	    rr_none, rnull;
	char s[64], raw_o[64], raw_e[64], raw_s[64], raw_z[8], json[256];
	size_t slen;
	double n, i_as_n;
	long long i, big, whole;
	int b;
} seen;

static void
copy_out(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int
probe(void *ctx, oa_args *a, oa_result *out)
{
	const char *s = "";
	size_t n;
	long long ll;
	double d;

	(void)ctx;
	(void)out;
	seen.rs = oa_args_string(a, "s", &s, &seen.slen);
	copy_out(seen.s, sizeof seen.s, s, seen.slen);
	seen.rs_num = oa_args_string(a, "n", &s, &n);
	seen.rs_none = oa_args_string(a, "missing", &s, &n);
	seen.rn = oa_args_number(a, "n", &seen.n);
	oa_args_number(a, "i", &seen.i_as_n);
	seen.rn_str = oa_args_number(a, "s", &d);
	seen.rn_bool = oa_args_number(a, "b", &d);
	seen.ri = oa_args_int(a, "i", &seen.i);
	seen.ri_big = oa_args_int(a, "big", &seen.big);
	seen.ri_frac = oa_args_int(a, "n", &ll);
	seen.ri_whole = oa_args_int(a, "f", &seen.whole);
	seen.ri_over = oa_args_int(a, "over", &ll);
	seen.ri_str = oa_args_int(a, "s", &ll);
	seen.rb = oa_args_bool(a, "b", &seen.b);
	seen.rb_null = oa_args_bool(a, "z", &seen.b);
	seen.rr_o = oa_args_raw(a, "o", &s, &n);
	copy_out(seen.raw_o, sizeof seen.raw_o, s, n);
	seen.rr_e = oa_args_raw(a, "e", &s, &n);
	copy_out(seen.raw_e, sizeof seen.raw_e, s, n);
	seen.rr_s = oa_args_raw(a, "s", &s, &n);
	copy_out(seen.raw_s, sizeof seen.raw_s, s, n);
	seen.rr_z = oa_args_raw(a, "z", &s, &n);
	copy_out(seen.raw_z, sizeof seen.raw_z, s, n);
	seen.rr_none = oa_args_raw(a, "nope", &s, &n);
	s = oa_args_json(a, &n);
	copy_out(seen.json, sizeof seen.json, s, n);
	seen.rnull = oa_args_string(a, NULL, &s, &n) == OA_ERR_INVALID &&
	             oa_args_string(a, "s", NULL, &n) == OA_ERR_INVALID &&
	             oa_args_int(a, "i", NULL) == OA_ERR_INVALID &&
	             oa_args_string(NULL, "s", &s, &n) == OA_ERR_INVALID &&
	             oa_args_raw(NULL, "s", &s, &n) == OA_ERR_INVALID &&
	             oa_args_json(NULL, &n) == NULL && n == 0;
	return 0;
}

/* Run handler fn over args (a JSON text) with a result buffer of limit. */
static int
call(oa_tool_fn fn, const char *args, oa__buf *out)
{
	oa__json j;
	char *copy;
	int r;

	memset(&j, 0, sizeof j);
	if (init1("t", NULL) != 0 || (copy = parse_copy(&j, args)) == NULL)
		return 100;
	T.v[0].fn = fn;
	r = oa__tools_call(T.v, &j, args, strlen(args), out);
	oa__json_free(&j);
	free(copy);
	oa__tools_free(&T);
	return r;
}

static void
test_args(void)
{
	const char *args =
		"{\"s\":\"h\\u00e9llo \\ud83d\\ude00\\n\",\"n\":2.5,\"i\":-42,"
		"\"big\":9223372036854775807,\"f\":2.0,"
		"\"over\":9223372036854775808,\"b\":true,\"z\":null,"
		"\"o\":{\"k\":[1,\"x\\ty\"]},\"e\":\"esc\\\"q\\\\\"}";
	oa__buf out;

	memset(&out, 0, sizeof out);
	memset(&seen, 0, sizeof seen);
	CHECK_INT(call(probe, args, &out), 0);
	CHECK_STR(out.p, "");
	CHECK_INT(seen.rs, 0);
	CHECK_STR(seen.s, "h\xc3\xa9llo \xf0\x9f\x98\x80\n");
	CHECK_INT(seen.slen, 12);
	CHECK_INT(seen.rs_num, OA_ERR_INVALID);
	CHECK_INT(seen.rs_none, OA_ERR_INVALID);
	CHECK_INT(seen.rn, 0);
	CHECK(seen.n == 2.5);
	CHECK(seen.i_as_n == -42.0);
	CHECK_INT(seen.rn_str, OA_ERR_INVALID);
	CHECK_INT(seen.rn_bool, OA_ERR_INVALID);
	CHECK_INT(seen.ri, 0);
	CHECK_INT(seen.i, -42);
	CHECK_INT(seen.ri_big, 0);
	CHECK(seen.big == LLONG_MAX);
	CHECK_INT(seen.ri_frac, OA_ERR_INVALID);
	CHECK_INT(seen.ri_whole, 0);
	CHECK_INT(seen.whole, 2);
	CHECK_INT(seen.ri_over, OA_ERR_INVALID);
	CHECK_INT(seen.ri_str, OA_ERR_INVALID);
	CHECK_INT(seen.rb, 0);
	CHECK_INT(seen.b, 1);
	CHECK_INT(seen.rb_null, OA_ERR_INVALID);
	CHECK_INT(seen.rr_o, 0);
	CHECK_STR(seen.raw_o, "{\"k\":[1,\"x\\ty\"]}");
	CHECK_INT(seen.rr_e, 0);
	CHECK_STR(seen.raw_e, "\"esc\\\"q\\\\\"");
	/* taken after "s" was unescaped: still the text as received */
	CHECK_INT(seen.rr_s, 0);
	CHECK_STR(seen.raw_s, "\"h\\u00e9llo \\ud83d\\ude00\\n\"");
	CHECK_INT(seen.rr_z, 0);
	CHECK_STR(seen.raw_z, "null");
	CHECK_INT(seen.rr_none, OA_ERR_INVALID);
	CHECK_STR(seen.json, args);
	CHECK_INT(seen.rnull, 1);
	oa__buf_free(&out);
}

static int
calc(void *ctx, oa_args *a, oa_result *out)
{
	double x, y;
	const char *op;

	(void)ctx;
	if (oa_args_number(a, "a", &x) || oa_args_number(a, "b", &y) ||
	    oa_args_string(a, "op", &op, NULL)) {
		oa_result_puts(out, "bad arguments");
		return 1;
	}
	if (*op == '/' && y == 0) {
		oa_result_printf(out, "division by %s", "zero");
		return -1;
	}
	oa_result_printf(out, "%g %s %g = ", x, op, y);
	oa_result_write(out, "[", 1);
	oa_result_printf(out, "%.1f", *op == '/' ? x / y : x + y);
	oa_result_write(out, "]xyz", 1);
	oa_result_write(out, NULL, 0);
	return 0;
}

static int write_rc[4];

static int
chatty(void *ctx, oa_args *a, oa_result *out)
{
	(void)ctx;
	(void)a;
	write_rc[0] = oa_result_puts(out, "0123456789");
	write_rc[1] = oa_result_puts(out, "abc");
	write_rc[2] = oa_result_puts(out, "d");
	write_rc[3] = oa_result_write(out, NULL, 1) == OA_ERR_INVALID &&
	              oa_result_puts(out, NULL) == OA_ERR_INVALID &&
	              oa_result_printf(NULL, "x") == OA_ERR_INVALID &&
	              oa_result_write(NULL, "x", 1) == OA_ERR_INVALID;
	return 0;
}

static void
test_results(void)
{
	oa__buf out;

	memset(&out, 0, sizeof out);
	CHECK_INT(call(calc, "{\"a\":1,\"b\":2,\"op\":\"+\"}", &out), 0);
	CHECK_STR(out.p, "1 + 2 = [3.0]");
	CHECK_INT(out.len, 13);
	/* the buffer is reset for each call */
	CHECK_INT(call(calc, "{\"a\":7,\"b\":2,\"op\":\"/\"}", &out), 0);
	CHECK_STR(out.p, "7 / 2 = [3.5]");
	CHECK_INT(call(calc, "{\"a\":1,\"b\":0,\"op\":\"/\"}", &out), 1);
	CHECK_STR(out.p, "division by zero");
	CHECK_INT(call(calc, "{\"a\":1}", &out), 1);
	CHECK_STR(out.p, "bad arguments");
	CHECK_INT(call(noop, "{}", &out), 0);
	CHECK_STR(out.p, "");
	CHECK_INT(out.len, 0);
	CHECK_INT(call(NULL, "{}", &out), 1);
	CHECK_STR(out.p, "the tool has no handler");
	oa__buf_free(&out);

	/* errors stick: once over the limit, every later write fails */
	memset(&out, 0, sizeof out);
	out.limit = 12;
	CHECK_INT(call(chatty, "{}", &out), OA_ERR_LIMIT);
	CHECK_INT(write_rc[0], 0);
	CHECK_INT(write_rc[1], OA_ERR_LIMIT);
	CHECK_INT(write_rc[2], OA_ERR_LIMIT);
	CHECK_INT(write_rc[3], 1);
	CHECK_STR(out.p, "0123456789");
	out.limit = 13;
	CHECK_INT(call(calc, "{\"a\":1,\"b\":2,\"op\":\"+\"}", &out), 0);
	CHECK_STR(out.p, "1 + 2 = [3.0]");
	oa__buf_free(&out);
}

/* ------------------------------------------------------------ hooks */

static char hook_log[64];

struct answer {
	char tag;
	int decision;
	const char *text;
};

static oa_hook_decision
record(void *ctx, const oa_hook_event *ev, oa_hook_reply *reply)
{
	const struct answer *a = ctx;
	size_t n = strlen(hook_log);

	hook_log[n] = a->tag;
	hook_log[n + 1] = '\0';
	if (ev->tool_name != NULL && strcmp(ev->tool_name, "calc") != 0)
		return (oa_hook_decision)99;
	if (a->text != NULL)
		reply->text = a->text;
	return (oa_hook_decision)a->decision;
}

static int
run(const oa_hook *h, size_t n, oa_hook_kind kind, oa__buf *text)
{
	oa_hook_event ev;

	memset(&ev, 0, sizeof ev);
	ev.kind = kind;
	ev.tool_name = "calc";
	hook_log[0] = '\0';
	err[0] = '\0';
	return oa__hooks_run(h, n, &ev, text, err);
}

static void
test_hooks(void)
{
	struct answer A = { 'A', OA_HOOK_ALLOW, "ignored" };
	struct answer B = { 'B', OA_HOOK_BLOCK, "post" };
	struct answer C = { 'C', OA_HOOK_BLOCK, NULL };
	struct answer D = { 'D', OA_HOOK_ALLOW, NULL };
	struct answer E = { 'E', OA_HOOK_BLOCK, "not run" };
	oa_hook h[6] = {
		{ OA_HOOK_PRE_TOOL_USE, record, &A },
		{ OA_HOOK_POST_TOOL_USE, record, &B },
		{ OA_HOOK_PRE_TOOL_USE, record, &C },
		{ OA_HOOK_POST_TOOL_USE, record, &D },
		{ OA_HOOK_PRE_TOOL_USE, record, &E },
		{ OA_HOOK_PRE_TOOL_USE, NULL, NULL },
	};
	char reason[16] = "too risky";
	oa__buf text;

	memset(&text, 0, sizeof text);
	/* C decides first; E does not run; C gave no text */
	CHECK_INT(run(h, 6, OA_HOOK_PRE_TOOL_USE, &text), OA_HOOK_BLOCK);
	CHECK_STR(hook_log, "AC");
	CHECK_STR(text.p, "");

	C.text = reason;
	CHECK_INT(run(h, 6, OA_HOOK_PRE_TOOL_USE, &text), OA_HOOK_BLOCK);
	CHECK_STR(hook_log, "AC");
	CHECK_STR(text.p, "too risky");

	/* the text is copied at once */
	C.decision = OA_HOOK_REPLACE;
	strcpy(reason, "{\"a\":2}");
	CHECK_INT(run(h, 6, OA_HOOK_PRE_TOOL_USE, &text), OA_HOOK_REPLACE);
	strcpy(reason, "changed");
	CHECK_STR(text.p, "{\"a\":2}");

	/* everyone allows: E decides */
	C.decision = OA_HOOK_ALLOW;
	CHECK_INT(run(h, 6, OA_HOOK_PRE_TOOL_USE, &text), OA_HOOK_BLOCK);
	CHECK_STR(hook_log, "ACE");
	CHECK_STR(text.p, "not run");
	E.decision = OA_HOOK_ALLOW;
	CHECK_INT(run(h, 6, OA_HOOK_PRE_TOOL_USE, &text), OA_HOOK_ALLOW);
	CHECK_STR(hook_log, "ACE");
	CHECK_STR(text.p, "");

	/* post hooks all run; their decisions are ignored */
	CHECK_INT(run(h, 6, OA_HOOK_POST_TOOL_USE, &text), OA_HOOK_ALLOW);
	CHECK_STR(hook_log, "BD");
	CHECK_STR(text.p, "");

	/* none of that kind; none at all */
	CHECK_INT(run(h, 6, OA_HOOK_USER_PROMPT_SUBMIT, &text), OA_HOOK_ALLOW);
	CHECK_STR(hook_log, "");
	CHECK_INT(run(NULL, 0, OA_HOOK_PRE_TOOL_USE, &text), OA_HOOK_ALLOW);
	CHECK_STR(text.p, "");
	CHECK_INT(run(NULL, 2, OA_HOOK_PRE_TOOL_USE, &text), OA_ERR_INVALID);

	/* a value that is no decision, even from an observer */
	C.decision = 7;
	CHECK_INT(run(h, 6, OA_HOOK_PRE_TOOL_USE, &text), OA_ERR_HOOK);
	CHECK_STR(err, "hook 2 for OA_HOOK_PRE_TOOL_USE returned 7, which is "
	          "not a decision");
	CHECK_STR(hook_log, "AC");
	C.decision = -1;
	CHECK_INT(run(h, 6, OA_HOOK_PRE_TOOL_USE, &text), OA_ERR_HOOK);
	CHECK_STR(err, "hook 2 for OA_HOOK_PRE_TOOL_USE returned -1, which is "
	          "not a decision");
	B.decision = 3;
	CHECK_INT(run(h, 6, OA_HOOK_POST_TOOL_USE, &text), OA_ERR_HOOK);
	CHECK_STR(err, "hook 1 for OA_HOOK_POST_TOOL_USE returned 3, which is "
	          "not a decision");
	CHECK_STR(hook_log, "B");

	/* the event reaches the hook */
	{
		oa_hook_event ev;

		memset(&ev, 0, sizeof ev);
		ev.kind = OA_HOOK_USER_PROMPT_SUBMIT;
		ev.tool_name = "other";
		h[0].kind = OA_HOOK_USER_PROMPT_SUBMIT;
		err[0] = '\0';
		hook_log[0] = '\0';
		CHECK_INT(oa__hooks_run(h, 6, &ev, &text, err), OA_ERR_HOOK);
		CHECK_STR(err, "hook 0 for OA_HOOK_USER_PROMPT_SUBMIT returned "
		          "99, which is not a decision");
	}

	/* the copy obeys the buffer's limit */
	h[0].kind = OA_HOOK_PRE_TOOL_USE;
	C.decision = OA_HOOK_BLOCK;
	strcpy(reason, "a long reason");
	text.limit = 4;
	CHECK_INT(run(h, 6, OA_HOOK_PRE_TOOL_USE, &text), OA_ERR_LIMIT);
	CHECK_STR(err, "hook 2's text: over the limit");
	oa__buf_free(&text);
}

/* ------------------------------------------------------------ memory */

/* A counting allocator that fails the fail_at-th call and tracks live
 * blocks, so a leak shows as live != 0. */
struct counts {
	int calls, fail_at, live;
};

static void *
count_malloc(void *ctx, size_t n)
{
	struct counts *c = ctx;
	void *p;

	if (++c->calls == c->fail_at)
		return NULL;
	if ((p = malloc(n)) != NULL)
		c->live++;
	return p;
}

static void *
count_realloc(void *ctx, void *p, size_t n)
{
	struct counts *c = ctx;
	void *q;

	if (++c->calls == c->fail_at)
		return NULL;
	if ((q = realloc(p, n)) != NULL && p == NULL)
		c->live++;
	return q;
}

static void
count_free(void *ctx, void *p)
{
	struct counts *c = ctx;

	if (p != NULL)
		c->live--;
	free(p);
}

static void
test_nomem(void)
{
	struct counts c;
	oa_allocator al = { count_malloc, count_realloc, count_free, &c };
	oa_tool v[3];
	oa__buf want, got;
	oa__tools t;
	int n, r;

	memset(v, 0, sizeof v);
	memset(&want, 0, sizeof want);
	memset(&got, 0, sizeof got);
	v[0].name = "calc";
	v[0].description = "adds";
	v[0].parameters = NO_SHORTHAND ?
		"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
		"\"number\"},\"b\":{\"type\":\"number\"},\"op\":{\"type\":"
		"\"string\"}},\"required\":[\"a\",\"b\",\"op\"]}" :
		"a:number b:number op:string";
	v[1].name = "search";
	v[1].parameters = "{\"type\":\"object\",\"properties\":{\"q\":"
	                  "{\"type\":\"string\"}},\"required\":[\"q\"]}";
	v[2].name = "now";
	CHECK_INT(oa__tools_init(&T, NULL, v, 3, err), 0);
	oa__tools_put(&T, &want);
	oa__tools_free(&T);

	for (n = 1;; n++) {
		memset(&c, 0, sizeof c);
		c.fail_at = n;
		err[0] = '\0';
		r = oa__tools_init(&t, &al, v, 3, err);
		if (r == 0)
			break;
		CHECK_INT(r, OA_ERR_NOMEM);
		CHECK_STR(err, "out of memory");
		CHECK_INT(c.live, 0);
		CHECK(t.v == NULL && t.n == 0);
		CHECK(n < 100);
	}
	CHECK(n > 5);
	oa__tools_put(&t, &got);
	CHECK_STR(got.p, want.p);
	oa__tools_free(&t);
	CHECK_INT(c.live, 0);
	oa__buf_free(&want);
	oa__buf_free(&got);

	/* the checker: out of memory is an error, not a verdict */
	CHECK_INT(oa__tools_init(&t, NULL, v, 1, err), 0);
	for (n = 1;; n++) {
		oa__json a, s;
		oa__buf tmp;
		char *copy;

		memset(&a, 0, sizeof a);
		memset(&s, 0, sizeof s);
		memset(&tmp, 0, sizeof tmp);
		memset(&c, 0, sizeof c);
		s.alloc = tmp.alloc = &al;
		CHECK((copy = parse_copy(&a, "{\"a\":1,\"b\":2}")) != NULL);
		c.fail_at = n;
		r = oa__tools_check(t.v, &a, &s, &tmp, msg, sizeof msg);
		oa__json_free(&a);
		oa__json_free(&s);
		oa__buf_free(&tmp);
		free(copy);
		CHECK_INT(c.live, 0);
		if (r != OA_ERR_NOMEM)
			break;
		CHECK_HAS(msg, "out of memory");
	}
	CHECK_INT(r, 1);
	CHECK_STR(msg, "missing required argument \"op\"");
	oa__tools_free(&t);
}

int
main(int argc, char **argv)
{
	static const struct test tests[] = {
		{ "shorthand", test_shorthand },
		{ "shorthand_errors", test_shorthand_errors },
		{ "full_schema", test_full_schema },
		{ "names", test_names },
		{ "put", test_put },
		{ "check_required_and_types", test_check_required_and_types },
		{ "check_full", test_check_full },
		{ "check_enum", test_check_enum },
		{ "args", test_args },
		{ "results", test_results },
		{ "hooks", test_hooks },
		{ "nomem", test_nomem },
		{ NULL, NULL }
	};
	int r = test_main("test_tools", argc, argv, tests);

	oa__tools_free(&T);
	return r;
}
