/*
 * test_textfilter.c -- tool calls, think tags and repaired JSON in the
 * reply text. Every vector is fed whole, one byte at a time, and split in
 * two at every offset, from a copy that ends exactly where its allocation
 * does; all must give the same segments. Segments are rendered with
 * adjacent text (and thinking) joined, since how text is cut depends on
 * the feeds:
 *     [T]text   [K]thinking   [C name]args   [C* name]args (repaired)
 *     [E why]raw (a call that cannot be read)
 */
#include "oa_modules.h"
#include "test.h"

#define T OA__TF_TOOLS
#define K OA__TF_THINK
#define O OA__TF_THINK_OPEN
#define L OA__TF_LENIENT

/* ---------------------------------------------------------------- helpers */

struct counter {
	int calls;  /* malloc and realloc calls */
	int live;   /* blocks not freed */
	int fail_at; /* refuse the call with this number (1-based); 0: none */
};

static void *
count_malloc(void *ctx, size_t n)
{
	struct counter *c = ctx;
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
	struct counter *c = ctx;
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
	struct counter *c = ctx;

	if (p != NULL)
		c->live--;
	free(p);
}

static oa_allocator
counting(struct counter *c)
{
	oa_allocator a;

	memset(c, 0, sizeof *c);
	a.malloc = count_malloc;
	a.realloc = count_realloc;
	a.free = count_free;
	a.ctx = c;
	return a;
}

/* Append one segment; a broken one (empty, or a string without its NUL)
 * shows as "<BAD>" so the comparison fails. */
static void
render(oa__buf *o, int *last, const oa__tf_seg *s)
{
	if (s->type == OA__TF_TEXT || s->type == OA__TF_THINKING) {
		if (s->len == 0 || s->text[s->len] != '\0')
			oa__buf_puts(o, "<BAD>");
		if (*last != s->type)
			oa__buf_puts(o, s->type == OA__TF_TEXT ? "[T]" : "[K]");
		oa__buf_append(o, s->text, s->len);
	} else if (s->type == OA__TF_TOOL_CALL) {
		if (s->name[s->name_len] != '\0' || s->args[s->args_len] != '\0')
			oa__buf_puts(o, "<BAD>");
		if (s->error)
			oa__buf_printf(o, "[E %s]", s->error);
		else
			oa__buf_printf(o, "[C%s %s]", s->repaired ? "*" : "",
			               s->name);
		oa__buf_append(o, s->args, s->args_len);
	} else {
		oa__buf_puts(o, "<BAD TYPE>");
	}
	*last = s->type;
}

/* Feed in[0, n) in pieces ending at cuts[0..ncuts) and then at n, and
 * render every segment into o. Returns 0 or the first error. */
static int
run(const oa_allocator *a, unsigned flags, size_t max, const char *in,
    size_t n, const size_t *cuts, size_t ncuts, oa__buf *o, char *err)
{
	oa__tf f;
	oa__tf_seg seg;
	size_t at = 0, end, i;
	int last = 0, r = 0;

	oa__tf_init(&f, a, flags, max);
	oa__buf_reset(o);
	for (i = 0; i <= ncuts && r >= 0; i++) {
		end = i < ncuts ? cuts[i] : n;
		if ((r = oa__tf_feed(&f, in + at, end - at, err)) != 0)
			break;
		while ((r = oa__tf_next(&f, &seg, err)) > 0)
			render(o, &last, &seg);
		at = end;
	}
	if (r == 0) {
		oa__tf_finish(&f);
		while ((r = oa__tf_next(&f, &seg, err)) > 0)
			render(o, &last, &seg);
	}
	oa__tf_free(&f);
	return r;
}

/* ---------------------------------------------------------------- vectors */

