/*
 * test_agent.c -- tools, automatic execution, hooks and interrupt, through
 * real sockets, public API only.
 *
 * Like test_client.c, each test starts test/server.py (OA_TEST_SERVER) on
 * 127.0.0.1 with a scenario of responses and reads back the requests it
 * recorded, so every test pins both sides: the exact blocks oa_next()
 * hands out and the exact request body that follows them. Scenarios and
 * expected bodies are written with ' for " (JSON inside a JSON string is
 * \\'); q() swaps them back. Expected bodies that carry text the library
 * makes up (generated ids, parser messages) are built at run time from
 * the blocks, with esc() for the JSON escaping.
 *
 * A turn is rendered as one string, e.g.
 *     [use:call_1 add {"a":1}][result:call_1 3][end:tool_calls 1/2/3]
 * with [err:ID NAME WHY|RAW] for a tool-use error. The ids of tool-use
 * blocks are kept (uses[]) so the test can answer them.
 *
 * Part one runs every tool-call stream shape of docs/provider-compatibility.md in manual mode:
 * the reply, one result per tool-use block, oa_continue(), and the exact
 * follow-up request. Part two covers manual and auto execution, errors
 * the model makes, the round limit, hooks, interrupt and no_stream.
 * Many tests use a counting allocator and check that nothing is left.
 */
#include <pthread.h>

#include "harness.h"

/* ------------------------------------------------------- expected bodies */

/* s escaped for the inside of a JSON string, as the library writes it. */
static const char *
esc(const char *s)
{
	static char buf[4][4096];
	static int next;
	char *o = buf[next++ % 4];
	size_t n = 0;

	for (; *s && n < sizeof buf[0] - 8; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			o[n++] = '\\';
			o[n++] = (char)c;
		} else if (c == '\n') {
			o[n++] = '\\';
			o[n++] = 'n';
		} else if (c == '\t') {
			o[n++] = '\\';
			o[n++] = 't';
		} else if (c < 0x20) {
			n += (size_t)sprintf(o + n, "\\u%04x", c);
		} else {
			o[n++] = (char)c;
		}
	}
	o[n] = '\0';
	return o;
}

/* The whole request body with the default options around msgs (real
 * JSON); tools in ' form or NULL; stream 0 for a no_stream request. */
static const char *
want(const char *tools, const char *msgs, int stream)
{
	static char out[64 * 1024];

	snprintf(out, sizeof out, "%s%s]%s%s%s",
	         q("{'model':'test','messages':["), msgs,
	         tools ? q(",'tools':") : "", tools ? q(tools) : "",
	         stream ? q(",'stream':true,'stream_options':{'include_usage':"
	                    "true},'max_tokens':4096,'temperature':0.7}")
	                : q(",'stream':false,'max_tokens':4096,"
	                    "'temperature':0.7}"));
	return out;
}

/* ------------------------------------------------------ scenario building */

#define USAGE_CHUNK(p, c, t)                                                 \
	"{'id':'chatcmpl-1','object':'chat.completion.chunk','choices':[],"  \
	USAGE(p, c, t) "}"
/* A delta carrying tool-call fragments (a comma-separated list). */
#define CALLS(list) CHUNK("{'tool_calls':[" list "]}", "null")
/* The first fragment of a call (OpenAI, llama.cpp: arguments ""), an
 * arguments fragment, and a whole call in one fragment. */
#define HEAD(i, id, name)                                                    \
	"{'index':" #i ",'id':'" id "','type':'function','function':{"      \
	"'name':'" name "','arguments':''}}"
#define ARGS(i, a) "{'index':" #i ",'function':{'arguments':'" a "'}}"
#define WHOLE(i, id, name, a)                                                \
	"{'index':" #i ",'id':'" id "','type':'function','function':{"      \
	"'name':'" name "','arguments':'" a "'}}"
/* A whole streamed reply of tool calls: finish_reason tool_calls. */
#define CALL_REPLY(list)                                                     \
	"{'events':[" ROLE "," CALLS(list) "," FINISH("tool_calls") ","      \
	DONE "]}"

/* Arguments as they appear inside a JSON string. */
#define J_ADD(a, b) "{\\'a\\':" #a ",\\'b\\':" #b "}"
#define J_CITY(c) "{\\'city\\':\\'" c "\\'}"

/* Messages of the expected bodies, besides MSG (harness.h). */
#define ASSIST(text, calls)                                                  \
	"{'role':'assistant','content':'" text "','tool_calls':[" calls "]}"
#define CALL(id, name, a)                                                    \
	"{'id':'" id "','type':'function','function':{'name':'" name        \
	"','arguments':'" a "'}}"
#define RESULT(id, text)                                                     \
	"{'role':'tool','tool_call_id':'" id "','content':'" text "'}"

#define ADD_SCHEMA                                                           \
	"{'type':'object','properties':{'a':{'type':'number'},'b':{'type':"  \
	"'number'}},'required':['a','b']}"
#define WEATHER_SCHEMA                                                       \
	"{'type':'object','properties':{'city':{'type':'string'}},"          \
	"'required':['city']}"
#define TOOL_JSON(name, desc, schema)                                        \
	"{'type':'function','function':{'name':'" name "','description':'"  \
	desc "','parameters':" schema "}}"
/* The tools array of the manual and the auto tool tables. */
#define TOOLS_M                                                              \
	"[" TOOL_JSON("add", "Add two numbers", ADD_SCHEMA) ","              \
	TOOL_JSON("get_weather", "", WEATHER_SCHEMA) "]"
#define TOOLS_A                                                              \
	"[" TOOL_JSON("add", "Add two numbers", ADD_SCHEMA) ","              \
	TOOL_JSON("divide", "Divide a by b", ADD_SCHEMA) "]"

/* ------------------------------------------------------- tools and hooks */

/* What the handlers saw: "name{args};" per call, in order. */
static char handled[2048];
static int nhandled;

static void
note_call(const char *name, oa_args *args)
{
	size_t n = strlen(handled);
	const char *json = oa_args_json(args, NULL);

	nhandled++;
	snprintf(handled + n, sizeof handled - n, "%s%s;", name,
	         json ? json : "(null)");
}

static int
numbers(oa_args *args, double *a, double *b, oa_result *out)
{
	if (oa_args_number(args, "a", a) != 0 ||
	    oa_args_number(args, "b", b) != 0) {
		oa_result_puts(out, "a and b must be numbers");
		return 1;
	}
	return 0;
}

static int
tool_add(void *ctx, oa_args *args, oa_result *out)
{
	double a, b;

	(void)ctx;
	note_call("add", args);
	if (numbers(args, &a, &b, out))
		return 1;
	oa_result_printf(out, "%g", a + b);
	return 0;
}

static int
tool_divide(void *ctx, oa_args *args, oa_result *out)
{
	double a, b;

	(void)ctx;
	note_call("divide", args);
	if (numbers(args, &a, &b, out))
		return 1;
	if (b == 0) {
		oa_result_puts(out, "division by zero");
		return 1;
	}
	oa_result_printf(out, "%g", a / b);
	return 0;
}

/* Interrupts its own client (ctx) while it runs, as a watchdog would. */
static int
tool_halt(void *ctx, oa_args *args, oa_result *out)
{
	note_call("halt", args);
	oa_interrupt(ctx);
	oa_result_puts(out, "halted");
	return 0;
}

static const oa_tool manual_tools[] = {
	{"add", "Add two numbers", SCHEMA_AB, NULL, NULL},
	{"get_weather", NULL,
	 "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
	 "\"string\"}},\"required\":[\"city\"]}", NULL, NULL},
};

static const oa_tool auto_tools[] = {
	{"add", "Add two numbers", SCHEMA_AB, tool_add, NULL},
	{"divide", "Divide a by b", SCHEMA_AB, tool_divide, NULL},
};

/* A hook that logs every event it sees and answers decision (with text)
 * for tool only, or for every event when only is NULL. */
struct hook {
	const char *only;
	int decision;
	const char *text;
	int calls;
	char seen[2048];
};

static const char *
str(const char *s)
{
	return s ? s : "(null)";
}

static oa_hook_decision
hook_fn(void *ctx, const oa_hook_event *ev, oa_hook_reply *reply)
{
	struct hook *h = ctx;
	size_t n = strlen(h->seen), cap = sizeof h->seen - n;

	h->calls++;
	if (ev->kind == OA_HOOK_PRE_TOOL_USE)
		snprintf(h->seen + n, cap, "pre:%s %s %s;", str(ev->tool_id),
		         str(ev->tool_name), str(ev->input));
	else if (ev->kind == OA_HOOK_POST_TOOL_USE)
		snprintf(h->seen + n, cap, "post:%s %s %s %d;",
		         str(ev->tool_id), str(ev->tool_name),
		         str(ev->result), ev->is_error);
	else
		snprintf(h->seen + n, cap, "prompt:%s %zu;", str(ev->prompt),
		         oa_history_count(ev->client));
	if (h->only != NULL &&
	    (ev->tool_name == NULL || strcmp(ev->tool_name, h->only) != 0))
		return OA_HOOK_ALLOW;
	reply->text = h->text;
	return (oa_hook_decision)h->decision;
}

static void
hook_set(struct hook *h, const char *only, int decision, const char *text)
{
	memset(h, 0, sizeof *h);
	h->only = only;
	h->decision = decision;
	h->text = text;
}

/* ------------------------------------------------------- the client side */

/* A counting allocator: live allocations must be 0 after oa_free(). */
static struct {
	long calls, live;
} counts;

static void *
count_malloc(void *ctx, size_t n)
{
	void *p = malloc(n);

	(void)ctx;
	counts.calls++;
	counts.live += p != NULL;
	return p;
}

static void *
count_realloc(void *ctx, void *p, size_t n)
{
	void *r = realloc(p, n);

	(void)ctx;
	counts.calls++;
	counts.live += p == NULL && r != NULL;
	return r;
}

static void
count_free(void *ctx, void *p)
{
	(void)ctx;
	if (p != NULL)
		counts.live--;
	free(p);
}

/* Options for the test server; tools of the manual table. Resets the
 * handler log and the allocation counts. */
static void
manual(oa_options *o)
{
	options(o);
	o->tools = manual_tools;
	o->ntools = 2;
	o->allocator.malloc = count_malloc;
	o->allocator.realloc = count_realloc;
	o->allocator.free = count_free;
	counts.calls = counts.live = 0;
	handled[0] = '\0';
	nhandled = 0;
}

/* The same with the auto table and auto_execute_tools. */
static void
automatic(oa_options *o)
{
	manual(o);
	o->tools = auto_tools;
	o->auto_execute_tools = 1;
}

/* What the last turn handed out, besides its rendering. */
static char uses[16][128];        /* ids of tool-use blocks */
static size_t nuses;
static char why[16][512];         /* texts of tool-use-error blocks */
static size_t nwhy;
/* The flags of each tool-result and tool-use-error block, one letter
 * each: B blocked (and is_error), E is_error, - neither, ? blocked
 * without is_error (never right). */
