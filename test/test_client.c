/*
 * test_client.c -- the whole client through real sockets, public API only.
 *
 * Each test starts test/server.py (OA_TEST_SERVER) on 127.0.0.1 with a
 * scenario: the responses it plays back, in order, one per request. The
 * server records every request it gets, so a test asserts both sides: the
 * exact blocks oa_next() hands out and the exact bytes the client sent.
 *
 * Scenarios are written in C with ' for " (harness.h swaps them back), so
 * {'reply':'ok'} is the JSON {"reply":"ok"}; \\' is an escaped quote
 * inside a JSON string. The format is documented in server.py.
 *
 * A turn is rendered as one string, e.g. "[think:Hm][text:Hi][end:stop
 * 3/1/4]", so a single CHECK_STR pins the whole block sequence. Every
 * error case then runs a second, normal turn on the same client: an error
 * must leave the client usable and its history consistent.
 */
#include <pthread.h>

/* A chunk shaped like llama.cpp's, system_fingerprint included; delta
 * and finish are JSON text. */
#define CHUNK(delta, finish)                                                 \
	"{'choices':[{'finish_reason':" finish ",'index':0,'delta':" delta  \
	"}],'created':1700000000,'id':'chatcmpl-1','model':'test',"        \
	"'system_fingerprint':'b5000','object':'chat.completion.chunk'}"
#include "harness.h"

/* ------------------------------------------------------- the client side */

static size_t text_bytes, text_blocks;

static void
render(char *log, size_t cap, const oa_block *b)
{
	size_t n = strlen(log);
	const char *t = b->text ? b->text : "(null)";

	if ((b->type == OA_BLOCK_TEXT || b->type == OA_BLOCK_THINKING) &&
	    (b->text == NULL || strlen(b->text) != b->text_len)) {
		snprintf(log + n, cap - n, "[bad text_len]");
		return;
	}
	if (b->type == OA_BLOCK_TEXT)
		snprintf(log + n, cap - n, "[text:%s]", t);
	else if (b->type == OA_BLOCK_THINKING)
		snprintf(log + n, cap - n, "[think:%s]", t);
	else if (b->type == OA_BLOCK_TURN_END && b->usage.present)
		snprintf(log + n, cap - n, "[end:%s %lld/%lld/%lld]",
		         b->finish_reason ? b->finish_reason : "(null)",
		         b->usage.prompt_tokens, b->usage.completion_tokens,
		         b->usage.total_tokens);
	else if (b->type == OA_BLOCK_TURN_END)
		snprintf(log + n, cap - n, "[end:%s]",
		         b->finish_reason ? b->finish_reason : "(null)");
	else
		snprintf(log + n, cap - n, "[type %d]", (int)b->type);
}

/* One turn: query, then every block into log (may be NULL: only count
 * text). Returns the last oa_next() result, 0 or an error; an error that
 * does not stick is logged as such. */
static int
turn(oa_client *c, const char *prompt, char *log, size_t cap)
{
	oa_block b;
	int r;

	if (log != NULL)
		log[0] = '\0';
	text_bytes = text_blocks = 0;
	if ((r = oa_query(c, prompt)) != 0)
		return r;
	while ((r = oa_next(c, &b)) > 0) {
		if (b.type == OA_BLOCK_TEXT) {
			text_bytes += b.text_len;
			text_blocks++;
		}
		if (log != NULL)
			render(log, cap, &b);
	}
	if (r < 0 && oa_next(c, &b) != r && log != NULL)
		strncat(log, "[error did not stick]", cap - strlen(log) - 1);
	return r;
}

/* ------------------------------------------------------ scenario building */

/* The request body around the messages, with the default options. */
#define BODY(msgs)                                                           \
	"{'model':'test','messages':[" msgs "],'stream':true,"               \
	"'stream_options':{'include_usage':true},'max_tokens':4096,"         \
	"'temperature':0.7}"

/* ------------------------------------------------------------------- tests */

/* llama.cpp: role-only first chunk, content deltas, a finish chunk with
 * usage and timings, [DONE]. */
static void
test_llama_stream(void)
{
	oa_options o;
	oa_client c;
	char log[1024];
	const char *rq;

	CHECK(start("[{'events':[" ROLE "," TEXT("Hel") "," TEXT("lo") ","
	            TEXT(" world") ","
	            "{'choices':[{'finish_reason':'stop','index':0,'delta':{}}],"
	            "'created':1700000000,'id':'chatcmpl-1','model':'test',"
	            "'object':'chat.completion.chunk',"
	            USAGE(10, 3, 13) ",'timings':{'prompt_n':10,"
	            "'prompt_ms':12.5,'predicted_n':3,'predicted_ms':30.1}},"
	            DONE "]}]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:Hel][text:lo][text: world][end:stop 10/3/13]");
	CHECK_INT(oa_http_status(&c), 200);
	CHECK_STR(oa_errmsg(&c), "");
	oa_free(&c);

	CHECK_INT(request_count(), 1);
	CHECK(body_is(0, BODY(MSG("user", "hi"))));
	rq = request(0);
	CHECK_HAS(rq, "\"method\":\"POST\",\"path\":\"/v1/chat/completions\"");
	CHECK_HAS(rq, "\"content-type\":\"application/json\"");
	CHECK_HAS(rq, "\"accept\":\"text/event-stream\"");
	CHECK(strstr(rq, "\"authorization\"") == NULL);
}

/* The second request carries the first exchange; the system prompt comes
 * first; prompts are escaped. */
static void
test_multi_turn(void)
{
	oa_options o;
	oa_client c;
	char log[1024];

	CHECK(start("[{'reply':['Hel','lo']},{'reply':'Fine'},{'reply':'!'}]")
	      == 0);
	options(&o);
	o.system_prompt = "Be brief";
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:Hel][text:lo][end:stop]");
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:Fine][end:stop]");
	CHECK_INT(turn(&c, "say \"x\"\n\tnow", log, sizeof log), 0);
	CHECK_STR(log, "[text:!][end:stop]");
	oa_free(&c);

	CHECK(body_is(0, BODY(MSG("system", "Be brief") ","
	                      MSG("user", "hi"))));
	CHECK(body_is(1, BODY(MSG("system", "Be brief") "," MSG("user", "hi")
	                      "," MSG("assistant", "Hello") ","
	                      MSG("user", "again"))));
	CHECK(body_is(2, BODY(MSG("system", "Be brief") "," MSG("user", "hi")
	                      "," MSG("assistant", "Hello") ","
	                      MSG("user", "again") ","
	                      MSG("assistant", "Fine") ","
	                      MSG("user", "say \\'x\\'\\n\\tnow"))));
}