static const struct vector {
	unsigned flags;
	const char *in;
	const char *want;
} vectors[] = {
	/* ordinary text, and text that only looks like a tag */
	{ T | K, "Hello, world.", "[T]Hello, world." },
	{ T | K, "a < b, [c] and <tool or [TOOL x <tool_call </tool_call> "
	  "<think> [TOOL_CALLS", "[T]a < b, [c] and <tool or [TOOL x "
	  "<tool_call </tool_call> <think> [TOOL_CALLS" },
	{ T, "", "" },
	{ 0, "<tool_call>{\"name\":\"f\",\"arguments\":{}}</tool_call>",
	  "[T]<tool_call>{\"name\":\"f\",\"arguments\":{}}</tool_call>" },

	/* Hermes / Qwen */
	{ T, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
	  "{\"city\": \"Paris\"}}\n</tool_call>",
	  "[C get_weather]{\"city\": \"Paris\"}" },
	{ T, "Let me check.\n<tool_call>\n{\"name\": \"a\", \"arguments\": "
	  "{\"x\": 1}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", "
	  "\"arguments\": {}}\n</tool_call>\nDone.",
	  "[T]Let me check.\n[C a]{\"x\": 1}[T]\n[C b]{}[T]\nDone." },
	{ T, "<tool_call>{\"name\":\"f\\u00e9\",\"arguments\":"
	  "\"{\\\"q\\\":\\\"a b\\\"}\"}</tool_call>",
	  "[C f\xc3\xa9]{\"q\":\"a b\"}" },
	{ T, "<tool_call>{\"name\":\"now\"}</tool_call><tool_call>{\"name\":"
	  "\"g\",\"parameters\":{\"a\":[1,2]}}</tool_call>",
	  "[C now]{}[C g]{\"a\":[1,2]}" },
	{ T, "<tool_call>[{\"name\":\"a\",\"arguments\":{}},{\"name\":\"b\","
	  "\"arguments\":{\"s\":\"</tool\"}}]</tool_call>",
	  "[C a]{}[C b]{\"s\":\"</tool\"}" },
	{ T, "<tool_call>{\"name\":\"f\",\"arguments\":{\"a\":1,}}"
	  "</tool_call>ok",
	  "[E the tool call is not valid JSON]{\"name\":\"f\",\"arguments\":"
	  "{\"a\":1,}}[T]ok" },
	{ T | L, "<tool_call>{\"name\":\"f\",\"arguments\":{\"a\":1,}}"
	  "</tool_call>ok", "[C* f]{\"a\":1}[T]ok" },
	{ T | L, "<tool_call>\n```json\n{'name': 'f', 'arguments': "
	  "{'q': True}}\n```\n</tool_call>", "[C* f]{\"q\": true}" },
	{ T, "<tool_call>{\"arguments\":{}}</tool_call>",
	  "[E the tool call has no name]{\"arguments\":{}}" },
	{ T, "<tool_call>[1]</tool_call>",
	  "[E the tool call has no name]1" },
	/* the reply ends inside a call */
	{ T, "x<tool_call>{\"name\":\"f\",\"arguments\":{}}",
	  "[T]x[C f]{}" },
	{ T, "x<tool_call>{\"name\":\"f\",\"argu",
	  "[T]x<tool_call>{\"name\":\"f\",\"argu" },
	{ T | L, "x<tool_call>{\"name\":\"f\",\"argu", "[T]x[C* f]{}" },
	{ T | L, "<tool_call>hello", "[T]<tool_call>hello" },
	{ T | L, "<tool_call>{'name':'f','a':'\001\001\001", "[C* f]{}" },
	{ T, "a <tool_call", "[T]a <tool_call" },

	/* Mistral */
	{ T, "[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {\"x\": \"]\"}}, "
	  "{\"name\": \"b\", \"arguments\": {}}]",
	  "[C a]{\"x\": \"]\"}[C b]{}" },
	{ T, "Sure.[TOOL_CALLS][{\"name\":\"a\",\"arguments\":{}}] after",
	  "[T]Sure.[C a]{}[T] after" },
	{ T, "[TOOL_CALLS]{\"name\":\"a\",\"arguments\":{}}", "[C a]{}" },
	{ T, "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}"
	  "[TOOL_CALLS]f[CALL_ID]abc123def[ARGS]{}",
	  "[C get_weather]{\"city\": \"Paris\"}[C f]{}" },
	{ T, "[TOOL_CALLS]f{\"s\": \"}\"}", "[C f]{\"s\": \"}\"}" },
	{ T, "[TOOL_CALLS] is a special token, [TOOL_CALLS]!",
	  "[T][TOOL_CALLS] is a special token, [TOOL_CALLS]!" },
	{ T, "[TOOL_CALLS]abc", "[T][TOOL_CALLS]abc" },
	{ T, "[TOOL_CALLS]f[ARGS]{\"a\":", "[T][TOOL_CALLS]f[ARGS]{\"a\":" },
	{ T, "[TOOL_CALLS][{\"name\":\"a\"", "[T][TOOL_CALLS][{\"name\":\"a\"" },
	{ T, "[TOOL_CALLS] ", "[T][TOOL_CALLS] " },
	{ T, "[TOOL_CALLS][nope]", "[E the tool call is not valid JSON]"
	  "[nope]" },

	/* a whole reply that is one call */
	{ T, "{\"name\": \"f\", \"arguments\": {\"a\": 1}}",
	  "[C f]{\"a\": 1}" },
	{ T, "\n```json\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n```\n",
	  "[C f]{\"a\": 1}" },
	{ T, "```\n{\"name\":\"f\",\"parameters\":{}}\n```", "[C f]{}" },
	{ T, "{\"name\": \"f\", \"arguments\": {\"a\": 1,},}",
	  "[T]{\"name\": \"f\", \"arguments\": {\"a\": 1,},}" },
	{ T | L, "{\"name\": \"f\", \"arguments\": {\"a\": 1,},}",
	  "[C* f]{\"a\": 1}" },
	/* ... and replies that only look like one */
	{ T, "{\"answer\": 42}", "[T]{\"answer\": 42}" },
	{ T, "{\"name\": \"Bob\"}", "[T]{\"name\": \"Bob\"}" },
	{ T, "{\"name\": \"\", \"arguments\": {}}",
	  "[T]{\"name\": \"\", \"arguments\": {}}" },
	{ T, "{\"a\": 1} and more", "[T]{\"a\": 1} and more" },
	{ T, "{\"name\":\"f\",\"arguments\":{}}\nI called it.",
	  "[T]{\"name\":\"f\",\"arguments\":{}}\nI called it." },
	{ T, "```python\nprint(1)\n```", "[T]```python\nprint(1)\n```" },
	{ T, "`x` is a variable", "[T]`x` is a variable" },
	{ T, "``", "[T]``" },
	{ K, "{\"name\":\"f\",\"arguments\":{}}",
	  "[T]{\"name\":\"f\",\"arguments\":{}}" },
	{ T, "  {\"a\": <tool_call>{\"name\":\"f\"}</tool_call>",
	  "[T]  {\"a\": [C f]{}" },

	/* thinking */
	{ K, "<think>I should greet.</think>\n\nHello!",
	  "[K]I should greet.[T]Hello!" },
	{ K, " \n<think>\nx\n</think>y", "[K]\nx\n[T]y" },
	{ K, "<think>a</thin b</think>c", "[K]a</thin b[T]c" },
	{ K, "</think>Hello", "[T]Hello" },
	{ K, "\n</think>\n\nHello", "[T]Hello" },
	{ K, "<think>still thinking", "[K]still thinking" },
	{ K, "<think></think>", "" },
	{ K, "<think>a</think>  ", "[K]a" },
	{ K, "  ", "[T]  " },
	{ K, "<thi", "[T]<thi" },
	{ K, "Hi <think>x</think>", "[T]Hi <think>x</think>" },
	{ K, "<thinking>x", "[T]<thinking>x" },
	{ 0, "<think>x</think>y", "[T]<think>x</think>y" },
	{ K | O, "reasoning here</think>\n\nAnswer",
	  "[K]reasoning here[T]Answer" },
	{ K | O, "<think>r</think>a", "[K]r[T]a" },
	{ O, "no end", "[K]no end" },
	{ K | T, "<think>need weather</think>\n<tool_call>{\"name\":\"w\","
	  "\"arguments\":{}}</tool_call>", "[K]need weather[C w]{}" },
	{ K | T, "<think>x</think>{\"name\":\"w\",\"arguments\":{}}",
	  "[K]x[C w]{}" },
	{ K | T, "<think>I might call <tool_call>x</tool_call></think>ok",
	  "[K]I might call <tool_call>x</tool_call>[T]ok" },
	{ K | T | O, "hmm</think>[TOOL_CALLS][]done", "[K]hmm[T]done" },
};