static char rflags[64];

static void
note_flags(const oa_block *b)
{
	size_t n = strlen(rflags);

	if (n + 1 < sizeof rflags) {
		rflags[n] = b->blocked ? (b->is_error ? 'B' : '?')
		                       : (b->is_error ? 'E' : '-');
		rflags[n + 1] = '\0';
	}
}

static int
len_ok(const char *s, size_t n)
{
	return s != NULL && strlen(s) == n;
}

static void
render(char *log, size_t cap, const oa_block *b)
{
	size_t n = strlen(log);

	switch (b->type) {
	case OA_BLOCK_TEXT:
	case OA_BLOCK_THINKING:
		if (!len_ok(b->text, b->text_len))
			snprintf(log + n, cap - n, "[bad text_len]");
		else
			snprintf(log + n, cap - n, "[%s:%s]",
			         b->type == OA_BLOCK_TEXT ? "text" : "think",
			         b->text);
		return;
	case OA_BLOCK_TOOL_USE:
		if (!len_ok(b->id, b->id_len) || !len_ok(b->name, b->name_len)
		    || !len_ok(b->input, b->input_len) || b->text != NULL ||
		    b->raw != NULL) {
			snprintf(log + n, cap - n, "[bad tool_use fields]");
			return;
		}
		if (nuses < 16)
			snprintf(uses[nuses++], sizeof uses[0], "%s", b->id);
		snprintf(log + n, cap - n, "[use:%s %s %s]", b->id, b->name,
		         b->input);
		return;
	case OA_BLOCK_TOOL_USE_ERROR:
		if (!len_ok(b->id, b->id_len) || !len_ok(b->name, b->name_len)
		    || !len_ok(b->text, b->text_len) ||
		    !len_ok(b->raw, b->raw_len)) {
			snprintf(log + n, cap - n, "[bad tool_use_error]");
			return;
		}
		if (nwhy < 16)
			snprintf(why[nwhy++], sizeof why[0], "%s", b->text);
		note_flags(b);
		snprintf(log + n, cap - n, "[err:%s %s %s|%s]", b->id, b->name,
		         b->text, b->raw);
		return;
	case OA_BLOCK_TOOL_RESULT:
		if (!len_ok(b->id, b->id_len) || !len_ok(b->text, b->text_len))
			snprintf(log + n, cap - n, "[bad tool_result fields]");
		else
			snprintf(log + n, cap - n, "[result:%s %s]", b->id,
			         b->text);
		note_flags(b);
		return;
	case OA_BLOCK_TURN_END:
		if (b->usage.present)
			snprintf(log + n, cap - n, "[end:%s %lld/%lld/%lld]",
			         str(b->finish_reason), b->usage.prompt_tokens,
			         b->usage.completion_tokens,
			         b->usage.total_tokens);
		else
			snprintf(log + n, cap - n, "[end:%s]",
			         str(b->finish_reason));
		return;
	}
	snprintf(log + n, cap - n, "[type %d]", (int)b->type);
}

/* Every block up to the end of the turn into log. Returns the last
 * oa_next() result; an error that does not stick is logged as such. */
static int
drain(oa_client *c, char *log, size_t cap)
{
	oa_block b;
	int r;

	log[0] = '\0';
	rflags[0] = '\0';
	nuses = nwhy = 0;
	while ((r = oa_next(c, &b)) > 0)
		render(log, cap, &b);
	if (r < 0 && oa_next(c, &b) != r)
		strncat(log, "[error did not stick]", cap - strlen(log) - 1);
	return r;
}

static int
turn(oa_client *c, const char *prompt, char *log, size_t cap)
{
	int r;

	log[0] = '\0';
	if ((r = oa_query(c, prompt)) != 0)
		return r;
	return drain(c, log, cap);
}