/* Options that change the request body. */
static void
test_request_options(void)
{
	oa_options o;
	oa_client c;
	char log[256];

	CHECK(start("[" OK "]") == 0);
	options(&o);
	o.model = NULL;
	o.max_tokens = OA_OMIT;
	o.temperature = OA_ZERO;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	oa_free(&c);
	CHECK(body_is(0, "{'messages':[" MSG("user", "hi") "],'stream':true,"
	              "'stream_options':{'include_usage':true},"
	              "'temperature':0}"));

	options(&o);
	o.max_tokens = 100;
	o.temperature = 0.25;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	oa_free(&c);
	CHECK(body_is(1, "{'model':'test','messages':[" MSG("user", "hi")
	              "],'stream':true,'stream_options':{'include_usage':"
	              "true},'max_tokens':100,'temperature':0.25}"));

	options(&o);
	o.temperature = OA_OMIT;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	oa_free(&c);
	CHECK(body_is(2, "{'model':'test','messages':[" MSG("user", "hi")
	              "],'stream':true,'stream_options':{'include_usage':"
	              "true},'max_tokens':4096}"));
}

/* OpenAI, vLLM, Ollama: usage comes in its own chunk with empty choices
 * after the finish chunk. */
static void
test_usage_chunk(void)
{
	oa_options o;
	oa_client c;
	char log[1024];

	CHECK(start("[{'events':[" ROLE "," TEXT("Hi") "," FINISH("stop") ","
	            "{'id':'chatcmpl-1','object':'chat.completion.chunk',"
	            "'choices':[]," USAGE(7, 1, 8) "}," DONE "]},"
	            /* Ollama: content and finish in one chunk */
	            "{'events':[{'id':'chatcmpl-2','object':"
	            "'chat.completion.chunk','choices':[{'index':0,'delta':"
	            "{'role':'assistant','content':'Yo'},'finish_reason':"
	            "'length'}]},{'choices':[]," USAGE(5, 2, 7) "}," DONE
	            "]}]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:Hi][end:stop 7/1/8]");
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:Yo][end:length 5/2/7]");
	oa_free(&c);
}

/* reasoning_content (llama.cpp, vLLM), reasoning (Ollama), both in one
 * delta with the same text (one block), thinking before text in one delta;
 * thinking never goes back to the server. */