/* Run one vector every way; o gets the first rendering that differs. */
static int
check_vector(const struct vector *v, oa__buf *o)
{
	size_t n = strlen(v->in), i, *cuts;
	char *in = malloc(n ? n : 1), err[OA__ERRLEN] = "";
	int ok = 1;

	if (in == NULL || (cuts = malloc((n + 1) * sizeof *cuts)) == NULL) {
		free(in);
		return 0;
	}
	memcpy(in, v->in, n);
	ok = run(NULL, v->flags, 0, in, n, NULL, 0, o, err) == 0 &&
	     strcmp(o->p, v->want) == 0;
	for (i = 0; ok && i + 1 < n; i++)
		cuts[i] = i + 1;
	if (ok && n > 1)
		ok = run(NULL, v->flags, 0, in, n, cuts, n - 1, o, err) == 0 &&
		     strcmp(o->p, v->want) == 0;
	for (i = 0; ok && i <= n; i++) {
		cuts[0] = i;
		ok = run(NULL, v->flags, 0, in, n, cuts, 1, o, err) == 0 &&
		     strcmp(o->p, v->want) == 0;
	}
	if (!ok)
		fprintf(stderr, "input \"%s\" (flags %u): got \"%s\" (%s)\n",
		        v->in, v->flags, o->p, err);
	free(cuts);
	free(in);
	return ok;
}