/* "call_" and 24 lowercase hex digits. */
static int
generated_id(const char *s)
{
	size_t i;

	if (strlen(s) != 29 || strncmp(s, "call_", 5) != 0)
		return 0;
	for (i = 5; i < 29; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* ------------------------------------------- part one: the stream shapes */

/*
 * One reply in a server's shape, in manual mode: its blocks must render
 * as log; each tool-use block then gets the result "r1", "r2", ...;
 * oa_continue() sends them and the model answers "ok". The first request
 * carries the tools; the follow-up carries the user message, followup
 * (the assistant message and the tool results), nothing else.
 */
static void
run_shape(const char *resp, const char *log_want, const char *followup)
{
	static char scen[32 * 1024], msgs[16 * 1024];
	char log[4096], res[32];
	oa_options o;
	oa_client c;
	size_t k;

	snprintf(scen, sizeof scen, "[%s," OK "]", resp);
	CHECK(start(scen) == 0);
	manual(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, log_want);
	for (k = 0; k < nuses; k++) {
		snprintf(res, sizeof res, "r%zu", k + 1);
		CHECK_INT(oa_add_tool_result(&c, uses[k], res), 0);
	}
	CHECK_INT(oa_continue(&c), 0);
	CHECK_INT(drain(&c, log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK_INT(request_count(), 2);
	CHECK(body_eq(0, want(TOOLS_M, q(MSG("user", "hi")), 1)));
	snprintf(msgs, sizeof msgs, "%s,%s", q(MSG("user", "hi")),
	         q(followup));
	CHECK(body_eq(1, want(TOOLS_M, msgs, 1)));
}

#define SHAPE(fn, resp, log, followup)                                       \
	static void                                                          \
	fn(void)                                                             \
	{                                                                    \
		run_shape(resp, log, followup);                              \
	}

/* OpenAI, vLLM, llama.cpp: id, type and name in the first delta of an
 * index, arguments in fragments (one event cut across HTTP chunks), text
 * before the calls, usage in its own chunk. */
SHAPE(test_openai_fragments,
      "{'events':[" ROLE "," TEXT("Let me check.") ","
      CALLS(HEAD(0, "call_1", "add")) ",{'send':"
      CALLS(ARGS(0, "{\\'a\\'")) ",'split':[20,45]},"
      CALLS(ARGS(0, ": 1, \\'b\\'")) "," CALLS(ARGS(0, ": 2}")) ","
      CALLS(HEAD(1, "call_2", "get_weather")) ","
      CALLS(ARGS(1, "{\\'city\\': \\'Paris\\'}")) "," FINISH("tool_calls")
      "," USAGE_CHUNK(10, 5, 15) "," DONE "]}",
      "[text:Let me check.][use:call_1 add {\"a\": 1, \"b\": 2}]"
      "[use:call_2 get_weather {\"city\": \"Paris\"}][end:tool_calls "
      "10/5/15]",
      ASSIST("Let me check.", CALL("call_1", "add",
             "{\\'a\\': 1, \\'b\\': 2}") "," CALL("call_2", "get_weather",
             "{\\'city\\': \\'Paris\\'}")) ","
      RESULT("call_1", "r1") "," RESULT("call_2", "r2"))

/* Ollama v0.4.6+: the whole call in one chunk, finish_reason "stop"
 * (before v0.5.11) in the next, a usage chunk. */
SHAPE(test_ollama_whole,
      "{'events':[" CHUNK("{'role':'assistant','content':'','tool_calls':["
      "{'id':'call_o1','index':0,'type':'function','function':{'name':"
      "'add','arguments':'" J_ADD(1, 2) "'}}]}", "null") ","
      CHUNK("{'role':'assistant','content':''}", "'stop'") ","
      USAGE_CHUNK(3, 4, 7) "," DONE "]}",
      "[use:call_o1 add {\"a\":1,\"b\":2}][end:tool_calls 3/4/7]",
      ASSIST("", CALL("call_o1", "add", J_ADD(1, 2))) ","
      RESULT("call_o1", "r1"))

/* Ollama v0.4.6: several whole calls in one chunk, no index. */
SHAPE(test_ollama_several,
      "{'events':[" CHUNK("{'role':'assistant','content':'','tool_calls':["
      "{'id':'call_o1','type':'function','function':{'name':'add',"
      "'arguments':'" J_ADD(1, 2) "'}},{'id':'call_o2','type':'function',"
      "'function':{'name':'get_weather','arguments':'" J_CITY("Oslo")
      "'}}]}", "null") "," CHUNK("{'role':'assistant','content':''}",
      "'stop'") "," DONE "]}",
      "[use:call_o1 add {\"a\":1,\"b\":2}][use:call_o2 get_weather "
      "{\"city\":\"Oslo\"}][end:tool_calls]",
      ASSIST("", CALL("call_o1", "add", J_ADD(1, 2)) ","
             CALL("call_o2", "get_weather", J_CITY("Oslo"))) ","
      RESULT("call_o1", "r1") "," RESULT("call_o2", "r2"))

/* No index anywhere: a fragment with a new id (and name) starts a call,
 * one without continues the last. */
SHAPE(test_index_missing,
      "{'events':[" ROLE ","
      CALLS("{'id':'call_1','type':'function','function':{'name':'add',"
            "'arguments':''}}") ","
      CALLS("{'function':{'arguments':'{\\'a\\':1,'}}") ","
      CALLS("{'function':{'arguments':'\\'b\\':2}'}}") ","
      CALLS("{'id':'call_2','type':'function','function':{'name':"
            "'get_weather','arguments':''}}") ","
      CALLS("{'function':{'arguments':'" J_CITY("Oslo") "'}}") ","
      FINISH("tool_calls") "," DONE "]}",
      "[use:call_1 add {\"a\":1,\"b\":2}][use:call_2 get_weather "
      "{\"city\":\"Oslo\"}][end:tool_calls]",
      ASSIST("", CALL("call_1", "add", J_ADD(1, 2)) ","
             CALL("call_2", "get_weather", J_CITY("Oslo"))) ","
      RESULT("call_1", "r1") "," RESULT("call_2", "r2"))

/* Fragments of two calls interleaved, index 1 opened first, two
 * fragments in one delta: the blocks come in index order. */
SHAPE(test_interleaved,
      "{'events':[" ROLE "," CALLS(HEAD(1, "call_2", "get_weather")) ","
      CALLS(HEAD(0, "call_1", "add")) "," CALLS(ARGS(1, "{\\'city\\'")) ","
      CALLS(ARGS(0, "{\\'a\\':1")) ","
      CALLS(ARGS(1, ":\\'Rome\\'}") "," ARGS(0, ",\\'b\\':2}")) ","
      FINISH("tool_calls") "," DONE "]}",
      "[use:call_1 add {\"a\":1,\"b\":2}][use:call_2 get_weather "
      "{\"city\":\"Rome\"}][end:tool_calls]",
      ASSIST("", CALL("call_1", "add", J_ADD(1, 2)) ","
             CALL("call_2", "get_weather", J_CITY("Rome"))) ","
      RESULT("call_1", "r1") "," RESULT("call_2", "r2"))

/* Arguments as a JSON object instead of a string: in the first fragment,
 * and after a header with arguments "". */
SHAPE(test_args_object,
      "{'events':[" ROLE ","
      CALLS("{'index':0,'id':'call_1','type':'function','function':{"
            "'name':'add','arguments':{'a':1,'b':2}}}") ","
      CALLS(HEAD(1, "call_2", "get_weather")) ","
      CALLS("{'index':1,'function':{'arguments':{'city':'Oslo'}}}") ","
      FINISH("tool_calls") "," DONE "]}",
      "[use:call_1 add {\"a\":1,\"b\":2}][use:call_2 get_weather "
      "{\"city\":\"Oslo\"}][end:tool_calls]",
      ASSIST("", CALL("call_1", "add", J_ADD(1, 2)) ","
             CALL("call_2", "get_weather", J_CITY("Oslo"))) ","
      RESULT("call_1", "r1") "," RESULT("call_2", "r2"))

/* Arguments "" and arguments absent both mean {} (manual mode: no schema
 * check). */
SHAPE(test_args_empty,
      "{'events':[" ROLE "," CALLS(HEAD(0, "call_1", "add")) ","
      CALLS("{'index':1,'id':'call_2','type':'function','function':{"
            "'name':'get_weather'}}") "," FINISH("tool_calls") "," DONE
      "]}",
      "[use:call_1 add {}][use:call_2 get_weather {}][end:tool_calls]",
      ASSIST("", CALL("call_1", "add", "{}") ","
             CALL("call_2", "get_weather", "{}")) ","
      RESULT("call_1", "r1") "," RESULT("call_2", "r2"))

/* finish_reason "stop" with calls assembled: the turn ends "tool_calls". */
SHAPE(test_finish_stop,
      "{'events':[" ROLE "," CALLS(HEAD(0, "call_1", "add")) ","
      CALLS(ARGS(0, J_ADD(1, 2))) "," FINISH("stop") ","
      USAGE_CHUNK(10, 5, 15) "," DONE "]}",
      "[use:call_1 add {\"a\":1,\"b\":2}][end:tool_calls 10/5/15]",
      ASSIST("", CALL("call_1", "add", J_ADD(1, 2))) ","
      RESULT("call_1", "r1"))

/* LocalAI: a name chunk and an arguments chunk per call, the completion
 * id as every call's id, usage (zeros) on every chunk: the later id gets
 * "_2" and the follow-up answers each call once. */
#define LOCALAI(delta, finish)                                               \
	"{'id':'chatcmpl-la','object':'chat.completion.chunk','created':1,"  \
	"'model':'test','choices':[{'index':0,'finish_reason':" finish      \
	",'delta':" delta "}]," USAGE(0, 0, 0) "}"
SHAPE(test_shared_ids,
      "{'events':[" LOCALAI("{'role':'assistant','tool_calls':[{'index':0,"
      "'id':'chatcmpl-la','type':'function','function':{'name':'add'}}]}",
      "null") "," LOCALAI("{'tool_calls':[{'index':0,'id':'chatcmpl-la',"
      "'type':'function','function':{'arguments':'" J_ADD(1, 2) "'}}]}",
      "null") "," LOCALAI("{'tool_calls':[{'index':1,'id':'chatcmpl-la',"
      "'type':'function','function':{'name':'get_weather'}}]}", "null") ","
      LOCALAI("{'tool_calls':[{'index':1,'id':'chatcmpl-la','type':"
      "'function','function':{'arguments':'" J_CITY("Oslo") "'}}]}",
      "null") "," LOCALAI("{}", "'tool_calls'") "," DONE "]}",
      "[use:chatcmpl-la add {\"a\":1,\"b\":2}][use:chatcmpl-la_2 "
      "get_weather {\"city\":\"Oslo\"}][end:tool_calls 0/0/0]",
      ASSIST("", CALL("chatcmpl-la", "add", J_ADD(1, 2)) ","
             CALL("chatcmpl-la_2", "get_weather", J_CITY("Oslo"))) ","
      RESULT("chatcmpl-la", "r1") "," RESULT("chatcmpl-la_2", "r2"))

/* SGLang: two parallel calls at the same index, told apart by a new id
 * and name; continuations carry explicit nulls. */
#define SG(id, name, a)                                                      \
	CALLS("{'index':0,'id':" id ",'type':null,'function':{'name':" name  \
	      ",'arguments':'" a "'}}")
SHAPE(test_sglang_same_index,
      "{'events':[" ROLE "," SG("'call_s1'", "'add'", "") ","
      SG("null", "null", J_ADD(1, 2)) "," SG("'call_s2'", "'get_weather'", "")
      "," SG("null", "null", J_CITY("Oslo")) "," FINISH("tool_calls") ","
      DONE "]}",
      "[use:call_s1 add {\"a\":1,\"b\":2}][use:call_s2 get_weather "
      "{\"city\":\"Oslo\"}][end:tool_calls]",
      ASSIST("", CALL("call_s1", "add", J_ADD(1, 2)) ","
             CALL("call_s2", "get_weather", J_CITY("Oslo"))) ","
      RESULT("call_s1", "r1") "," RESULT("call_s2", "r2"))

/* The name repeated on every fragment with the same id (llama.cpp
 * b5481), a changed id without a name (a continuation: the first id
 * stays), "" (LM Studio, numeric-string id) and null on continuations. */
SHAPE(test_name_variants,
      "{'events':[" ROLE ","
      CALLS(WHOLE(0, "call_1", "add", "{\\'a\\':")) ","
      CALLS("{'index':0,'id':'call_9','function':{'arguments':'1,'}}") ","
      CALLS(WHOLE(0, "call_1", "add", "\\'b\\':2}")) ","
      CALLS(HEAD(1, "123", "get_weather")) ","
      CALLS(WHOLE(1, "123", "", "{\\'city\\':")) ","
      CALLS("{'index':1,'function':{'name':null,'arguments':"
            "'\\'Oslo\\'}'}}") ","
      FINISH("tool_calls") "," DONE "]}",
      "[use:call_1 add {\"a\":1,\"b\":2}][use:123 get_weather "
      "{\"city\":\"Oslo\"}][end:tool_calls]",
      ASSIST("", CALL("call_1", "add", J_ADD(1, 2)) ","
             CALL("123", "get_weather", J_CITY("Oslo"))) ","
      RESULT("call_1", "r1") "," RESULT("123", "r2"))

/* index as a string of digits (text-generation-webui). */
SHAPE(test_index_string,
      "{'events':[" ROLE ","
      CALLS("{'index':'0','id':'call_1','type':'function','function':{"
            "'name':'add','arguments':''}}") ","
      CALLS("{'index':'1','id':'call_2','type':'function','function':{"
            "'name':'get_weather','arguments':''}}") ","
      CALLS("{'index':'0','function':{'arguments':'" J_ADD(1, 2) "'}}") ","
      CALLS("{'index':'1','function':{'arguments':'" J_CITY("Oslo")
            "'}}") "," FINISH("tool_calls") "," DONE "]}",
      "[use:call_1 add {\"a\":1,\"b\":2}][use:call_2 get_weather "
      "{\"city\":\"Oslo\"}][end:tool_calls]",
      ASSIST("", CALL("call_1", "add", J_ADD(1, 2)) ","
             CALL("call_2", "get_weather", J_CITY("Oslo"))) ","
      RESULT("call_1", "r1") "," RESULT("call_2", "r2"))

/* TGI <= 3.1: "data:" without a space, tool_calls as a single object,
 * name null after the first fragment, an unusual finish_reason, and
 * "data:[DONE]". */
SHAPE(test_single_object,
      "{'prefix':'data:','events':["
      CHUNK("{'role':'assistant','tool_calls':{'index':0,'id':'0','type':"
            "'function','function':{'name':'get_weather','arguments':"
            "'{\\''}}}", "null") ","
      CHUNK("{'role':'assistant','tool_calls':{'index':0,'id':'0','type':"
            "'function','function':{'name':null,'arguments':'city\\': "
            "\\'Rome\\'}'}}}", "null") ","
      CHUNK("{'role':'assistant','content':null}", "'eos_token'") ","
      "'data:[DONE]\\n\\n']}",
      "[use:0 get_weather {\"city\": \"Rome\"}][end:tool_calls]",
      ASSIST("", CALL("0", "get_weather", "{\\'city\\': \\'Rome\\'}")) ","
      RESULT("0", "r1"))

/* vLLM: the header delta has no arguments; the last argument bytes come
 * in the chunk that carries finish_reason. */
SHAPE(test_vllm_tail,
      "{'events':[" ROLE ","
      CALLS("{'index':0,'id':'chatcmpl-tool-1','type':'function',"
            "'function':{'name':'add'}}") ","
      CALLS(ARGS(0, "{\\'a\\': 1, ")) ","
      CHUNK("{'tool_calls':[" ARGS(0, "\\'b\\': 2}") "]}", "'tool_calls'")
      "," USAGE_CHUNK(10, 5, 15) "," DONE "]}",
      "[use:chatcmpl-tool-1 add {\"a\": 1, \"b\": 2}][end:tool_calls "
      "10/5/15]",
      ASSIST("", CALL("chatcmpl-tool-1", "add",
                      "{\\'a\\': 1, \\'b\\': 2}")) ","
      RESULT("chatcmpl-tool-1", "r1"))

/* TGI >= 3.2: no finish_reason at all before [DONE]. */
SHAPE(test_no_finish_reason,
      "{'prefix':'data:','events':["
      CHUNK("{'role':'assistant','tool_calls':[{'index':0,'id':'0','type':"
            "'function','function':{'name':'add','arguments':"
            "'{\\'a\\':1,'}}]}", "null") ","
      CHUNK("{'role':'assistant','tool_calls':[{'index':0,'id':'0','type':"
            "'function','function':{'name':null,'arguments':"
            "'\\'b\\':2}'}}]}", "null") ","
      "{'id':'','object':'chat.completion.chunk','choices':[],"
      USAGE(6, 2, 8) "},'data:[DONE]\\n\\n']}",
      "[use:0 add {\"a\":1,\"b\":2}][end:tool_calls 6/2/8]",
      ASSIST("", CALL("0", "add", J_ADD(1, 2))) "," RESULT("0", "r1"))

/* finish_reason "" on every fragment means "not yet". */
SHAPE(test_finish_empty,
      "{'events':[" ROLE ","
      CHUNK("{'tool_calls':[" HEAD(0, "call_1", "add") "]}", "''") ","
      CHUNK("{'tool_calls':[" ARGS(0, "{\\'a\\':1,") "]}", "''") ","
      CHUNK("{'tool_calls':[" ARGS(0, "\\'b\\':2}") "]}", "''") ","
      FINISH("tool_calls") "," DONE "]}",
      "[use:call_1 add {\"a\":1,\"b\":2}][end:tool_calls]",
      ASSIST("", CALL("call_1", "add", J_ADD(1, 2))) ","
      RESULT("call_1", "r1"))

/* text-generation-webui: CRLF events, no [DONE]; the call's markup
 * streams as text, then the parsed call (index "0") comes in the final
 * chunk with finish_reason and usage: one call, and the text as sent. */
#define MARKUP                                                               \
	"{\\'name\\': \\'add\\', \\'arguments\\': {\\'a\\': 1, \\'b\\': 2}}"
SHAPE(test_webui_markup,
      "{'sep':'\\r\\n\\r\\n','events':[" ROLE "," TEXT("<tool_call>") ","
      TEXT(MARKUP) "," TEXT("</tool_call>") ","
      "{'choices':[{'index':0,'finish_reason':'tool_calls','delta':{"
      "'tool_calls':[{'index':'0','id':'call_w1','type':'function',"
      "'function':{'name':'add','arguments':'{\\'a\\': 1, \\'b\\': 2}'}}]}"
      "}]," USAGE(5, 9, 14) "}]}",
      "[text:<tool_call>][text:{\"name\": \"add\", \"arguments\": {\"a\": 1, "
      "\"b\": 2}}][text:</tool_call>][use:call_w1 add {\"a\": 1, \"b\": 2}]"
      "[end:tool_calls 5/9/14]",
      ASSIST("<tool_call>" MARKUP "</tool_call>", CALL("call_w1", "add",
             "{\\'a\\': 1, \\'b\\': 2}")) "," RESULT("call_w1", "r1"))

/* No id at all: "call_" and 24 hex digits, distinct, and the follow-up
 * refers to the same ids. */
static void
test_no_id(void)
{
	char log[4096], expect[4096], msgs[4096];
	oa_options o;
	oa_client c;

	CHECK(start("[" CALL_REPLY(
	            "{'index':0,'type':'function','function':{'name':'add',"
	            "'arguments':'" J_ADD(1, 2) "'}},{'index':1,'function':{"
	            "'name':'get_weather','arguments':'" J_CITY("Oslo")
	            "'}}") "," OK "]") == 0);
	manual(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_INT(nuses, 2);
	CHECK(generated_id(uses[0]));
	CHECK(generated_id(uses[1]));
	CHECK(strcmp(uses[0], uses[1]) != 0);
	snprintf(expect, sizeof expect, "[use:%s add {\"a\":1,\"b\":2}]"
	         "[use:%s get_weather {\"city\":\"Oslo\"}][end:tool_calls]",
	         uses[0], uses[1]);
	CHECK_STR(log, expect);
	CHECK_INT(oa_add_tool_result(&c, uses[0], "r1"), 0);
	CHECK_INT(oa_add_tool_result(&c, uses[1], "r2"), 0);
	CHECK_INT(oa_continue(&c), 0);
	snprintf(msgs, sizeof msgs,
	         q(MSG("user", "hi") "," ASSIST("", CALL("%s", "add",
	           J_ADD(1, 2)) "," CALL("%s", "get_weather", J_CITY("Oslo")))
	           "," RESULT("%s", "r1") "," RESULT("%s", "r2")),
	         uses[0], uses[1], uses[0], uses[1]);
	CHECK_INT(drain(&c, log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK(body_eq(1, want(TOOLS_M, msgs, 1)));
}

/* finish_reason "" is not a finish: a body that ends after such chunks
 * is truncated; the incomplete call is dropped, the text stays. */
static void
test_finish_empty_truncated(void)
{
	char log[4096];
	oa_options o;
	oa_client c;

	CHECK(start("[{'events':[" ROLE ","
	            CHUNK("{'content':'Hm'}", "''") ","
	            CHUNK("{'tool_calls':[" HEAD(0, "call_1", "add") "]}", "''")
	            ","
	            CHUNK("{'tool_calls':[" ARGS(0, "{\\'a\\':1,") "]}", "''")
	            "]}," OK "]") == 0);
	manual(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_TRUNCATED);
	CHECK_STR(log, "[text:Hm]");
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK(body_eq(1, want(TOOLS_M, q(MSG("user", "hi") ","
	                                 MSG("assistant", "Hm") ","
	                                 MSG("user", "again")), 1)));
}

/* More calls than max_tool_calls: OA_ERR_LIMIT; exactly at it is fine.
 * A query while results are missing is refused until they are given. */
static void
test_max_tool_calls(void)
{
	char log[4096];
	oa_options o;
	oa_client c;

	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "add", J_ADD(1, 2)) ","
	                           WHOLE(1, "call_2", "add", J_ADD(3, 4))) ","
	            "{'events':[" ROLE "," TEXT("Hm") ","
	            CALLS(WHOLE(0, "call_3", "add", J_ADD(1, 2)) ","
	                  WHOLE(1, "call_4", "add", J_ADD(1, 2)) ","
	                  WHOLE(2, "call_5", "add", J_ADD(1, 2))) ","
	            FINISH("tool_calls") "," DONE "]}," OK "]") == 0);
	manual(&o);
	o.max_tool_calls = 2;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[use:call_1 add {\"a\":1,\"b\":2}][use:call_2 add "
	               "{\"a\":3,\"b\":4}][end:tool_calls]");
	CHECK_INT(oa_query(&c, "again"), OA_ERR_STATE);
	CHECK_HAS(oa_errmsg(&c), "call_1, call_2: give each");
	CHECK_INT(oa_add_tool_result(&c, "call_1", "error: no result was "
	                             "given"), 0);
	CHECK_INT(oa_add_tool_result(&c, "call_2", "error: no result was "
	                             "given"), 0);
	CHECK_INT(turn(&c, "again", log, sizeof log), OA_ERR_LIMIT);
	CHECK_STR(log, "[text:Hm]");
	CHECK(oa_errmsg(&c)[0] != '\0');
	CHECK_INT(turn(&c, "more", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK(body_eq(1, want(TOOLS_M, q(MSG("user", "hi") "," ASSIST("",
	      CALL("call_1", "add", J_ADD(1, 2)) ","
	      CALL("call_2", "add", J_ADD(3, 4))) ","
	      RESULT("call_1", "error: no result was given") ","
	      RESULT("call_2", "error: no result was given") ","
	      MSG("user", "again")), 1)));
	CHECK(body_eq(2, want(TOOLS_M, q(MSG("user", "hi") "," ASSIST("",
	      CALL("call_1", "add", J_ADD(1, 2)) ","
	      CALL("call_2", "add", J_ADD(3, 4))) ","
	      RESULT("call_1", "error: no result was given") ","
	      RESULT("call_2", "error: no result was given") ","
	      MSG("user", "again") "," MSG("assistant", "Hm") ","
	      MSG("user", "more")), 1)));
}

/* ------------------------------------------------- part two: manual mode */

/* The manual loop: blocks, results, oa_continue(), and its misuses. */
static void
test_manual(void)
{
	char log[4096];
	oa_options o;
	oa_client c;

	CHECK(start("[{'events':[" ROLE "," TEXT("Checking.") ","
	            CALLS(HEAD(0, "call_a", "add")) ","
	            CALLS(ARGS(0, J_ADD(2, 3))) ","
	            CALLS(WHOLE(1, "call_b", "get_weather", J_CITY("Oslo")))
	            "," FINISH("tool_calls") "," USAGE_CHUNK(10, 5, 15) ","
	            DONE "]},{'reply':'Sunny'},"
	            CALL_REPLY(WHOLE(0, "call_c", "add", J_ADD(3, 4)) ","
	                       WHOLE(1, "call_d", "get_weather",
	                             J_CITY("Rome"))) "," OK "]") == 0);
	manual(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(oa_add_tool_result(&c, "call_a", "5"), OA_ERR_INVALID);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:Checking.][use:call_a add {\"a\":2,\"b\":3}]"
	               "[use:call_b get_weather {\"city\":\"Oslo\"}]"
	               "[end:tool_calls 10/5/15]");
	CHECK_INT(oa_add_tool_result(&c, "call_zz", "5"), OA_ERR_INVALID);
	CHECK(oa_errmsg(&c)[0] != '\0');
	CHECK_INT(oa_add_tool_result(&c, NULL, "5"), OA_ERR_INVALID);
	CHECK_INT(oa_add_tool_result(&c, "call_a", "5"), 0);
	CHECK_INT(oa_add_tool_result(&c, "call_a", "6"), OA_ERR_INVALID);
	CHECK_INT(oa_continue(&c), OA_ERR_STATE);
	CHECK_HAS(oa_errmsg(&c), "call_b");
	CHECK(strstr(oa_errmsg(&c), "call_a") == NULL);
	CHECK_INT(request_count(), 1);
	CHECK_INT(oa_add_tool_result(&c, "call_b", "Sunny, 21 C"), 0);
	CHECK_INT(oa_continue(&c), 0);
	CHECK_INT(drain(&c, log, sizeof log), 0);
	CHECK_STR(log, "[text:Sunny][end:stop]");
	CHECK(body_eq(1, want(TOOLS_M, q(MSG("user", "hi") ","
	      ASSIST("Checking.", CALL("call_a", "add", J_ADD(2, 3)) ","
	             CALL("call_b", "get_weather", J_CITY("Oslo"))) ","
	      RESULT("call_a", "5") "," RESULT("call_b", "Sunny, 21 C")), 1)));

	/* a new query while call_d has no result is refused, naming it,
	 * and changes nothing; once every call has its result, a query
	 * sends them before the prompt */
	CHECK_INT(turn(&c, "more", log, sizeof log), 0);
	CHECK_STR(log, "[use:call_c add {\"a\":3,\"b\":4}][use:call_d "
	               "get_weather {\"city\":\"Rome\"}][end:tool_calls]");
	CHECK_INT(oa_add_tool_result(&c, "call_c", "7"), 0);
	CHECK_INT(oa_query(&c, "next"), OA_ERR_STATE);
	CHECK_STR(oa_errmsg(&c), "no result for tool call call_d: give each "
	          "its result with oa_add_tool_result(), then call "
	          "oa_continue()");
	CHECK_INT(oa_history_count(&c), 7);
	CHECK_INT(request_count(), 3);
	CHECK_INT(oa_add_tool_result(&c, "call_d", "rain"), 0);
	CHECK_INT(turn(&c, "next", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	CHECK_INT(oa_history_count(&c), 11);
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK_INT(request_count(), 4);
	CHECK(body_eq(3, want(TOOLS_M, q(MSG("user", "hi") ","
	      ASSIST("Checking.", CALL("call_a", "add", J_ADD(2, 3)) ","
	             CALL("call_b", "get_weather", J_CITY("Oslo"))) ","
	      RESULT("call_a", "5") "," RESULT("call_b", "Sunny, 21 C") ","
	      MSG("assistant", "Sunny") "," MSG("user", "more") ","
	      ASSIST("", CALL("call_c", "add", J_ADD(3, 4)) ","
	             CALL("call_d", "get_weather", J_CITY("Rome"))) ","
	      RESULT("call_c", "7") "," RESULT("call_d", "rain") ","
	      MSG("user", "next")), 1)));
}

/* Manual mode: an unknown tool and arguments that are not JSON are
 * tool-use errors whose results the library records itself ("{}" stands
 * for the bad arguments); the caller answers only the good call. */
static void
test_manual_errors(void)
{
	char log[4096], expect[4096], msgs[8192];
	oa_options o;
	oa_client c;

	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "nope", "{\\'x\\':1}")
	                           "," WHOLE(1, "call_2", "add",
	                                     "{\\'a\\':1,") ","
	                           WHOLE(2, "call_3", "get_weather",
	                                 J_CITY("Oslo"))) "," OK "]") == 0);
	manual(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_INT(nwhy, 2);
	CHECK_STR(why[0], "unknown tool \"nope\"");
	CHECK(strncmp(why[1], "arguments are not valid JSON: ", 30) == 0);
	snprintf(expect, sizeof expect, "[err:call_1 nope unknown tool "
	         "\"nope\"|{\"x\":1}][err:call_2 add %s|{\"a\":1,][use:call_3 "
	         "get_weather {\"city\":\"Oslo\"}][end:tool_calls]", why[1]);
	CHECK_STR(log, expect);
	CHECK_INT(oa_add_tool_result(&c, "call_1", "x"), OA_ERR_INVALID);
	CHECK_INT(oa_add_tool_result(&c, "call_2", "x"), OA_ERR_INVALID);
	CHECK_INT(oa_add_tool_result(&c, "call_3", "cold"), 0);
	CHECK_INT(oa_continue(&c), 0);
	CHECK_INT(drain(&c, log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	snprintf(msgs, sizeof msgs, q(MSG("user", "hi") "," ASSIST("",
	         CALL("call_1", "nope", "{\\'x\\':1}") ","
	         CALL("call_2", "add", "{}") ","
	         CALL("call_3", "get_weather", J_CITY("Oslo"))) ","
	         RESULT("call_1", "error: unknown tool \\'nope\\'") ","
	         RESULT("call_2", "error: %s") "," RESULT("call_3", "cold")),
	         esc(why[1]));
	CHECK(body_eq(1, want(TOOLS_M, msgs, 1)));
}

/* Arguments that are JSON but not an object are a tool-use error too. */
static void
test_args_not_object(void)
{
	char log[4096];
	oa_options o;
	oa_client c;

	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "add", "[1,2]")) ","
	            OK "]") == 0);
	manual(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_INT(nwhy, 1);
	CHECK_INT(nuses, 0);
	CHECK_HAS(log, "[err:call_1 add ");
	CHECK_HAS(log, "|[1,2]][end:tool_calls]");
	CHECK_INT(oa_continue(&c), 0);
	CHECK_INT(drain(&c, log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK_HAS(request_body(1), "{\"role\":\"tool\",\"tool_call_id\":"
	                           "\"call_1\",\"content\":\"error: ");
}

/* ---------------------------------------------------------- auto mode */

/* The calculator: tool use, the handler, tool result, the results sent
 * back within the same oa_query(), usage summed over both requests. */
static void
test_auto_calculator(void)
{
	char log[4096];
	oa_options o;
	oa_client c;

	CHECK(start("[{'events':[" ROLE "," TEXT("Let me add.") ","
	            CALLS(HEAD(0, "call_1", "add")) ","
	            CALLS(ARGS(0, J_ADD(2, 3))) "," FINISH("tool_calls") ","
	            USAGE_CHUNK(10, 5, 15) "," DONE "]},"
	            "{'events':[" ROLE "," TEXT("The sum is 5.") ","
	            FINISH("stop") "," USAGE_CHUNK(20, 1, 21) "," DONE "]},"
	            OK "]") == 0);
	automatic(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "What is 2 + 3?", log, sizeof log), 0);
	CHECK_STR(log, "[text:Let me add.][use:call_1 add {\"a\":2,\"b\":3}]"
	               "[result:call_1 5][text:The sum is 5.]"
	               "[end:stop 30/6/36]");
	CHECK_STR(handled, "add{\"a\":2,\"b\":3};");
	CHECK_INT(request_count(), 2);
	CHECK_INT(turn(&c, "thanks", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK(body_eq(0, want(TOOLS_A, q(MSG("user", "What is 2 + 3?")), 1)));
	CHECK(body_eq(1, want(TOOLS_A, q(MSG("user", "What is 2 + 3?") ","
	      ASSIST("Let me add.", CALL("call_1", "add", J_ADD(2, 3))) ","
	      RESULT("call_1", "5")), 1)));
	CHECK(body_eq(2, want(TOOLS_A, q(MSG("user", "What is 2 + 3?") ","
	      ASSIST("Let me add.", CALL("call_1", "add", J_ADD(2, 3))) ","
	      RESULT("call_1", "5") "," MSG("assistant", "The sum is 5.") ","
	      MSG("user", "thanks")), 1)));
}

/* Parallel calls in one reply all run, in order, each result right after
 * its tool use. */
static void
test_auto_parallel(void)
{
	char log[4096];
	oa_options o;
	oa_client c;

	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "add", J_ADD(1, 2)) ","
	                           WHOLE(1, "call_2", "divide", J_ADD(8, 2))
	                           "," WHOLE(2, "call_3", "add", J_ADD(3, 4)))
	            ",{'reply':'done'}]") == 0);
	automatic(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[use:call_1 add {\"a\":1,\"b\":2}][result:call_1 3]"
	               "[use:call_2 divide {\"a\":8,\"b\":2}][result:call_2 4]"
	               "[use:call_3 add {\"a\":3,\"b\":4}][result:call_3 7]"
	               "[text:done][end:stop]");
	CHECK_STR(handled, "add{\"a\":1,\"b\":2};divide{\"a\":8,\"b\":2};"
	                   "add{\"a\":3,\"b\":4};");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK(body_eq(1, want(TOOLS_A, q(MSG("user", "hi") "," ASSIST("",
	      CALL("call_1", "add", J_ADD(1, 2)) ","
	      CALL("call_2", "divide", J_ADD(8, 2)) ","
	      CALL("call_3", "add", J_ADD(3, 4))) ","
	      RESULT("call_1", "3") "," RESULT("call_2", "4") ","
	      RESULT("call_3", "7")), 1)));
}

/* Auto mode, every way a call can go wrong: arguments not JSON, a
 * required member missing, a member of the wrong type, an unknown tool,
 * a handler that fails; none stops the good call after them, and every
 * error goes back to the model as that call's result. */
static void
test_auto_errors(void)
{
	char log[4096], expect[4096], msgs[8192];
	oa_options o;
	oa_client c;

	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "add", "{\\'a\\':1,")
	                           "," WHOLE(1, "call_2", "add", "{\\'a\\':1}")
	                           "," WHOLE(2, "call_3", "add",
	                                     "{\\'a\\':\\'x\\',\\'b\\':2}") ","
	                           WHOLE(3, "call_4", "nope", "{}") ","
	                           WHOLE(4, "call_5", "divide", J_ADD(1, 0))
	                           "," WHOLE(5, "call_6", "add", J_ADD(1, 1)))
	            ",{'reply':'sorry'}]") == 0);
	automatic(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_INT(nwhy, 4);
	CHECK(strncmp(why[0], "arguments are not valid JSON: ", 30) == 0);
	CHECK_STR(why[1], "missing required argument \"b\"");
	CHECK_HAS(why[2], "\"a\"");
	CHECK_STR(why[3], "unknown tool \"nope\"");
	snprintf(expect, sizeof expect,
	         "[err:call_1 add %s|{\"a\":1,]"
	         "[err:call_2 add %s|{\"a\":1}]"
	         "[err:call_3 add %s|{\"a\":\"x\",\"b\":2}]"
	         "[err:call_4 nope %s|{}]"
	         "[use:call_5 divide {\"a\":1,\"b\":0}]"
	         "[result:call_5 error: division by zero]"
	         "[use:call_6 add {\"a\":1,\"b\":1}][result:call_6 2]"
	         "[text:sorry][end:stop]", why[0], why[1], why[2], why[3]);
	CHECK_STR(log, expect);
	CHECK_STR(rflags, "EEEEE-");
	CHECK_STR(handled, "divide{\"a\":1,\"b\":0};add{\"a\":1,\"b\":1};");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	snprintf(msgs, sizeof msgs, q(MSG("user", "hi") "," ASSIST("",
	         CALL("call_1", "add", "{}") ","
	         CALL("call_2", "add", "{\\'a\\':1}") ","
	         CALL("call_3", "add", "{\\'a\\':\\'x\\',\\'b\\':2}") ","
	         CALL("call_4", "nope", "{}") ","
	         CALL("call_5", "divide", J_ADD(1, 0)) ","
	         CALL("call_6", "add", J_ADD(1, 1))) ","
	         RESULT("call_1", "error: %s") ","
	         RESULT("call_2", "error: %s") ","
	         RESULT("call_3", "error: %s") ","
	         RESULT("call_4", "error: %s") ","
	         RESULT("call_5", "error: division by zero") ","
	         RESULT("call_6", "2")),
	         esc(why[0]), esc(why[1]), esc(why[2]), esc(why[3]));
	CHECK(body_eq(1, want(TOOLS_A, msgs, 1)));
}

/* max_tool_iterations rounds run; the next request for tools is
 * answered "not run" and the turn ends with "max_tool_iterations",
 * leaving a history the next request can carry. */
static void
test_max_iterations(void)
{
	char log[4096];
	oa_options o;
	oa_client c;

	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "add", J_ADD(1, 2))) ","
	            CALL_REPLY(WHOLE(0, "call_2", "add", J_ADD(2, 2))) ","
	            CALL_REPLY(WHOLE(0, "call_3", "add", J_ADD(3, 3))) ","
	            OK "]") == 0);
	automatic(&o);
	o.max_tool_iterations = 2;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[use:call_1 add {\"a\":1,\"b\":2}][result:call_1 3]"
	               "[use:call_2 add {\"a\":2,\"b\":2}][result:call_2 4]"
	               "[use:call_3 add {\"a\":3,\"b\":3}][result:call_3 "
	               "error: not run: the limit of 2 tool rounds was "
	               "reached][end:max_tool_iterations]");
	CHECK_INT(nhandled, 2);
	CHECK_INT(request_count(), 3);
	CHECK_INT(turn(&c, "next", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK(body_eq(3, want(TOOLS_A, q(MSG("user", "hi") ","
	      ASSIST("", CALL("call_1", "add", J_ADD(1, 2))) ","
	      RESULT("call_1", "3") ","
	      ASSIST("", CALL("call_2", "add", J_ADD(2, 2))) ","
	      RESULT("call_2", "4") ","
	      ASSIST("", CALL("call_3", "add", J_ADD(3, 3))) ","
	      RESULT("call_3", "error: not run: the limit of 2 tool rounds "
	             "was reached") "," MSG("user", "next")), 1)));
}

/* ---------------------------------------------------------------- hooks */

/* Three pre-tool hooks: the first allows, the second blocks add only, so
 * the third runs only for divide. A blocked tool does not run and the
 * model is told why. */
static void
test_hook_pre_block(void)
{
	struct hook h1, h2, h3;
	oa_hook hooks[3];
	char log[4096];
	oa_options o;
	oa_client c;

	hook_set(&h1, NULL, OA_HOOK_ALLOW, NULL);
	hook_set(&h2, "add", OA_HOOK_BLOCK, "not allowed");
	hook_set(&h3, NULL, OA_HOOK_ALLOW, NULL);
	hooks[0].kind = hooks[1].kind = hooks[2].kind = OA_HOOK_PRE_TOOL_USE;
	hooks[0].fn = hooks[1].fn = hooks[2].fn = hook_fn;
	hooks[0].ctx = &h1;
	hooks[1].ctx = &h2;
	hooks[2].ctx = &h3;
	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "add", J_ADD(1, 2)) ","
	                           WHOLE(1, "call_2", "divide", J_ADD(6, 3)))
	            "," OK "]") == 0);
	automatic(&o);
	o.hooks = hooks;
	o.nhooks = 3;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[use:call_1 add {\"a\":1,\"b\":2}][result:call_1 "
	               "blocked: not allowed][use:call_2 divide "
	               "{\"a\":6,\"b\":3}][result:call_2 2][text:ok]"
	               "[end:stop]");
	CHECK_STR(rflags, "B-");
	CHECK_STR(handled, "divide{\"a\":6,\"b\":3};");
	CHECK_STR(h1.seen, "pre:call_1 add {\"a\":1,\"b\":2};"
	                   "pre:call_2 divide {\"a\":6,\"b\":3};");
	CHECK_INT(h1.calls, 2);
	CHECK_INT(h2.calls, 2);
	CHECK_STR(h3.seen, "pre:call_2 divide {\"a\":6,\"b\":3};");
	CHECK_INT(h3.calls, 1);
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK(body_eq(1, want(TOOLS_A, q(MSG("user", "hi") "," ASSIST("",
	      CALL("call_1", "add", J_ADD(1, 2)) ","
	      CALL("call_2", "divide", J_ADD(6, 3))) ","
	      RESULT("call_1", "blocked: not allowed") ","
	      RESULT("call_2", "2")), 1)));
}