static void
test_thinking(void)
{
	oa_options o;
	oa_client c;
	char log[1024];

	CHECK(start("[{'events':[" ROLE ","
	            CHUNK("{'reasoning_content':'Let me'}", "null") ","
	            CHUNK("{'reasoning_content':' see'}", "null") ","
	            TEXT("Yes") "," FINISH("stop") "," DONE "]},"
	            "{'events':[" CHUNK("{'reasoning':'Hm'}", "null") ","
	            CHUNK("{'content':'','reasoning':'m'}", "null") ","
	            TEXT("No") "," FINISH("stop") "," DONE "]},"
	            "{'events':["
	            CHUNK("{'reasoning_content':'Same','reasoning':'Same'}",
	                  "null") ","
	            CHUNK("{'reasoning_content':'A','content':'B'}", "null")
	            "," FINISH("stop") "," DONE "]}]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[think:Let me][think: see][text:Yes][end:stop]");
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[think:Hm][think:m][text:No][end:stop]");
	CHECK_INT(turn(&c, "more", log, sizeof log), 0);
	CHECK_STR(log, "[think:Same][think:A][text:B][end:stop]");
	oa_free(&c);
	CHECK(body_is(2, BODY(MSG("user", "hi") "," MSG("assistant", "Yes")
	                      "," MSG("user", "again") ","
	                      MSG("assistant", "No") ","
	                      MSG("user", "more"))));
}

/* No [DONE] after a finish_reason: Ollama and text-generation-webui end
 * the body instead. Chunked and close-delimited. */
static void
test_no_done(void)
{
	oa_options o;
	oa_client c;
	char log[1024];

	CHECK(start("[{'framing':'close','events':[" ROLE "," TEXT("Hi") ","
	            FINISH("stop") "]},"
	            "{'events':[" TEXT("Yo") "," FINISH("length") "]},"
	            OK "]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:Hi][end:stop]");
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:Yo][end:length]");
	CHECK_INT(turn(&c, "more", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
}

/* [DONE] ends the turn even when the body does not end (the server never
 * sends the last chunk): the client must neither wait for it nor reuse
 * that connection. Then a server that says Connection: close. */
static void
test_done_ends_turn(void)
{
	oa_options o;
	oa_client c;
	char log[1024];
	int64_t t0 = now_ms();

	CHECK(start("[{'events':[" TEXT("Hi") "," DONE "],'no_final_chunk':"
	            "true},{'reply':'Yo','connection':'close'}," OK "]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:Hi][end:stop]");
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:Yo][end:stop]");
	CHECK_INT(turn(&c, "more", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK(now_ms() - t0 < 10000);
	CHECK_INT(request_count(), 3);
}

/* text-generation-webui: CRLF line ends, ": ping" comments, usage on the
 * finish chunk, no [DONE]. */
static void
test_crlf(void)
{
	oa_options o;
	oa_client c;
	char log[1024];

	CHECK(start("[{'sep':'\\r\\n\\r\\n','events':[" ROLE ","
	            "': ping - 2025-06-01 10:00:00.000000\\r\\n\\r\\n',"
	            TEXT("Hel") "," TEXT("lo") ","
	            "{'choices':[{'index':0,'finish_reason':'stop','delta':"
	            "{}}]," USAGE(4, 2, 6) "}]}," OK "]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:Hel][text:lo][end:stop 4/2/6]");
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
}

/* TGI and mistral.rs: "data:" without a space, "data:[DONE]", ':' keep-
 * alive lines; OpenRouter's ": OPENROUTER PROCESSING". */
static void
test_tgi_and_comments(void)
{
	oa_options o;
	oa_client c;
	char log[1024];

	CHECK(start("[{'prefix':'data:','events':[':\\n\\n'," TEXT("Hel") ","
	            "':\\n\\n'," TEXT("lo") ",'data:[DONE]\\n\\n']},"
	            "{'events':[': OPENROUTER PROCESSING\\n\\n',"
	            "': OPENROUTER PROCESSING\\n\\n'," TEXT("Yo") ","
	            "': OPENROUTER PROCESSING\\n\\n'," FINISH("stop") ","
	            "'data:[DONE]\\r\\n\\r\\n']}]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:Hel][text:lo][end:stop]");
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:Yo][end:stop]");
	oa_free(&c);
}

/* A 4-byte UTF-8 character cut across HTTP chunks at every byte, and the
 * same character as a \ud83d\ude00 surrogate pair. "data: " plus
 * {"choices":[{"index":0,"delta":{"content":" is 49 bytes. */
static void
test_utf8(void)
{
	oa_options o;
	oa_client c;
	char log[1024];

	CHECK(start("[{'events':[{'send':{'choices':[{'index':0,'delta':"
	            "{'content':'\\ud83d\\ude00 ok'}}]},'split':[50,51,52]},"
	            "{'send':{'choices':[{'index':0,'delta':{'content':"
	            "' caf\\u00e9 \\ud83d\\ude00'}}]},'ascii':true}," DONE
	            "]}]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:\xf0\x9f\x98\x80 ok]"
	               "[text: caf\xc3\xa9 \xf0\x9f\x98\x80][end:stop]");
	oa_free(&c);
	/* UTF-8 goes back to the server as it came */
	CHECK(start("[" OK "]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "caf\xc3\xa9", log, sizeof log), 0);
	oa_free(&c);
	CHECK(body_is(0, BODY(MSG("user", "caf\xc3\xa9"))));
}

/* Content as an array of parts; null content, a missing delta, empty
 * choices, "" content and finish_reason, role-only chunks: no blocks. */
static void
test_content_shapes(void)
{
	oa_options o;
	oa_client c;
	char log[1024];

	CHECK(start("[{'events':[" ROLE ","
	            CHUNK("{'content':[{'type':'text','text':'Hel'},"
	                  "{'type':'text','text':'lo'}]}", "null") ","
	            CHUNK("{'content':null}", "null") ","
	            "{'choices':[{'index':0,'finish_reason':null}]},"
	            "{'choices':[]},{'id':'x'},"
	            CHUNK("{'content':''}", "''") ","
	            CHUNK("{}", "null") ","
	            CHUNK("{'role':'assistant'}", "null") ","
	            TEXT("!") "," DONE "]}]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:Hello][text:!][end:stop]");
	oa_free(&c);
}

/* LM Studio resends the whole text in every chunk: only the new part is a
 * block. Genuine deltas that merely start like the text so far stay as
 * they are. Without cumulative.c every chunk is taken as a delta. */
static void
test_cumulative(void)
{
	oa_options o;
	oa_client c;
	char log[1024];

	CHECK(start("[{'events':[" ROLE "," TEXT("Hel") "," TEXT("Hello") ","
	            TEXT("Hello wor") "," TEXT("Hello world") ","
	            FINISH("stop") "," DONE "]},"
	            "{'events':[" TEXT("a") "," TEXT("ab") "," TEXT("c") ","
	            TEXT("d") "," FINISH("stop") "," DONE "]}," OK "]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, NO_CUMULATIVE
	          ? "[text:Hel][text:Hello][text:Hello wor][text:Hello world]"
	            "[end:stop]"
	          : "[text:Hel][text:lo][text: wor][text:ld][end:stop]");
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:a][text:ab][text:c][text:d][end:stop]");
	CHECK_INT(turn(&c, "more", log, sizeof log), 0);
	oa_free(&c);
#define REST MSG("user", "again") "," MSG("assistant", "aabcd") ","       \
	     MSG("user", "more")
	CHECK(body_is(2, NO_CUMULATIVE
	      ? BODY(MSG("user", "hi") ","
	             MSG("assistant", "HelHelloHello worHello world") "," REST)
	      : BODY(MSG("user", "hi") "," MSG("assistant", "Hello world") ","
	             REST)));
#undef REST
}

/* Non-2xx answers in every shape: OA_ERR_HTTP, the status, the URL
 * requested, the server's message; the failed prompt leaves no trace in
 * the next request. */
static void
test_http_errors(void)
{
	static const struct {
		const char *resp;
		int status;
		const char *msg; /* after "HTTP N from URL: " when exact */
		int exact;
	} cases[] = {
		{"{'status':400,'json':{'error':{'message':'messages must not "
		 "be empty','type':'invalid_request_error'}}}", 400,
		 "messages must not be empty", 1},
		{"{'status':404,'json':{'error':'model \\'llama9\\' not found, "
		 "try pulling it first'}}", 404,
		 "model \"llama9\" not found, try pulling it first", 1},
		{"{'status':422,'json':{'detail':[{'loc':['body','messages'],"
		 "'msg':'Field required','type':'missing'}]}}", 422,
		 "Field required", 1},
		{"{'status':500,'json':{'detail':'Internal failure'}}", 500,
		 "Internal failure", 1},
		{"{'status':401,'json':{'message':'Invalid API key'}}", 401,
		 "Invalid API key", 1},
		{"{'status':502,'content_type':'text/html','body':'<html>\\n"
		 "<head><title>502 Bad Gateway</title></head>\\n<body>\\n  "
		 "nginx   went\\taway\\n</body>\\n</html>\\n'}", 502,
		 "nginx went away", 0},
		{"{'status':500,'content_type':'text/plain','framing':'length',"
		 "'body':'upstream crashed'}", 500,
		 "upstream crashed", 1},
	};
	char scen[1024], log[1024], want[512];
	oa_options o;
	oa_client c;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(scen, sizeof scen, "[%s," OK "]", cases[i].resp);
		CHECK(start(scen) == 0);
		options(&o);
		CHECK_INT(oa_init(&c, &o), 0);
		CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_HTTP);
		CHECK_STR(log, "");
		CHECK_INT(oa_http_status(&c), cases[i].status);
		snprintf(want, sizeof want, "HTTP %d from %s/chat/completions: "
		         "%s", cases[i].status, srv.url, cases[i].msg);
		if (cases[i].exact)
			CHECK_STR(oa_errmsg(&c), want);
		else
			CHECK_HAS(oa_errmsg(&c), cases[i].msg);
		CHECK_READS_ONCE(OA_ERR_HTTP, &c);
		CHECK_INT(turn(&c, "again", log, sizeof log), 0);
		CHECK_STR(log, "[text:ok][end:stop]");
		CHECK_INT(oa_http_status(&c), 200);
		oa_free(&c);
		CHECK(body_is(1, BODY(MSG("user", "again"))));
	}
	/* the HTML case, checked for its prefix too */
	CHECK(start("[{'status':503,'content_type':'text/html','body':"
	            "'<h1>Loading model</h1>'}]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_HTTP);
	CHECK_INT(oa_http_status(&c), 503);
	snprintf(want, sizeof want, "HTTP 503 from %s/chat/completions: ",
	         srv.url);
	CHECK_HAS(oa_errmsg(&c), want);
	CHECK_HAS(oa_errmsg(&c), "Loading model");
	oa_free(&c);
}

/* An error inside a 200 stream, in each server's shape: OA_ERR_SERVER
 * after the text already streamed, which stays in history. */
static void
test_stream_errors(void)
{
	static const char *const shapes[] = {
		/* llama.cpp late 2025, vLLM, LiteLLM */
		"{'error':{'message':'boom','type':'server_error','code':500}}",
		/* TGI and friends */
		"{'error':'boom','error_type':'generation'}",
		/* LM Studio */
		"'event: error\\ndata: {\\'message\\':\\'boom\\'}\\n\\n'",
		/* old llama.cpp */
		"'error: {\\'code\\':500,\\'message\\':\\'boom\\',\\'type\\':"
		"\\'server_error\\'}\\n\\n'," DONE,
		/* old vLLM */
		"{'object':'error','message':'boom','type':'BadRequestError',"
		"'param':null,'code':400}," DONE,
		/* mistral.rs */
		"'data:boom: the model crashed\\n\\n','data:[DONE]\\n\\n'",
		/* OpenRouter */
		"{'id':'gen-1','object':'chat.completion.chunk','error':{'code':"
		"502,'message':'boom'},'choices':[{'index':0,'delta':{'content':"
		"''},'finish_reason':'error'}]}",
	};
	char scen[2048], log[1024];
	oa_options o;
	oa_client c;
	size_t i;

	for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		snprintf(scen, sizeof scen, "[{'events':[" ROLE "," TEXT("Hel")
		         ",%s]}," OK "]", shapes[i]);
		CHECK(start(scen) == 0);
		options(&o);
		CHECK_INT(oa_init(&c, &o), 0);
		CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_SERVER);
		CHECK_STR(log, "[text:Hel]");
		CHECK_HAS(oa_errmsg(&c), "boom");
		CHECK_INT(turn(&c, "again", log, sizeof log), 0);
		CHECK_STR(log, "[text:ok][end:stop]");
		oa_free(&c);
		CHECK(body_is(1, BODY(MSG("user", "hi") ","
		                      MSG("assistant", "Hel") ","
		                      MSG("user", "again"))));
	}
}

/* A data line that starts like JSON but is not: OA_ERR_STREAM. */
static void
test_malformed_json(void)
{
	oa_options o;
	oa_client c;
	char log[1024];

	CHECK(start("[{'events':[" TEXT("Hel") ",'data: {\\'choices\\':[{"
	            "\\n\\n'," DONE "]}," OK "]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_STREAM);
	CHECK_STR(log, "[text:Hel]");
	CHECK(oa_errmsg(&c)[0] != '\0');
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
}

/* A 200 application/json answer to the streaming request: a whole
 * completion, or an error object. */
static void
test_whole_json(void)
{
	oa_options o;
	oa_client c;
	char log[1024];

	CHECK(start("[{'json':{'id':'chatcmpl-1','object':'chat.completion',"
	            "'choices':[{'index':0,'message':{'role':'assistant',"
	            "'content':'Hi there','reasoning_content':'Think'},"
	            "'finish_reason':'length'}]," USAGE(4, 2, 6) "}},"
	            "{'json':{'error':{'message':'boom','code':500}}},"
	            OK "]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[think:Think][text:Hi there][end:length 4/2/6]");
	CHECK_INT(turn(&c, "again", log, sizeof log), OA_ERR_SERVER);
	CHECK_STR(log, "");
	CHECK_HAS(oa_errmsg(&c), "boom");
	CHECK_INT(turn(&c, "more", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK(body_is(2, BODY(MSG("user", "hi") ","
	                      MSG("assistant", "Hi there") ","
	                      MSG("user", "more"))));
}

/* A server that rejects stream_options: the request is sent again once
 * without it, and the client never sends it again. */
static void
test_stream_options_retry(void)
{
	oa_options o;
	oa_client c;
	char log[1024];

	CHECK(start("[{'status':400,'json':{'error':{'message':'Unrecognized "
	            "request argument supplied: stream_options','type':"
	            "'invalid_request_error'}}},{'reply':'Hello'},"
	            "{'reply':'Fine'}]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:Hello][end:stop]");
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:Fine][end:stop]");
	oa_free(&c);
	CHECK_INT(request_count(), 3);
	CHECK(body_is(0, BODY(MSG("user", "hi"))));
	CHECK(body_is(1, "{'model':'test','messages':[" MSG("user", "hi")
	              "],'stream':true,'max_tokens':4096,'temperature':0.7}"));
	CHECK(body_is(2, "{'model':'test','messages':[" MSG("user", "hi") ","
	              MSG("assistant", "Hello") "," MSG("user", "again")
	              "],'stream':true,'max_tokens':4096,'temperature':0.7}"));
}

/* Connection refused, then the server comes up on that port. */
static void
test_connect_refused(void)
{
	oa_options o;
	oa_client c;
	char log[1024], url[64];
	int port = free_port();

	CHECK(port > 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", port);
	options(&o);
	o.base_url = url;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_CONNECT);
	CHECK_STR(log, "");
	CHECK(oa_errmsg(&c)[0] != '\0');
	CHECK(start_on("[" OK "]", port) == 0);
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK(body_is(0, BODY(MSG("user", "again"))));
}

/* The peer resets the connection mid-stream: OA_ERR_TRUNCATED; the partial text
 * stays in history. */
static void
test_reset(void)
{
	oa_options o;
	oa_client c;
	char log[1024];

	CHECK(start("[{'events':[" ROLE "," TEXT("Hel") "," TEXT("lo") ","
	            TEXT(" there") "," DONE "],'reset_after_events':3},"
	            OK "]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_TRUNCATED);
	CHECK_STR(log, "[text:Hel][text:lo]");
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK(body_is(1, BODY(MSG("user", "hi") "," MSG("assistant", "Hello")
	                      "," MSG("user", "again"))));
}

/* The body ends early: a chunked body without its last chunk, a length
 * body short of its length, a close-delimited body without [DONE] or a
 * finish_reason. */
static void
test_truncated(void)
{
	static const char *const framing[] = {"chunked", "length", "close"};
	char scen[1024], log[1024];
	oa_options o;
	oa_client c;
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(scen, sizeof scen, "[{'framing':'%s','events':["
		         ROLE "," TEXT("Hel") "," TEXT("lo") "," FINISH("stop")
		         "," DONE "],'close_after_events':3}," OK "]",
		         framing[i]);
		CHECK(start(scen) == 0);
		options(&o);
		CHECK_INT(oa_init(&c, &o), 0);
		CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_TRUNCATED);
		CHECK_STR(log, "[text:Hel][text:lo]");
		CHECK_INT(turn(&c, "again", log, sizeof log), 0);
		CHECK_STR(log, "[text:ok][end:stop]");
		oa_free(&c);
		CHECK(body_is(1, BODY(MSG("user", "hi") ","
		                      MSG("assistant", "Hello") ","
		                      MSG("user", "again"))));
	}
}

/* The server stops sending: OA_ERR_READ_TIMEOUT, before the head and
 * mid-body. The elapsed-time bound is generous: it only proves the
 * timeout fired rather than the read hanging. */
static void
test_read_timeout(void)
{
	oa_options o;
	oa_client c;
	char log[1024];
	int64_t t0;

	CHECK(start("[{'stall_before_headers':true},"
	            "{'events':[" ROLE "," TEXT("Hel") "," DONE "],"
	            "'stall_after_events':2}," OK "]") == 0);
	options(&o);
	o.read_timeout_ms = 300;
	CHECK_INT(oa_init(&c, &o), 0);
	t0 = now_ms();
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_READ_TIMEOUT);
	CHECK(now_ms() - t0 < 10000);
	CHECK_STR(log, "");
	t0 = now_ms();
	CHECK_INT(turn(&c, "again", log, sizeof log), OA_ERR_READ_TIMEOUT);
	CHECK(now_ms() - t0 < 10000);
	CHECK_STR(log, "[text:Hel]");
	CHECK_INT(turn(&c, "more", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK(body_is(2, BODY(MSG("user", "again") ","
	                      MSG("assistant", "Hel") ","
	                      MSG("user", "more"))));
}

/* A block is handed out as soon as its event is complete: the first
 * delta arrives long before the server's 3 s pause ends. */
static void
test_incremental(void)
{
	oa_options o;
	oa_client c;
	oa_block b;
	int64_t t0;

	CHECK(start("[{'events':[" ROLE "," TEXT("first") ",{'send':"
	            TEXT("second") ",'delay_ms':3000}," FINISH("stop") ","
	            DONE "]}]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	t0 = now_ms();
	CHECK_INT(oa_query(&c, "hi"), 0);
	CHECK_INT(oa_next(&c, &b), OA_BLOCK_TEXT);
	CHECK(now_ms() - t0 < 2000);
	CHECK_STR(b.text, "first");
	CHECK_INT(oa_next(&c, &b), OA_BLOCK_TEXT);
	CHECK_STR(b.text, "second");
	CHECK_INT(oa_next(&c, &b), OA_BLOCK_TURN_END);
	CHECK_STR(b.finish_reason, "stop");
	CHECK_INT(oa_next(&c, &b), 0);
	oa_free(&c);
}

/* A counting allocator. */
struct counts {
	long calls, live;
};

static void *
count_malloc(void *ctx, size_t n)
{
	struct counts *k = ctx;
	void *p = malloc(n);

	k->calls++;
	k->live += p != NULL;
	return p;
}

static void *
count_realloc(void *ctx, void *p, size_t n)
{
	struct counts *k = ctx;
	void *q = realloc(p, n);

	k->calls++;
	k->live += p == NULL && q != NULL;
	return q;
}

static void
count_free(void *ctx, void *p)
{
	struct counts *k = ctx;

	if (p != NULL)
		k->live--;
	free(p);
}

/* One fresh client streams chunks text chunks through the allocator;
 * returns the allocator calls, or -1. */
static long
count_turn(int chunks, oa_options *o)
{
	struct counts k = {0, 0};
	oa_client c;
	int r;

	o->allocator.malloc = count_malloc;
	o->allocator.realloc = count_realloc;
	o->allocator.free = count_free;
	o->allocator.ctx = &k;
	if (oa_init(&c, o) != 0)
		return -1;
	r = turn(&c, "hi", NULL, 0);
	oa_free(&c);
	if (r != 0 || text_blocks != (size_t)chunks ||
	    text_bytes != 5 + 3 * (size_t)(chunks - 1) || k.live != 0) {
		fprintf(stderr, "chunks %d: r %d, %zu blocks, %zu bytes, "
		        "%ld live\n", chunks, r, text_blocks, text_bytes,
		        k.live);
		return -1;
	}
	return k.calls;
}

/* Streaming allocates nothing per chunk: 10 chunks and 10,000 chunks cost
 * about the same number of allocator calls (buffers grow by doubling). */
static void
test_no_alloc_per_chunk(void)
{
	oa_options o;
	long few, many;

	CHECK(start("[{'events':[" ROLE "," TEXT("Hello") ",{'send':"
	            TEXT(" ab") ",'repeat':9}," FINISH("stop") "," DONE "]},"
	            "{'events':[" ROLE "," TEXT("Hello") ",{'send':"
	            TEXT(" ab") ",'repeat':9999}," FINISH("stop") "," DONE
	            "]}]") == 0);
	options(&o);
	few = count_turn(10, &o);
	many = count_turn(10000, &o);
	CHECK(few > 0);
	CHECK(many > 0);
	if (many - few >= 40)
		fprintf(stderr, "allocator calls: %ld for 10 chunks, %ld for "
		        "10000\n", few, many);
	CHECK(many - few < 40);
}

/* An allocator that knows how many bytes are live, and the most there
 * were: each block carries its size in front of it. */
struct bytes {
	size_t live, peak;
};

#define HDR 16

static void *
bytes_realloc(void *ctx, void *p, size_t n)
{
	struct bytes *k = ctx;
	size_t old = 0;
	char *q;

	if (p != NULL)
		memcpy(&old, (char *)p - HDR, sizeof old);
	q = realloc(p ? (char *)p - HDR : NULL, n + HDR);
	if (q == NULL)
		return NULL;
	memcpy(q, &n, sizeof n);
	k->live = k->live - old + n;
	if (k->live > k->peak)
		k->peak = k->live;
	return q + HDR;
}

static void *
bytes_malloc(void *ctx, size_t n)
{
	return bytes_realloc(ctx, NULL, n);
}

static void
bytes_free(void *ctx, void *p)
{
	struct bytes *k = ctx;
	size_t old;

	if (p == NULL)
		return;
	memcpy(&old, (char *)p - HDR, sizeof old);
	k->live -= old;
	free((char *)p - HDR);
}

/* The most bytes live at once while a fresh client streams one reply of
 * chunks text chunks of 100 bytes and keeps it in history; 0 on error. */
static size_t
peak_turn(int chunks, oa_options *o)
{
	struct bytes k = {0, 0};
	oa_client c;
	int r;

	o->allocator.malloc = bytes_malloc;
	o->allocator.realloc = bytes_realloc;
	o->allocator.free = bytes_free;
	o->allocator.ctx = &k;
	if (oa_init(&c, o) != 0)
		return 0;
	r = turn(&c, "hi", NULL, 0);
	oa_free(&c);
	if (r != 0 || text_bytes != 100 * (size_t)chunks || k.live != 0)
		return 0;
	return k.peak;
}

/* oa_ready(): 1 while oa_next() has a block without waiting (two blocks
 * from one event; the end of the turn), 0 when it would send or wait for
 * the server; and it never waits itself. */
static void
test_ready(void)
{
	oa_options o;
	oa_client c;
	oa_block b;

	CHECK(start("[{'events':[" ROLE ","
	            CHUNK("{'reasoning_content':'hm','content':'Hi'}", "null")
	            "," FINISH("stop") "," DONE "],'stall_after_events':2},"
	            "{'events':[" ROLE "," TEXT("a") "," TEXT("b") ","
	            FINISH("stop") "," DONE "]}]") == 0);
	options(&o);
	o.read_timeout_ms = 300;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(oa_ready(&c), 1); /* oa_next() refuses at once */
	CHECK_INT(oa_query(&c, "hi"), 0);
	CHECK_INT(oa_ready(&c), 0); /* the request is still to be sent */
	CHECK_INT(oa_next(&c, &b), OA_BLOCK_THINKING);
	CHECK_INT(oa_ready(&c), 1); /* the text of the same event */
	CHECK_INT(oa_next(&c, &b), OA_BLOCK_TEXT);
	CHECK_STR(b.text, "Hi");
	/* the server stalls: nothing more has come. Had oa_ready() read,
	 * it would have met the read timeout and said 1 (an error ready). */
	CHECK_INT(oa_ready(&c), 0);
	CHECK_INT(oa_next(&c, &b), OA_ERR_READ_TIMEOUT);
	CHECK_INT(oa_ready(&c), 1); /* the error, again, at once */
	/* a whole reply: at its end oa_next() returns 0 at once */
	CHECK_INT(oa_query(&c, "again"), 0);
	while (oa_next(&c, &b) > 0)
		;
	CHECK_INT(oa_ready(&c), 1);
	CHECK_INT(oa_next(&c, &b), 0);
	oa_free(&c);
}

/* The reply is kept in history without a copy: the buffer it grew in
 * becomes the message. A reply of N bytes (here 1,000,000, just under a
 * power of two, so doubling leaves little unused) costs little more than
 * N at the peak; a copy into the history would cost 2N. */
static void
test_reply_not_copied(void)
{
	char scen[2048];
	oa_options o;
	size_t small, large, n = 1000000;

	snprintf(scen, sizeof scen, "[{'events':[" ROLE ",{'send':"
	         TEXT("%0100d") ",'repeat':10}," FINISH("stop") "," DONE "]},"
	         "{'events':[" ROLE ",{'send':" TEXT("%0100d") ",'repeat':"
	         "10000}," FINISH("stop") "," DONE "]}]", 0, 0);
	CHECK(start(scen) == 0);
	options(&o);
	small = peak_turn(10, &o);
	large = peak_turn(10000, &o);
	CHECK(small > 0);
	CHECK(large > small);
	if (large - small > n + n / 4)
		fprintf(stderr, "peak bytes: %zu for 1,000 bytes, %zu for "
		        "%zu\n", small, large, n);
	CHECK(large - small <= n + n / 4);
}

/* Limits: one event larger than max_event_bytes; a reply larger than
 * max_response_bytes (exactly at the limit passes). */
static void
test_limits(void)
{
	char scen[8192], big[2001], log[2048];
	oa_options o;
	oa_client c;
	int i;

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	snprintf(scen, sizeof scen, "[{'events':[" TEXT("Hel") ","
	         TEXT("%s") "," DONE "]}," OK "]", big);
	CHECK(start(scen) == 0);
	options(&o);
	o.max_event_bytes = 1024;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_LIMIT);
	CHECK_STR(log, "[text:Hel]");
	CHECK(oa_errmsg(&c)[0] != '\0');
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);

	/* 10 deltas of 10 bytes fit in 100; the 11th does not */
	strcpy(scen, "[{'events':[");
	for (i = 0; i < 10; i++)
		strcat(scen, TEXT("0123456789") ",");
	strcat(scen, FINISH("stop") "," DONE "]},{'events':[");
	for (i = 0; i < 11; i++)
		strcat(scen, TEXT("0123456789") ",");
	strcat(scen, FINISH("stop") "," DONE "]}," OK "]");
	CHECK(start(scen) == 0);
	options(&o);
	o.max_response_bytes = 100;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", NULL, 0), 0);
	CHECK_INT(text_blocks, 10);
	CHECK_INT(turn(&c, "again", NULL, 0), OA_ERR_LIMIT);
	CHECK_INT(text_blocks, 10);
	CHECK(oa_errmsg(&c)[0] != '\0');
	CHECK_INT(turn(&c, "more", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
}

/* Authorization: Bearer only when a key is set. */
static void
test_api_key(void)
{
	oa_options o;
	oa_client c;
	char log[256];

	CHECK(start("[" OK "]") == 0);
	options(&o);
	o.api_key = "sk-test-123";
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	oa_free(&c);
	o.api_key = "";
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	oa_free(&c);
	o.api_key = NULL;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	oa_free(&c);
	CHECK_HAS(request(0), "\"authorization\":\"Bearer sk-test-123\"");
	CHECK(strstr(request(1), "\"authorization\"") == NULL);
	CHECK(strstr(request(2), "\"authorization\"") == NULL);
}

static void *
interrupter(void *arg)
{
	struct timespec ts = {0, 300 * 1000000L};

	nanosleep(&ts, NULL);
	oa_interrupt(arg);
	return NULL;
}

/* oa_interrupt() from another thread ends a read that would otherwise
 * wait for the whole 20 s read timeout. */
static void
test_interrupt(void)
{
	oa_options o;
	oa_client c;
	char log[1024];
	pthread_t th;
	int64_t t0, took;
	int r;

	CHECK(start("[{'events':[" ROLE "," TEXT("Hel") "," DONE "],"
	            "'stall_after_events':2}," OK "]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	t0 = now_ms();
	CHECK_INT(pthread_create(&th, NULL, interrupter, &c), 0);
	r = turn(&c, "hi", log, sizeof log);
	took = now_ms() - t0;
	pthread_join(th, NULL);
	CHECK_INT(r, OA_ERR_INTERRUPTED);
	CHECK(took < 10000);
	CHECK_STR(log, "[text:Hel]");
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	CHECK_STR(log, "[text:ok][end:stop]");
	oa_free(&c);
	CHECK(body_is(1, BODY(MSG("user", "hi") "," MSG("assistant", "Hel")
	                      "," MSG("user", "again"))));
}

/* oa_ask joins the text blocks; errors come back from it. */
static void
test_ask(void)
{
	oa_options o;
	oa_client c;
	const char *text = NULL;
	size_t len = 0;

	CHECK(start("[{'events':[" ROLE ","
	            CHUNK("{'reasoning_content':'hmm'}", "null") ","
	            TEXT("Hello") "," TEXT(" world") "," FINISH("stop") ","
	            DONE "]},{'status':404,'json':{'error':'no such model'}},"
	            "{'reply':['A','B']}]") == 0);
	options(&o);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(oa_ask(&c, "hi", &text, &len), 0);
	CHECK_STR(text, "Hello world");
	CHECK_INT(len, 11);
	CHECK_INT(oa_ask(&c, "again", &text, &len), OA_ERR_HTTP);
	CHECK_HAS(oa_errmsg(&c), "no such model");
	CHECK_INT(oa_ask(&c, "more", &text, NULL), 0);
	CHECK_STR(text, "AB");
	oa_free(&c);
}


/* Sampling and server-specific fields: each sent exactly when set. */
static void
test_request_fields(void)
{
	static const char *const stop[] = {"END", "\n\n"};
	static const oa_tool tool = {"calc", "", "a:number", NULL, NULL};
	oa_options o;
	oa_client c;
	char log[256];

	CHECK(start("[" OK "]") == 0);
	options(&o);
	o.top_p = 0.9;
	o.seed = 42;
	o.stop = stop;
	o.nstop = 2;
	o.presence_penalty = 0.5;
	o.frequency_penalty = -0.25;
	o.parallel_tool_calls = -1;
	o.tool_choice = "required";
	CHECK_INIT_MODULE(&c, &o, NO_FIELDS, "fields.c");
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	oa_free(&c);
	CHECK(body_is(0, "{'model':'test','messages':[" MSG("user", "hi")
	              "],'stream':true,'stream_options':{'include_usage':"
	              "true},'max_tokens':4096,'temperature':0.7,"
	              "'top_p':0.9,'seed':42,'stop':['END','\\n\\n'],"
	              "'presence_penalty':0.5,'frequency_penalty':-0.25,"
	              "'tool_choice':'required','parallel_tool_calls':false}"));

	/* a tool's name forces that tool */
	options(&o);
	o.tools = &tool;
	o.ntools = 1;
	o.tool_choice = "calc";
	o.parallel_tool_calls = 1;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	oa_free(&c);
	CHECK(body_is(1, "{'model':'test','messages':[" MSG("user", "hi")
	              "],'tools':[{'type':'function','function':{'name':"
	              "'calc','description':'','parameters':{'type':'object',"
	              "'properties':{'a':{'type':'number'}},'required':['a']}"
	              "}}],'stream':true,'stream_options':{'include_usage':"
	              "true},'max_tokens':4096,'temperature':0.7,"
	              "'tool_choice':{'type':'function','function':{'name':"
	              "'calc'}},'parallel_tool_calls':true}"));

	/* a seed of 0 goes out only with send_seed */
	options(&o);
	o.send_seed = 1;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	oa_free(&c);
	CHECK(body_is(2, "{'model':'test','messages':[" MSG("user", "hi")
	              "],'stream':true,'stream_options':{'include_usage':"
	              "true},'max_tokens':4096,'temperature':0.7,"
	              "'seed':0}"));
}

/* extra: merged at the top level; its members replace ours. */
static void
test_extra(void)
{
	oa_options o;
	oa_client c;
	char log[256];

	CHECK(start("[" OK "]") == 0);
	options(&o);
	o.top_p = 0.5;
	o.extra = " { \"top_k\": 40, \"options\": {\"num_ctx\": 8192},"
	          "\"temperature\":0.1, \"top_p\" :1 } ";
	CHECK_INIT_MODULE(&c, &o, NO_FIELDS, "fields.c");
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_INT(turn(&c, "again", log, sizeof log), 0);
	oa_free(&c);
	CHECK(body_is(1, "{'model':'test','messages':[" MSG("user", "hi") ","
	              MSG("assistant", "ok") "," MSG("user", "again")
	              "],'stream':true,'stream_options':{'include_usage':"
	              "true},'max_tokens':4096,\"top_k\": 40, \"options\": "
	              "{\"num_ctx\": 8192},\"temperature\":0.1, \"top_p\" :1}"));

	/* an empty object adds nothing */
	options(&o);
	o.extra = "{}";
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	oa_free(&c);
	CHECK(body_is(2, BODY(MSG("user", "hi"))));
}

static void
test_extra_errors(void)
{
	oa_options o;
	oa_client c;

	memset(&o, 0, sizeof o);
	o.base_url = "http://127.0.0.1:9/v1";
	o.extra = "[1,2]";
	if (NO_FIELDS) {
		CHECK_INT(oa_init(&c, &o), OA_ERR_INVALID);
		CHECK_HAS(oa_errmsg(&c), "fields.c");
		oa_free(&c);
		return;
	}
	CHECK_INT(oa_init(&c, &o), OA_ERR_INVALID);
	CHECK_STR(oa_errmsg(&c), "extra is not a JSON object");
	CHECK_INT(oa_query(&c, "hi"), OA_ERR_STATE);
	oa_free(&c);
	o.extra = "{\"top_k\":";
	CHECK_INT(oa_init(&c, &o), OA_ERR_INVALID);
	CHECK_STR(oa_errmsg(&c), "extra is not a JSON object");
	oa_free(&c);
	o.extra = "{\"top_k\":1,\"stream\":false}";
	CHECK_INT(oa_init(&c, &o), OA_ERR_INVALID);
	CHECK_STR(oa_errmsg(&c),
	          "extra may not set \"stream\": the library manages it");
	oa_free(&c);
	o.extra = "{\"messages\":[]}";
	CHECK_INT(oa_init(&c, &o), OA_ERR_INVALID);
	CHECK_HAS(oa_errmsg(&c), "\"messages\"");
	oa_free(&c);
	o.extra = NULL;
	o.tool_choice = "calc";
	CHECK_INT(oa_init(&c, &o), OA_ERR_INVALID);
	CHECK_HAS(oa_errmsg(&c), "tool_choice \"calc\"");
	oa_free(&c);
}


/* Structured output: json_object, or a schema sent as json_schema. */
static void
test_response_format(void)
{
	oa_options o;
	oa_client c;
	char log[256];

	CHECK(start("[" OK "]") == 0);
	options(&o);
	o.response_format = "json_object";
	CHECK_INIT_MODULE(&c, &o, NO_FIELDS, "fields.c");
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	oa_free(&c);
	CHECK(body_is(0, "{'model':'test','messages':[" MSG("user", "hi")
	              "],'stream':true,'stream_options':{'include_usage':"
	              "true},'max_tokens':4096,'temperature':0.7,"
	              "'response_format':{'type':'json_object'}}"));
	options(&o);
	o.response_format = " {\"type\":\"object\",\"properties\":{}}\n";
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	oa_free(&c);
	CHECK(body_is(1, "{'model':'test','messages':[" MSG("user", "hi")
	              "],'stream':true,'stream_options':{'include_usage':"
	              "true},'max_tokens':4096,'temperature':0.7,"
	              "'response_format':{'type':'json_schema','json_schema':"
	              "{'name':'response','schema':{'type':'object',"
	              "'properties':{}}}}}"));
	options(&o);
	o.response_format = "json";
	CHECK_INT(oa_init(&c, &o), OA_ERR_INVALID);
	CHECK_HAS(oa_errmsg(&c), "response_format");
	oa_free(&c);
}


/* Every block of the current turn into log; 1 when it ended cleanly. */
static int
drain_ok(oa_client *c, char *log, size_t cap)
{
	oa_block b;
	int r;

	log[0] = '\0';
	while ((r = oa_next(c, &b)) > 0)
		render(log, cap, &b);
	return r == 0;
}

/* Images: a file goes out as a base64 data: URL with its type, a URL as
 * it is; a bad file is OA_ERR_FILE and leaves the history as it was. */
static void
test_images(void)
{
	static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n',
	                                    0x1a, '\n', 0, 0, 0, 13, 'I'};
	const char *imgs[2];
	char path[128], bad[128], log[256];
	oa_options o;
	oa_client c;
	FILE *f;

	snprintf(path, sizeof path, "%s/pic.png", tmpdir);
	snprintf(bad, sizeof bad, "%s/notes.txt", tmpdir);
	f = fopen(path, "wb");
	CHECK(f != NULL);
	fwrite(png, 1, sizeof png, f);
	fclose(f);
	f = fopen(bad, "wb");
	CHECK(f != NULL);
	fputs("just text, not an image", f);
	fclose(f);

	CHECK(start("[" OK "]") == 0);
	options(&o);
	o.max_image_bytes = 64;
	CHECK_INT(oa_init(&c, &o), 0);
	imgs[0] = path;
	imgs[1] = "https://example.invalid/cat.jpg";
	CHECK_INT(oa_query_images(&c, "What is this?", imgs, 2), 0);
	CHECK(drain_ok(&c, log, sizeof log));
	CHECK_STR(log, "[text:ok][end:stop]");
	{
		/* the parts survive a save and a load */
		char saved[160];
		oa_client d;
		oa_message m;
		snprintf(saved, sizeof saved, "%s/history.json", tmpdir);
		CHECK_INT(oa_history_save(&c, saved), 0);
		CHECK_INT(oa_init(&d, &o), 0);
		CHECK_INT(oa_history_load(&d, saved), 0);
		CHECK_INT(oa_history_get(&d, 0, &m), 0);
		CHECK_STR(m.content, "What is this?");
		CHECK_HAS(m.parts, "data:image/png;base64,iVBORw0KGgoAAAANSQ==");
		oa_free(&d);
		unlink(saved);
	}

	imgs[0] = bad;
	CHECK_INT(oa_query_images(&c, "and this?", imgs, 1), OA_ERR_FILE);
	CHECK_HAS(oa_errmsg(&c), "not a PNG, JPEG, GIF or WebP image");
	imgs[0] = "/nonexistent/x.png";
	CHECK_INT(oa_query_images(&c, "and this?", imgs, 1), OA_ERR_FILE);
	CHECK_HAS(oa_errmsg(&c), "No such file");
	o.max_image_bytes = 8;
	oa_free(&c);

	options(&o);
	o.max_image_bytes = 8;
	CHECK_INT(oa_init(&c, &o), 0);
	imgs[0] = path;
	CHECK_INT(oa_query_images(&c, "big", imgs, 1), OA_ERR_FILE);
	CHECK_HAS(oa_errmsg(&c), "13 bytes, more than max_image_bytes (8)");
	CHECK_INT(oa_history_count(&c), 0);
	CHECK_INT(turn(&c, "plain", log, sizeof log), 0);
	oa_free(&c);

	CHECK(body_is(0, "{'model':'test','messages':[{'role':'user',"
	              "'content':[{'type':'text','text':'What is this?'},"
	              "{'type':'image_url','image_url':{'url':"
	              "'data:image/png;base64,iVBORw0KGgoAAAANSQ=='}},"
	              "{'type':'image_url','image_url':{'url':"
	              "'https://example.invalid/cat.jpg'}}]}],'stream':true,"
	              "'stream_options':{'include_usage':true},"
	              "'max_tokens':4096,'temperature':0.7}"));
	CHECK(body_is(1, BODY(MSG("user", "plain"))));
	unlink(path);
	unlink(bad);
}


/* stateless: each query stands alone, nothing is kept, and without tools
 * a long reply costs no more memory than a short one. */
static void
test_stateless(void)
{
	oa_options o;
	oa_client c;
	char log[256];
	long few, many;

	CHECK(start("[{'events':[" ROLE "," TEXT("Hello") ",{'send':"
	            TEXT(" ab") ",'repeat':9}," FINISH("stop") "," DONE "]},"
	            "{'events':[" ROLE "," TEXT("Hello") ",{'send':"
	            TEXT(" ab") ",'repeat':9999}," FINISH("stop") "," DONE
	            "]}," OK "]") == 0);
	options(&o);
	o.stateless = 1;
	few = count_turn(10, &o);
	many = count_turn(10000, &o);
	CHECK(few > 0);
	if (many != few)
		fprintf(stderr, "allocator calls: %ld for 10 chunks, %ld for "
		        "10000\n", few, many);
	CHECK(many == few);

	/* count_turn's allocator counted into its own frame: drop it */
	memset(&o.allocator, 0, sizeof o.allocator);
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(turn(&c, "first", log, sizeof log), 0);
	CHECK_INT(oa_history_count(&c), 0);
	CHECK_INT(turn(&c, "second", log, sizeof log), 0);
	oa_free(&c);
	CHECK(body_is(3, BODY(MSG("user", "second"))));
}

static const struct test tests[] = {
	{"llama_stream", test_llama_stream},
	{"multi_turn", test_multi_turn},
	{"request_options", test_request_options},
	{"usage_chunk", test_usage_chunk},
	{"thinking", test_thinking},
	{"no_done", test_no_done},
	{"done_ends_turn", test_done_ends_turn},
	{"crlf", test_crlf},
	{"tgi_and_comments", test_tgi_and_comments},
	{"utf8", test_utf8},
	{"content_shapes", test_content_shapes},
	{"cumulative", test_cumulative},
	{"http_errors", test_http_errors},
	{"stream_errors", test_stream_errors},
	{"malformed_json", test_malformed_json},
	{"whole_json", test_whole_json},
	{"stream_options_retry", test_stream_options_retry},
	{"connect_refused", test_connect_refused},
	{"reset", test_reset},
	{"truncated", test_truncated},
	{"read_timeout", test_read_timeout},
	{"incremental", test_incremental},
	{"no_alloc_per_chunk", test_no_alloc_per_chunk},
	{"reply_not_copied", test_reply_not_copied},
	{"ready", test_ready},
	{"limits", test_limits},
	{"api_key", test_api_key},
	{"interrupt", test_interrupt},
	{"ask", test_ask},
	{"request_fields", test_request_fields},
	{"extra", test_extra},
	{"extra_errors", test_extra_errors},
	{"response_format", test_response_format},
	{"images", test_images},
	{"stateless", test_stateless},
	{NULL, NULL}
};

int
main(int argc, char **argv)
{
	return harness_main("test_client", argc, argv, tests);
}