static void
test_vectors(void)
{
	oa__buf o = { 0 };
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
		bad += !check_vector(&vectors[i], &o);
	oa__buf_free(&o);
	CHECK_INT(bad, 0);
}

/* ---------------------------------------------------------------- delays */

static int
next_is(oa__tf *f, int type, const char *s)
{
	char err[OA__ERRLEN] = "";
	oa__tf_seg seg;

	if (oa__tf_next(f, &seg, err) != 1)
		return 0;
	return seg.type == type && seg.len == strlen(s) &&
	       memcmp(seg.text, s, seg.len) == 0 && seg.text[seg.len] == '\0';
}

static int
drained(oa__tf *f)
{
	char err[OA__ERRLEN] = "";
	oa__tf_seg seg;

	return oa__tf_next(f, &seg, err) == 0;
}

static int
feed(oa__tf *f, const char *s)
{
	char err[OA__ERRLEN] = "";

	return oa__tf_feed(f, s, strlen(s), err);
}

/* Text is held back only while its tail could still become a tag. */
static void
test_delay_bound(void)
{
	oa__tf f;
	int ok;

	oa__tf_init(&f, NULL, T | K, 0);
	ok = feed(&f, "Hello") == 0 && next_is(&f, OA__TF_TEXT, "Hello") &&
	     drained(&f) &&
	     feed(&f, " a<") == 0 && next_is(&f, OA__TF_TEXT, " a") &&
	     drained(&f) &&
	     feed(&f, "b [TOOL") == 0 && next_is(&f, OA__TF_TEXT, "<b ") &&
	     drained(&f) &&
	     feed(&f, "S]") == 0 && next_is(&f, OA__TF_TEXT, "[TOOLS]") &&
	     drained(&f) &&
	     feed(&f, "<tool_ca") == 0 && drained(&f) &&
	     feed(&f, "lX") == 0 && next_is(&f, OA__TF_TEXT, "<tool_calX") &&
	     drained(&f) &&
	     feed(&f, "<") == 0 && drained(&f);
	oa__tf_finish(&f);
	ok = ok && next_is(&f, OA__TF_TEXT, "<") && drained(&f);
	oa__tf_free(&f);
	CHECK(ok);

	/* thinking streams too; blanks at the start wait for a visible byte */
	oa__tf_init(&f, NULL, T | K, 0);
	ok = feed(&f, "\n ") == 0 && drained(&f) &&
	     feed(&f, "<think>abc</th") == 0 &&
	     next_is(&f, OA__TF_THINKING, "abc") && drained(&f) &&
	     feed(&f, "x") == 0 && next_is(&f, OA__TF_THINKING, "</thx") &&
	     drained(&f) &&
	     feed(&f, "</think>\n") == 0 && drained(&f) &&
	     feed(&f, "Hi") == 0 && next_is(&f, OA__TF_TEXT, "Hi");
	oa__tf_free(&f);
	CHECK(ok);

	/* without flags nothing is held at all */
	oa__tf_init(&f, NULL, 0, 0);
	ok = feed(&f, " <tool_") == 0 &&
	     next_is(&f, OA__TF_TEXT, " <tool_") && drained(&f);
	oa__tf_free(&f);
	CHECK(ok);
}