/* A pre-tool hook replaces the input: the tool-use block and the handler
 * see the new input. A replacement that is not a JSON object is not run
 * and the model is told. */
static void
test_hook_pre_replace(void)
{
	struct hook h;
	oa_hook hook;
	char log[4096];
	oa_options o;
	oa_client c;

	hook.kind = OA_HOOK_PRE_TOOL_USE;
	hook.fn = hook_fn;
	hook.ctx = &h;
	hook_set(&h, "add", OA_HOOK_REPLACE, "{\"a\":10,\"b\":20}");
	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "add", J_ADD(1, 2))) ","
	            OK "," CALL_REPLY(WHOLE(0, "call_2", "add", J_ADD(1, 2)))
	            "," OK "]") == 0);
	automatic(&o);
	o.hooks = &hook;
	o.nhooks = 1;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[use:call_1 add {\"a\":10,\"b\":20}][result:call_1 30]"
	               "[text:ok][end:stop]");
	CHECK_STR(handled, "add{\"a\":10,\"b\":20};");
	CHECK_INT(h.calls, 1);
	CHECK_HAS(request_body(1), q(RESULT("call_1", "30") "]"));

	h.text = "{oops";
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_HAS(log, "[result:call_2 error: hook replaced the input with "
	               "invalid JSON][text:ok][end:stop]");
	CHECK_INT(nhandled, 1);
	CHECK_INT(h.calls, 2);
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK_HAS(request_body(3), q(RESULT("call_2", "error: hook "
	                                    "replaced the input with invalid "
	                                    "JSON") "]"));
}