/* A reply starting with '{' is held to the end, unless it stops looking
 * like one JSON object. */
static void
test_whole_reply_hold(void)
{
	oa__tf f;
	int ok;

	oa__tf_init(&f, NULL, T, 0);
	ok = feed(&f, "{\"a\": 1}") == 0 && drained(&f) &&
	     feed(&f, "  ") == 0 && drained(&f) &&
	     feed(&f, "x") == 0 && next_is(&f, OA__TF_TEXT, "{\"a\": 1}  x");
	oa__tf_free(&f);
	CHECK(ok);

	oa__tf_init(&f, NULL, T, 0);
	ok = feed(&f, "```js") == 0 && drained(&f) &&
	     feed(&f, "on\n[") == 0 &&
	     next_is(&f, OA__TF_TEXT, "```json\n") && drained(&f) &&
	     feed(&f, "x") == 0 && next_is(&f, OA__TF_TEXT, "[x");
	oa__tf_free(&f);
	CHECK(ok);
}

/* ---------------------------------------------------------------- repair */

static const struct repair {
	const char *in;
	int ret;
	const char *want;
} repairs[] = {
	{ "{\"a\": 1}", 0, "{\"a\": 1}" },
	{ "  [1, 2]\n", 0, "  [1, 2]\n" },
	{ "```json\n{\"a\": 1}\n```", 1, "{\"a\": 1}" },
	{ "```\n[1, 2]\n```\n", 1, "[1, 2]" },
	{ "{\"a\": 1,}", 1, "{\"a\": 1}" },
	{ "{\"a\": [1, 2, ], }", 1, "{\"a\": [1, 2 ] }" },
	{ "{'a': 'say \"hi\"', 'b': 'it\\'s', 'c': 'x\\n'}", 1,
	  "{\"a\": \"say \\\"hi\\\"\", \"b\": \"it's\", \"c\": \"x\\n\"}" },
	{ "{a: 1, b_2: \"x\", $c: null}", 1,
	  "{\"a\": 1, \"b_2\": \"x\", \"$c\": null}" },
	{ "{\"a\": True, \"b\": False, \"c\": None, \"d\": \"True\"}", 1,
	  "{\"a\": true, \"b\": false, \"c\": null, \"d\": \"True\"}" },
	{ "{\"a\": {\"b\": [1, 2", 1, "{\"a\": {\"b\": [1, 2]}}" },
	{ "{\"a\": \"hel", 1, "{\"a\": \"hel\"}" },
	{ "{\"a\": \"x\\", 1, "{\"a\": \"x\"}" },
	{ "{\"a\":", 1, "{\"a\":null}" },
	{ "{\"a\"", 1, "{\"a\":null}" },
	{ "{\"a\": 1, ", 1, "{\"a\": 1}" },
	{ "{\"a\": [1}", 1, "{\"a\": [1]}" },
	{ "{\"a\": \"line1\nline2\t\x01\"}", 1,
	  "{\"a\": \"line1\\nline2\\t\\u0001\"}" },
	{ "```json\n{name: 'f', 'arguments': {'x': [1, 2,],},}", 1,
	  "{\"name\": \"f\", \"arguments\": {\"x\": [1, 2]}}" },
};

static void
test_repair(void)
{
	oa__json j = { 0 };
	oa__buf o = { 0 };
	char err[OA__ERRLEN];
	size_t i, n;
	char *in;
	int r, bad = 0;

	for (i = 0; i < sizeof repairs / sizeof repairs[0]; i++) {
		n = strlen(repairs[i].in);
		if ((in = malloc(n)) == NULL)
			break;
		memcpy(in, repairs[i].in, n);
		err[0] = '\0';
		r = oa__json_repair(in, n, &o, &j, err);
		if (r != repairs[i].ret || strcmp(o.p, repairs[i].want) != 0 ||
		    (oa__json_type(&j, 0) != OA__JSON_OBJECT &&
		     oa__json_type(&j, 0) != OA__JSON_ARRAY)) {
			fprintf(stderr, "repair \"%s\": %d \"%s\" (%s)\n",
			        repairs[i].in, r, o.p ? o.p : "", err);
			bad++;
		}
		free(in);
	}
	oa__buf_free(&o);
	oa__json_free(&j);
	CHECK_INT(bad, 0);
}

static void
test_repair_fails(void)
{
	static const char *const bad[] = {
		"hello", "", "   ", "\"a string\"", "42", "{\"a\": tru",
		"{\"a\" 1}", "{\"a\":,}", "}",
	};
	char deep[200], err[OA__ERRLEN];
	oa__json j = { 0 };
	oa__buf o = { 0 };
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		CHECK_INT(oa__json_repair(bad[i], strlen(bad[i]), &o, &j, err),
		          OA_ERR_STREAM);
		CHECK_HAS(err, "not JSON even after repair: ");
	}
	err[0] = '\0';
	CHECK_INT(oa__json_repair("\"s\"", 3, &o, &j, err), OA_ERR_STREAM);
	CHECK_STR(err, "not JSON even after repair: not an object or array");

	/* 64 levels are closed; 65 are too deep */
	memset(deep, '[', 65);
	CHECK_INT(oa__json_repair(deep, 64, &o, &j, err), 1);
	CHECK_INT(o.len, 128);
	CHECK_INT(o.p[64], ']');
	err[0] = '\0';
	CHECK_INT(oa__json_repair(deep, 65, &o, &j, err), OA_ERR_LIMIT);
	CHECK_STR(err, "JSON nested deeper than 64 levels cannot be repaired");

	/* the output buffer's limit */
	o.limit = 6;
	err[0] = '\0';
	CHECK_INT(oa__json_repair("{\"a\":1,}", 8, &o, &j, err), OA_ERR_LIMIT);
	CHECK_STR(err, "repaired JSON exceeds 6 bytes");
	oa__buf_free(&o);
	oa__json_free(&j);
}

/* ---------------------------------------------------------------- memory */

static const char round_text[] =
	"Some text, then <b>calls</b>:\n<tool_call>\n{\"name\": \"f\", "
	"\"arguments\": {\"a\": [1, 2, 3], \"s\": \"x\"}}\n</tool_call>\n"
	"[TOOL_CALLS][{\"name\":\"g\",\"arguments\":{'b': True,}}]"
	"and more text after them.\n";