/* Post-tool hooks see each result, failures flagged; their decision is
 * ignored. Pre-tool hooks fire once per call. */
static void
test_hook_post(void)
{
	struct hook pre, post;
	oa_hook hooks[2];
	char log[4096];
	oa_options o;
	oa_client c;

	hook_set(&pre, NULL, OA_HOOK_ALLOW, NULL);
	hook_set(&post, NULL, OA_HOOK_BLOCK, "ignored");
	hooks[0].kind = OA_HOOK_POST_TOOL_USE;
	hooks[0].fn = hook_fn;
	hooks[0].ctx = &post;
	hooks[1].kind = OA_HOOK_PRE_TOOL_USE;
	hooks[1].fn = hook_fn;
	hooks[1].ctx = &pre;
	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "add", J_ADD(1, 2)) ","
	                           WHOLE(1, "call_2", "divide", J_ADD(1, 0)))
	            "," OK "]") == 0);
	automatic(&o);
	o.hooks = hooks;
	o.nhooks = 2;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[use:call_1 add {\"a\":1,\"b\":2}][result:call_1 3]"
	               "[use:call_2 divide {\"a\":1,\"b\":0}][result:call_2 "
	               "error: division by zero][text:ok][end:stop]");
	CHECK_STR(post.seen, "post:call_1 add 3 0;post:call_2 divide error: "
	                     "division by zero 1;");
	CHECK_INT(post.calls, 2);
	CHECK_INT(pre.calls, 2);
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK(body_eq(1, want(TOOLS_A, q(MSG("user", "hi") "," ASSIST("",
	      CALL("call_1", "add", J_ADD(1, 2)) ","
	      CALL("call_2", "divide", J_ADD(1, 0))) ","
	      RESULT("call_1", "3") ","
	      RESULT("call_2", "error: division by zero")), 1)));
}