/* Feed text in pieces of `step` bytes and drain; count the calls seen. */
static int
feed_round(oa__tf *f, const char *s, size_t n, size_t step, int *ncalls)
{
	char err[OA__ERRLEN] = "";
	oa__tf_seg seg;
	size_t at, k;
	int r;

	for (at = 0; at < n; at += k) {
		k = n - at < step ? n - at : step;
		if ((r = oa__tf_feed(f, s + at, k, err)) != 0)
			return r;
		while ((r = oa__tf_next(f, &seg, err)) > 0)
			*ncalls += seg.type == OA__TF_TOOL_CALL && !seg.error;
		if (r < 0)
			return r;
	}
	return 0;
}

/* Once the buffers have their working size, feeding allocates nothing,
 * and free returns everything. */
static void
test_no_allocation_per_feed(void)
{
	struct counter c;
	oa_allocator a = counting(&c);
	char text[10000];
	oa__tf f;
	int i, calls, ncalls = 0;

	memset(text, 'x', sizeof text);
	oa__tf_init(&f, &a, T | K | L, 0);
	CHECK_INT(c.calls, 0);
	CHECK_INT(feed_round(&f, round_text, sizeof round_text - 1, 1,
	                     &ncalls), 0);
	CHECK_INT(ncalls, 2);
	calls = c.calls;
	CHECK(calls > 0);
	for (i = 0; i < 5; i++)
		CHECK_INT(feed_round(&f, round_text, sizeof round_text - 1,
		                     (size_t)i + 1, &ncalls), 0);
	CHECK_INT(ncalls, 12);
	CHECK_INT(feed_round(&f, text, sizeof text, 7, &ncalls), 0);
	CHECK_INT(c.calls, calls);
	/* a new reply reuses the memory too */
	oa__tf_reset(&f);
	CHECK_INT(feed_round(&f, round_text, sizeof round_text - 1, 3,
	                     &ncalls), 0);
	CHECK_INT(c.calls, calls);
	oa__tf_free(&f);
	CHECK_INT(c.live, 0);
}

/* Failing each allocation in turn gives OA_ERR_NOMEM, which sticks, and
 * leaks nothing; with enough memory the output is complete. */
static void
test_nomem(void)
{
	struct counter c;
	oa_allocator a;
	oa__buf o = { 0 };
	char err[OA__ERRLEN];
	int n, r = -1;

	for (n = 1; n < 100 && r != 0; n++) {
		a = counting(&c);
		c.fail_at = n;
		err[0] = '\0';
		r = run(&a, T | K | L, 0, round_text, sizeof round_text - 1,
		        NULL, 0, &o, err);
		CHECK(r == 0 || r == OA_ERR_NOMEM);
		if (r != 0)
			CHECK_STR(err, "no memory to filter the reply text");
		CHECK_INT(c.live, 0);
	}
	CHECK_INT(r, 0);
	CHECK_STR(o.p, "[T]Some text, then <b>calls</b>:\n[C f]{\"a\": [1, 2, "
	          "3], \"s\": \"x\"}[T]\n[C* g]{\"b\": true}[T]and more text "
	          "after them.\n");
	oa__buf_free(&o);
}

/* ---------------------------------------------------------------- limits */