/* User-prompt hooks: block (nothing sent or kept), replace (the new
 * prompt is sent and kept), a value that is not a decision. The hook sees
 * the history as it was before the prompt. */
static void
test_hook_prompt(void)
{
	struct hook h;
	oa_hook hook;
	char log[4096];
	oa_options o;
	oa_client c;

	hook.kind = OA_HOOK_USER_PROMPT_SUBMIT;
	hook.fn = hook_fn;
	hook.ctx = &h;
	CHECK(start("[" OK "]") == 0);
	automatic(&o);
	o.hooks = &hook;
	o.nhooks = 1;
	CHECK_INT(oa_init(&c, &o), 0);

	hook_set(&h, NULL, OA_HOOK_BLOCK, "no secrets");
	CHECK_INT(oa_query(&c, "tell me a secret"), OA_ERR_HOOK);
	CHECK_STR(oa_errmsg(&c), "no secrets");
	CHECK_READS_ONCE(OA_ERR_HOOK, &c);
	CHECK_INT(oa_history_count(&c), 0);
	h.decision = 7;
	CHECK_INT(oa_query(&c, "what now"), OA_ERR_HOOK);
	CHECK(oa_errmsg(&c)[0] != '\0');
	CHECK_INT(oa_history_count(&c), 0);
	CHECK_INT(h.calls, 2);
	CHECK_INT(request_count(), 0);

	h.decision = OA_HOOK_REPLACE;
	h.text = "my password is [removed]";
	CHECK_INT(turn(&c, "my password is hunter2", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	h.decision = OA_HOOK_ALLOW;
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(h.seen, "prompt:tell me a secret 0;prompt:what now 0;"
	                  "prompt:my password is hunter2 0;prompt:again 2;");
	CHECK_INT(h.calls, 4);
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK_INT(request_count(), 2);
	CHECK(body_eq(0, want(TOOLS_A, q(MSG("user",
	                                     "my password is [removed]")), 1)));
	CHECK(body_eq(1, want(TOOLS_A, q(MSG("user", "my password is "
	                                     "[removed]") ","
	                                 MSG("assistant", "ok") ","
	                                 MSG("user", "again")), 1)));
}

/* A pre-tool hook that returns no decision ends the turn with
 * OA_ERR_HOOK before the tool runs; the client stays usable and the next
 * request answers every call it carries. */
static void
test_hook_bad_decision(void)
{
	struct hook h;
	oa_hook hook;
	const char *body;
	char log[4096];
	oa_options o;
	oa_client c;

	hook.kind = OA_HOOK_PRE_TOOL_USE;
	hook.fn = hook_fn;
	hook.ctx = &h;
	hook_set(&h, NULL, 42, NULL);
	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "add", J_ADD(1, 2))) ","
	            OK "]") == 0);
	automatic(&o);
	o.hooks = &hook;
	o.nhooks = 1;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_HOOK);
	CHECK(strstr(log, "[result:") == NULL);
	CHECK(oa_errmsg(&c)[0] != '\0');
	CHECK_INT(nhandled, 0);
	CHECK_INT(h.calls, 1);
	CHECK_INT(request_count(), 1);
	h.decision = OA_HOOK_ALLOW;
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	body = request_body(1);
	CHECK_HAS(body, q(MSG("user", "again") "],'tools'"));
	if (strstr(body, "\"tool_calls\"") != NULL)
		CHECK_HAS(body, "\"tool_call_id\":\"call_1\"");
}

/* Manual mode: pre-tool hooks run before each tool-use block is handed
 * out (once; not again on oa_continue), a replaced input shows in the
 * block, a blocked call comes with its result, which the caller cannot
 * overwrite. No post-tool hook fires: nothing ran. */