static void
test_limit(void)
{
	char err[OA__ERRLEN] = "", big[40];
	oa__tf_seg seg;
	oa__tf f;
	int i, r = 0;

	memset(big, 'x', sizeof big);
	/* text is released as it comes, so it never counts against max */
	oa__tf_init(&f, NULL, T | K, 35);
	for (i = 0; i < 100 && r == 0; i++) {
		if ((r = oa__tf_feed(&f, big, 10, err)) != 0)
			break;
		while ((r = oa__tf_next(&f, &seg, err)) > 0)
			;
	}
	CHECK_INT(r, 0);

	/* a call body is held: past 35 bytes it is an error, which sticks */
	CHECK_INT(oa__tf_feed(&f, "<tool_call>", 11, err), 0);
	CHECK_INT(oa__tf_next(&f, &seg, err), 0);
	CHECK_INT(oa__tf_feed(&f, big, 20, err), 0);
	CHECK_INT(oa__tf_next(&f, &seg, err), 0);
	CHECK_INT(oa__tf_feed(&f, big, 4, err), 0);
	CHECK_INT(oa__tf_next(&f, &seg, err), 0);
	CHECK_INT(oa__tf_feed(&f, big, 1, err), OA_ERR_LIMIT);
	CHECK_STR(err, "text held while looking for tool calls or think tags "
	          "exceeds 35 bytes");
	CHECK_INT(oa__tf_next(&f, &seg, err), OA_ERR_LIMIT);
	CHECK_INT(oa__tf_feed(&f, "a", 1, err), OA_ERR_LIMIT);

	/* reset makes it usable again; a call of exactly 35 bytes fits */
	oa__tf_reset(&f);
	CHECK_INT(feed(&f, "<tool_call>{\"name\":\"f\"}</tool_call>"), 0);
	CHECK_INT(oa__tf_next(&f, &seg, err), 1);
	CHECK_INT(seg.type, OA__TF_TOOL_CALL);
	CHECK_STR(seg.name, "f");
	CHECK_STR(seg.args, "{}");
	CHECK_INT(seg.repaired, 0);
	CHECK(seg.error == NULL);
	CHECK_INT(oa__tf_next(&f, &seg, err), 0);

	/* max bounds the repaired copy too: this call fits in 35 bytes but
	 * its repair does not, so it reads as not JSON, here at the end of
	 * the reply as text (with no limit it is "[C* f]{}", see vectors) */
	oa__tf_reset(&f);
	CHECK_INT(feed(&f, "<tool_call>{'name':'f','a':'\001\001\001"), 0);
	CHECK_INT(oa__tf_next(&f, &seg, err), 0);
	oa__tf_finish(&f);
	CHECK(next_is(&f, OA__TF_TEXT,
	              "<tool_call>{'name':'f','a':'\001\001\001"));
	CHECK(drained(&f));

	/* a whole reply of more than max is an error too */
	oa__tf_reset(&f);
	CHECK_INT(feed(&f, "{\"name\":\"f\",\"arguments\":{\"s\":\"aaaaa"), 0);
	CHECK_INT(oa__tf_next(&f, &seg, err), 0);
	CHECK_INT(feed(&f, "a"), OA_ERR_LIMIT);
	oa__tf_free(&f);
}

static void
test_state(void)
{
	char err[OA__ERRLEN] = "";
	oa__tf_seg seg;
	oa__tf f;

	/* an unused filter, and one that is only finished */
	oa__tf_init(&f, NULL, T | K | L, 0);
	oa__tf_free(&f);
	oa__tf_init(&f, NULL, T | K | L, 0);
	oa__tf_finish(&f);
	CHECK_INT(oa__tf_next(&f, &seg, err), 0);
	CHECK_INT(oa__tf_feed(&f, "x", 1, err), OA_ERR_STATE);
	CHECK_STR(err, "reply text fed after its end");
	/* reset starts a new reply, with the think tags allowed again */
	oa__tf_reset(&f);
	CHECK_INT(feed(&f, "<think>a</think>b"), 0);
	CHECK(next_is(&f, OA__TF_THINKING, "a"));
	CHECK(next_is(&f, OA__TF_TEXT, "b"));
	CHECK(drained(&f));
	/* an empty feed is fine */
	CHECK_INT(oa__tf_feed(&f, NULL, 0, err), 0);
	CHECK(drained(&f));
	oa__tf_free(&f);
}

/* ---------------------------------------------------------------- main */

static const struct test tests[] = {
	{ "vectors", test_vectors },
	{ "delay_bound", test_delay_bound },
	{ "whole_reply_hold", test_whole_reply_hold },
	{ "repair", test_repair },
	{ "repair_fails", test_repair_fails },
	{ "no_allocation_per_feed", test_no_allocation_per_feed },
	{ "nomem", test_nomem },
	{ "limit", test_limit },
	{ "state", test_state },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	return test_main("textfilter", argc, argv, tests);
}