static void
test_hook_manual(void)
{
	struct hook ha, hw, post;
	oa_hook hooks[3];
	oa_message m;
	char log[4096];
	oa_options o;
	oa_client c;

	hook_set(&ha, "add", OA_HOOK_REPLACE, "{\"a\":5,\"b\":6}");
	hook_set(&hw, "get_weather", OA_HOOK_BLOCK, "no network");
	hook_set(&post, NULL, OA_HOOK_ALLOW, NULL);
	hooks[0].kind = hooks[1].kind = OA_HOOK_PRE_TOOL_USE;
	hooks[2].kind = OA_HOOK_POST_TOOL_USE;
	hooks[0].fn = hooks[1].fn = hooks[2].fn = hook_fn;
	hooks[0].ctx = &ha;
	hooks[1].ctx = &hw;
	hooks[2].ctx = &post;
	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "add", J_ADD(1, 2)) ","
	                           WHOLE(1, "call_2", "get_weather",
	                                 J_CITY("Oslo"))) "," OK "]") == 0);
	manual(&o);
	o.hooks = hooks;
	o.nhooks = 3;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	/* the blocked call needs no result, and the block says so: the
	 * manual loop answers every tool-use block and nothing else */
	CHECK_STR(log, "[use:call_1 add {\"a\":5,\"b\":6}][err:call_2 "
	               "get_weather no network|{\"city\":\"Oslo\"}]"
	               "[end:tool_calls]");
	CHECK_STR(rflags, "B");
	CHECK_INT((int)nuses, 1);
	CHECK_INT(oa_add_tool_result(&c, "call_2", "x"), OA_ERR_INVALID);
	CHECK_HAS(oa_errmsg(&c), "needs no result");
	CHECK_INT(oa_add_tool_result(&c, uses[0], "11"), 0);
	CHECK_INT(oa_continue(&c), 0);
	CHECK_INT(drain(&c, log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	CHECK_STR(ha.seen, "pre:call_1 add {\"a\":1,\"b\":2};"
	                   "pre:call_2 get_weather {\"city\":\"Oslo\"};");
	CHECK_INT(ha.calls, 2);
	CHECK_STR(hw.seen, "pre:call_2 get_weather {\"city\":\"Oslo\"};");
	CHECK_INT(hw.calls, 1);
	CHECK_INT(post.calls, 0);
	/* the history's tool messages carry the same flags */
	CHECK_INT(oa_history_get(&c, 2, &m), 0);
	CHECK_STR(m.tool_call_id, "call_1");
	CHECK(!m.is_error && !m.blocked);
	CHECK_INT(oa_history_get(&c, 3, &m), 0);
	CHECK_STR(m.tool_call_id, "call_2");
	CHECK(m.is_error && m.blocked);
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK_HAS(request_body(1), q(RESULT("call_1", "11") ","
	                             RESULT("call_2", "blocked: no network")
	                             "]"));
}

/* Hooks read the arguments as handlers do (oa_args_*): a PRE_TOOL_USE
 * hook denies one argument value without parsing JSON itself, and a
 * POST_TOOL_USE hook reads them too. */
static char args_seen[512];

static oa_hook_decision
args_hook(void *ctx, const oa_hook_event *ev, oa_hook_reply *reply)
{
	size_t n = strlen(args_seen), len = 0;
	const char *city, *json;
	double b;

	(void)ctx;
	if (ev->args == NULL) {
		snprintf(args_seen + n, sizeof args_seen - n, "no args;");
		return OA_HOOK_ALLOW;
	}
	json = oa_args_json(ev->args, &len);
	if (json == NULL || strcmp(json, ev->input) != 0 ||
	    len != strlen(ev->input))
		snprintf(args_seen + n, sizeof args_seen - n, "bad json;");
	else if (oa_args_string(ev->args, "city", &city, NULL) == 0)
		snprintf(args_seen + n, sizeof args_seen - n, "%s city=%s;",
		         ev->kind == OA_HOOK_PRE_TOOL_USE ? "pre" : "post",
		         city);
	else if (oa_args_number(ev->args, "b", &b) == 0)
		snprintf(args_seen + n, sizeof args_seen - n, "%s b=%g;",
		         ev->kind == OA_HOOK_PRE_TOOL_USE ? "pre" : "post", b);
	if (ev->kind != OA_HOOK_PRE_TOOL_USE)
		return OA_HOOK_ALLOW;
	if (oa_args_string(ev->args, "city", &city, NULL) == 0 &&
	    strcmp(city, "Oslo") == 0) {
		reply->text = "not Oslo";
		return OA_HOOK_BLOCK;
	}
	if (oa_args_number(ev->args, "b", &b) == 0 && b == 0) {
		reply->text = "b is 0";
		return OA_HOOK_BLOCK;
	}
	return OA_HOOK_ALLOW;
}

static void
test_hook_args(void)
{
	oa_hook hooks[2] = {{OA_HOOK_PRE_TOOL_USE, args_hook, NULL},
	                    {OA_HOOK_POST_TOOL_USE, args_hook, NULL}};
	char log[4096];
	oa_options o;
	oa_client c;

	/* manual: the escaped "Os\u006co" is "Oslo" to the hook */
	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "get_weather",
	                                 J_CITY("Os\\\\u006co")) ","
	                           WHOLE(1, "call_2", "get_weather",
	                                 J_CITY("Rome"))) "," OK ","
	            CALL_REPLY(WHOLE(0, "call_3", "add", J_ADD(1, 2)) ","
	                       WHOLE(1, "call_4", "divide", J_ADD(1, 0)))
	            "," OK "]") == 0);
	manual(&o);
	o.hooks = hooks;
	o.nhooks = 2;
	args_seen[0] = '\0';
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[err:call_1 get_weather not Oslo|{\"city\":"
	               "\"Os\\u006co\"}][use:call_2 get_weather {\"city\":\"Rome\"}]"
	               "[end:tool_calls]");
	CHECK_STR(args_seen, "pre city=Oslo;pre city=Rome;");
	CHECK_INT(oa_add_tool_result(&c, "call_2", "warm"), 0);
	CHECK_INT(oa_continue(&c), 0);
	CHECK_INT(drain(&c, log, sizeof log), 0);
	oa_free(&c);
	CHECK_INT(counts.live, 0);

	/* auto: the pre hook blocks b == 0; the post hook reads them too */
	automatic(&o);
	o.hooks = hooks;
	o.nhooks = 2;
	args_seen[0] = '\0';
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "go", log, sizeof log), 0);
	CHECK_STR(log, "[use:call_3 add {\"a\":1,\"b\":2}][result:call_3 3]"
	               "[use:call_4 divide {\"a\":1,\"b\":0}][result:call_4 "
	               "blocked: b is 0][text:ok][end:stop]");
	CHECK_STR(args_seen, "pre b=2;post b=2;pre b=0;");
	CHECK_STR(handled, "add{\"a\":1,\"b\":2};");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
}

/* A tool_choice that forces a call goes with the request after the
 * prompt only: the results go back without it, so the model can answer
 * with text (auto rounds and oa_continue() alike); keep_tool_choice
 * sends it every time. "auto" is sent every time anyway. */
static void
test_tool_choice_rounds(void)
{
	char log[4096];
	oa_options o;
	oa_client c;

	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "add", J_ADD(1, 2)))
	            "," OK "," CALL_REPLY(WHOLE(0, "call_2", "add", J_ADD(1, 2)))
	            "," OK "," CALL_REPLY(WHOLE(0, "call_3", "add", J_ADD(1, 2)))
	            "," OK "," CALL_REPLY(WHOLE(0, "call_4", "add", J_ADD(1, 2)))
	            "," OK "]") == 0);
	automatic(&o);
	o.tool_choice = "required";
	CHECK_INIT_MODULE(&c, &o, NO_FIELDS, "fields.c");
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[use:call_1 add {\"a\":1,\"b\":2}][result:call_1 3]"
	               "[text:ok][end:stop]");
	oa_free(&c);
	CHECK_HAS(request_body(0), "\"tool_choice\":\"required\"");
	CHECK(request_body(1) != NULL &&
	      strstr(request_body(1), "tool_choice") == NULL);
	CHECK_HAS(request_body(1), "\"temperature\":0.7}");

	/* a tool's name, in manual mode: not with oa_continue() */
	manual(&o);
	o.tool_choice = "add";
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_INT(oa_add_tool_result(&c, "call_2", "3"), 0);
	CHECK_INT(oa_continue(&c), 0);
	CHECK_INT(drain(&c, log, sizeof log), 0);
	oa_free(&c);
	CHECK_HAS(request_body(2), "\"tool_choice\":{\"type\":\"function\"");
	CHECK(request_body(3) != NULL &&
	      strstr(request_body(3), "tool_choice") == NULL);

	/* keep_tool_choice: every request */
	automatic(&o);
	o.tool_choice = "required";
	o.keep_tool_choice = 1;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	oa_free(&c);
	CHECK_HAS(request_body(4), "\"tool_choice\":\"required\"");
	CHECK_HAS(request_body(5), "\"tool_choice\":\"required\"");

	/* "auto" never forces a call: every request */
	automatic(&o);
	o.tool_choice = "auto";
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK_HAS(request_body(6), "\"tool_choice\":\"auto\"");
	CHECK_HAS(request_body(7), "\"tool_choice\":\"auto\"");
}

/* usage on the turn-end block sums the turn's requests (a tool round
 * trip is two); last_usage is the last request's alone. */
static void
test_usage_turn(void)
{
	oa_options o;
	oa_client c;
	oa_block b;
	int r, ends = 0;

	CHECK(start("[{'events':[" ROLE ","
	            CALLS(WHOLE(0, "call_1", "add", J_ADD(1, 2))) ","
	            FINISH("tool_calls") "," USAGE_CHUNK(10, 5, 15) "," DONE
	            "]},{'events':[" ROLE "," TEXT("3") "," FINISH("stop") ","
	            USAGE_CHUNK(25, 1, 26) "," DONE "]}]") == 0);
	automatic(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(oa_query(&c, "hi"), 0);
	while ((r = oa_next(&c, &b)) > 0) {
		if (b.type != OA_BLOCK_TURN_END)
			continue;
		ends++;
		CHECK(b.usage.present && b.last_usage.present);
		CHECK_INT((int)b.usage.prompt_tokens, 35);
		CHECK_INT((int)b.usage.completion_tokens, 6);
		CHECK_INT((int)b.usage.total_tokens, 41);
		CHECK_INT((int)b.last_usage.prompt_tokens, 25);
		CHECK_INT((int)b.last_usage.completion_tokens, 1);
		CHECK_INT((int)b.last_usage.total_tokens, 26);
	}
	CHECK_INT(r, 0);
	CHECK_INT(ends, 1);
	CHECK_INT(request_count(), 2);
	oa_free(&c);
	CHECK_INT(counts.live, 0);
}

/* ------------------------------------------------------------- interrupt */

static int64_t interrupted_at;

static void *
interrupter(void *arg)
{
	struct timespec ts = {0, 300 * 1000000L};

	nanosleep(&ts, NULL);
	interrupted_at = now_ms();
	oa_interrupt(arg);
	oa_interrupt(arg);
	return NULL;
}

/* A stream that stalls in the middle of a tool call; another thread
 * interrupts (twice). oa_next() returns OA_ERR_INTERRUPTED promptly, the
 * partial text stays, the incomplete call is dropped, and the client
 * works for the next query (an interrupt between turns does not carry
 * over). */
static void
test_interrupt_stalled(void)
{
	char log[4096];
	oa_options o;
	oa_client c;
	pthread_t th;
	int64_t took;
	int r;

	CHECK(start("[{'events':[" ROLE "," TEXT("Hel") ","
	            CALLS(HEAD(0, "call_1", "add")) ","
	            CALLS(ARGS(0, "{\\'a\\':")) "," FINISH("tool_calls") ","
	            DONE "],'stall_after_events':4}," OK "]") == 0);
	manual(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(pthread_create(&th, NULL, interrupter, &c), 0);
	r = turn(&c, "hi", log, sizeof log);
	took = now_ms();
	pthread_join(th, NULL);
	took -= interrupted_at;
	printf("     interrupt returned after %lld ms\n", (long long)took);
	CHECK_INT(r, OA_ERR_INTERRUPTED);
	CHECK_READS_ONCE(r, &c);
	CHECK(took < 1000);
	CHECK_STR(log, "[text:Hel]");
	oa_interrupt(&c);
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK(body_eq(1, want(TOOLS_M, q(MSG("user", "hi") ","
	                                 MSG("assistant", "Hel") ","
	                                 MSG("user", "again")), 1)));
}

/* An interrupt while a handler runs: the handler finishes, the next tool
 * does not run and no request follows; its call is answered "not run" so
 * the next request is valid. */
static void
test_interrupt_auto(void)
{
	oa_tool tools[2];
	char log[4096];
	oa_options o;
	oa_client c;

	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "halt", J_ADD(0, 0)) ","
	                           WHOLE(1, "call_2", "add", J_ADD(1, 2))) ","
	            OK "]") == 0);
	automatic(&o);
	memset(tools, 0, sizeof tools);
	tools[0].name = "halt";
	tools[0].description = "Stop";
	tools[0].parameters = SCHEMA_AB;
	tools[0].handler = tool_halt;
	tools[0].ctx = &c;
	tools[1] = auto_tools[0];
	o.tools = tools;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_INTERRUPTED);
	/* whether the finished tool's result block comes out before the
	 * error is not pinned down; its result is, in the history */
	if (strcmp(log, "[use:call_1 halt {\"a\":0,\"b\":0}]") != 0)
		CHECK_STR(log, "[use:call_1 halt {\"a\":0,\"b\":0}]"
		               "[result:call_1 halted]");
	CHECK_STR(handled, "halt{\"a\":0,\"b\":0};");
	CHECK_INT(request_count(), 1);
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK(body_eq(1, want("[" TOOL_JSON("halt", "Stop", ADD_SCHEMA) ","
	                      TOOL_JSON("add", "Add two numbers", ADD_SCHEMA)
	                      "]", q(MSG("user", "hi") "," ASSIST("",
	      CALL("call_1", "halt", J_ADD(0, 0)) ","
	      CALL("call_2", "add", J_ADD(1, 2))) ","
	      RESULT("call_1", "halted") ","
	      RESULT("call_2", "error: not run: interrupted") ","
	      MSG("user", "again")), 1)));
}

/* ------------------------------------------------------------- no_stream */

/* "stream": false and no stream_options; the whole reply's message
 * (reasoning, content, tool calls with arguments as a string and as an
 * object) becomes the same blocks a stream would. */
static void
test_no_stream(void)
{
	char log[4096];
	oa_options o;
	oa_client c;

	CHECK(start("[{'json':{'id':'chatcmpl-1','object':'chat.completion',"
	            "'choices':[{'index':0,'message':{'role':'assistant',"
	            "'content':'Let me see.','reasoning_content':'Plan',"
	            "'tool_calls':[{'id':'call_n1','type':'function',"
	            "'function':{'name':'add','arguments':'" J_ADD(1, 2) "'}},"
	            "{'id':'call_n2','type':'function','function':{'name':"
	            "'get_weather','arguments':{'city':'Oslo'}}}]},"
	            "'finish_reason':'tool_calls'}]," USAGE(3, 4, 7) "}},"
	            "{'json':{'choices':[{'index':0,'message':{'role':"
	            "'assistant','content':'Done'},'finish_reason':'stop'}]}}"
	            "]") == 0);
	manual(&o);
	o.no_stream = 1;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[think:Plan][text:Let me see.][use:call_n1 add "
	               "{\"a\":1,\"b\":2}][use:call_n2 get_weather "
	               "{\"city\":\"Oslo\"}][end:tool_calls 3/4/7]");
	CHECK_INT(oa_add_tool_result(&c, "call_n1", "3"), 0);
	CHECK_INT(oa_add_tool_result(&c, "call_n2", "rain"), 0);
	CHECK_INT(oa_continue(&c), 0);
	CHECK_INT(drain(&c, log, sizeof log), 0);
	CHECK_STR(log, "[text:Done][end:stop]");
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK(body_eq(0, want(TOOLS_M, q(MSG("user", "hi")), 0)));
	CHECK(body_eq(1, want(TOOLS_M, q(MSG("user", "hi") ","
	      ASSIST("Let me see.", CALL("call_n1", "add", J_ADD(1, 2)) ","
	             CALL("call_n2", "get_weather", J_CITY("Oslo"))) ","
	      RESULT("call_n1", "3") "," RESULT("call_n2", "rain")), 0)));
}


/* A server without a tool parser: the call arrives as Hermes markup in
 * the text, split across chunks. It becomes a tool call; the text around
 * it stays text, and the history carries the text without the markup. */
static void
test_text_tools(void)
{
	char log[4096], expect[1024];
	oa_options o;
	oa_client c;

	CHECK(start("[{'events':[" ROLE "," TEXT("Let me add.<tool") ","
	            TEXT("_call>{\\'name\\': \\'add\\', ") ","
	            TEXT("\\'arguments\\': {\\'a\\': 2, \\'b\\': 3}}</to")
	            "," TEXT("ol_call>") "," FINISH("stop") "," DONE "]},"
	            "{'events':[" ROLE "," TEXT("The sum is 5.") ","
	            FINISH("stop") "," DONE "]}," OK "]") == 0);
	automatic(&o);
	o.parse_text_tools = 1;
	CHECK_INIT_MODULE(&c, &o, NO_TEXTFILTER, "textfilter.c");
	nuses = 0;
	CHECK_INT(turn(&c, "What is 2 + 3?", log, sizeof log), 0);
	CHECK_INT(nuses, 1);
	CHECK(strncmp(uses[0], "call_", 5) == 0 && strlen(uses[0]) == 29);
	snprintf(expect, sizeof expect,
	         "[text:Let me add.][use:%s add {\"a\": 2, \"b\": 3}]"
	         "[result:%s 5][text:The sum is 5.][end:stop]", uses[0],
	         uses[0]);
	CHECK_STR(log, expect);
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK_HAS(request_body(1), "{\"role\":\"assistant\",\"content\":"
	                           "\"Let me add.\",\"tool_calls\":[{\"id\":");
	CHECK_HAS(request_body(1), "\"name\":\"add\",\"arguments\":"
	                           "\"{\\\"a\\\": 2, \\\"b\\\": 3}\"}}]}");
	CHECK_HAS(request_body(1), "{\"role\":\"tool\",\"tool_call_id\":");
}

/* <think>...</think> in the content, split across chunks, becomes
 * thinking; only the rest is the reply. */
static void
test_think_tags(void)
{
	char log[1024];
	oa_options o;
	oa_client c;

	CHECK(start("[{'events':[" ROLE "," TEXT("<thi") "," TEXT("nk>Hm")
	            "," TEXT("m</th") "," TEXT("ink>Hello") ","
	            FINISH("stop") "," DONE "]}," OK "]") == 0);
	manual(&o);
	o.think_tags = 1;
	CHECK_INIT_MODULE(&c, &o, NO_TEXTFILTER, "textfilter.c");
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[think:Hm][think:m][text:Hello][end:stop]");
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	oa_free(&c);
	CHECK_INT(counts.live, 0);
	CHECK(body_eq(1, want(TOOLS_M, q(MSG("user", "hi") ","
	      MSG("assistant", "Hello") "," MSG("user", "again")), 1)));
}

/* Almost-JSON arguments: a tool-use error by default, mended with
 * lenient_tool_args (and the block says so). */
static void
test_lenient_args(void)
{
	char log[4096];
	oa_options o;
	oa_client c;
	oa_block b;
	int r, repaired = -1;

	CHECK(start("[" CALL_REPLY(WHOLE(0, "call_1", "add",
	                                 "{a: 2, \\u0027b\\u0027: 3,}")) ","
	            CALL_REPLY(WHOLE(0, "call_1", "add",
	                             "{a: 2, \\u0027b\\u0027: 3,}")) ","
	            OK "]") == 0);
	manual(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "add", log, sizeof log), 0);
	CHECK_HAS(log, "[err:call_1 add arguments are not valid JSON: ");
	oa_free(&c);

	manual(&o);
	o.lenient_tool_args = 1;
	CHECK_INIT_MODULE(&c, &o, NO_TEXTFILTER, "textfilter.c");
	CHECK_INT(oa_query(&c, "add"), 0);
	while ((r = oa_next(&c, &b)) > 0)
		if (b.type == OA_BLOCK_TOOL_USE) {
			repaired = b.repaired;
			CHECK_STR(b.input, "{\"a\": 2, \"b\": 3}");
		}
	CHECK_INT(r, 0);
	CHECK_INT(repaired, 1);
	oa_free(&c);
	CHECK_INT(counts.live, 0);
}

static const struct test tests[] = {
	{"text_tools", test_text_tools},
	{"think_tags", test_think_tags},
	{"lenient_args", test_lenient_args},
	{"openai_fragments", test_openai_fragments},
	{"ollama_whole", test_ollama_whole},
	{"ollama_several", test_ollama_several},
	{"index_missing", test_index_missing},
	{"interleaved", test_interleaved},
	{"args_object", test_args_object},
	{"args_empty", test_args_empty},
	{"finish_stop", test_finish_stop},
	{"no_id", test_no_id},
	{"shared_ids", test_shared_ids},
	{"sglang_same_index", test_sglang_same_index},
	{"name_variants", test_name_variants},
	{"index_string", test_index_string},
	{"single_object", test_single_object},
	{"vllm_tail", test_vllm_tail},
	{"finish_empty", test_finish_empty},
	{"finish_empty_truncated", test_finish_empty_truncated},
	{"no_finish_reason", test_no_finish_reason},
	{"webui_markup", test_webui_markup},
	{"max_tool_calls", test_max_tool_calls},
	{"manual", test_manual},
	{"manual_errors", test_manual_errors},
	{"args_not_object", test_args_not_object},
	{"auto_calculator", test_auto_calculator},
	{"auto_parallel", test_auto_parallel},
	{"auto_errors", test_auto_errors},
	{"max_iterations", test_max_iterations},
	{"hook_pre_block", test_hook_pre_block},
	{"hook_pre_replace", test_hook_pre_replace},
	{"hook_post", test_hook_post},
	{"hook_prompt", test_hook_prompt},
	{"hook_bad_decision", test_hook_bad_decision},
	{"hook_manual", test_hook_manual},
	{"hook_args", test_hook_args},
	{"tool_choice_rounds", test_tool_choice_rounds},
	{"usage_turn", test_usage_turn},
	{"interrupt_stalled", test_interrupt_stalled},
	{"interrupt_auto", test_interrupt_auto},
	{"no_stream", test_no_stream},
	{NULL, NULL}
};

int
main(int argc, char **argv)
{
	return harness_main("test_agent", argc, argv, tests);
}
