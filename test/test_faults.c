/*
 * test_faults.c -- the fault matrix: the whole client against a server
 * that misbehaves in one way per test, public API only.
 *
 * Each test starts test/server.py (OA_TEST_SERVER) on 127.0.0.1 with a
 * scenario whose first response carries the fault and whose second is a
 * normal reply. Every case asserts four things: the exact oa_err, a
 * message a person can act on (its words, not just "an error"), that the
 * counting allocator is back to zero once the client is freed, and that
 * the same client then completes a normal turn. A few faults are not
 * errors at all (a slow drip, HTTP/1.0, both framings): there the first
 * turn must succeed.
 *
 * Scenarios are written with ' for " (harness.h swaps them back), as in
 * test_client.c; the format is documented in server.py.
 */
/* A chunk with only what the client reads: the limit tests count how
 * many of them fit. */
#define CHUNK(delta, finish)                                                 \
	"{'choices':[{'finish_reason':" finish ",'index':0,'delta':" delta  \
	"}],'object':'chat.completion.chunk'}"
#include "harness.h"

/* ------------------------------------------------------- the client side */

/* Counts live blocks and bytes, and the most bytes ever live at once. */
static struct {
	long blocks;
	size_t bytes, peak;
} heap;

#define HDR 16

static void *
t_malloc(void *ctx, size_t n)
{
	char *p = malloc(n + HDR);

	(void)ctx;
	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof n);
	heap.blocks++;
	heap.bytes += n;
	if (heap.bytes > heap.peak)
		heap.peak = heap.bytes;
	return p + HDR;
}

static void
t_free(void *ctx, void *q)
{
	char *p = (char *)q - HDR;
	size_t n;

	(void)ctx;
	if (q == NULL)
		return;
	memcpy(&n, p, sizeof n);
	heap.blocks--;
	heap.bytes -= n;
	free(p);
}

static void *
t_realloc(void *ctx, void *q, size_t n)
{
	char *p;
	size_t old;

	if (q == NULL)
		return t_malloc(ctx, n);
	memcpy(&old, (char *)q - HDR, sizeof old);
	if ((p = realloc((char *)q - HDR, n + HDR)) == NULL)
		return NULL;
	memcpy(p, &n, sizeof n);
	heap.bytes = heap.bytes - old + n;
	if (heap.bytes > heap.peak)
		heap.peak = heap.bytes;
	return p + HDR;
}

static int
calc(void *ctx, oa_args *args, oa_result *out)
{
	double a = 0;

	(void)ctx;
	oa_args_number(args, "a", &a);
	return oa_result_printf(out, "%g", a * 2);
}

static const oa_tool tool = { "calc", "doubles a", SCHEMA_A, calc, NULL };

/* The harness's options, fast to fail, with the counting heap; the
 * tests call it by the harness's name. */
static void
fault_options(oa_options *o)
{
	options(o);
	o->read_timeout_ms = 10000;
	o->max_retries = OA_OMIT;
	o->allocator.malloc = t_malloc;
	o->allocator.realloc = t_realloc;
	o->allocator.free = t_free;
	o->tools = &tool;
	o->ntools = 1;
	o->auto_execute_tools = 1;
}
#define options fault_options

/* One turn, every block rendered into log. Returns the last oa_next()
 * result; an error that does not stick is logged as such. */
static int
turn(oa_client *cl, const char *prompt, char *log, size_t cap)
{
	oa_block b;
	size_t n;
	int r;

	log[0] = '\0';
	if ((r = oa_query(cl, prompt)) != 0)
		return r;
	while ((r = oa_next(cl, &b)) > 0) {
		n = strlen(log);
		if (b.type == OA_BLOCK_TEXT)
			snprintf(log + n, cap - n, "[text:%s]", b.text);
		else if (b.type == OA_BLOCK_TOOL_USE)
			snprintf(log + n, cap - n, "[use:%s %s]", b.name,
			         b.input);
		else if (b.type == OA_BLOCK_TOOL_RESULT)
			snprintf(log + n, cap - n, "[result:%s]", b.text);
		else if (b.type == OA_BLOCK_TURN_END)
			snprintf(log + n, cap - n, "[end:%s]",
			         b.finish_reason);
		else
			snprintf(log + n, cap - n, "[type %d]", (int)b.type);
	}
	if (r < 0 && oa_next(cl, &b) != r)
		strncat(log, "[error did not stick]", cap - strlen(log) - 1);
	return r;
}

/* The client of the running test. A failed check returns at once, so
 * the next test (or main) frees what a failed one left. */
static oa_client c;
static int c_live;

static int
init_client(const oa_options *o)
{
	if (c_live)
		oa_free(&c);
	memset(&heap, 0, sizeof heap);
	c_live = 1;
	return oa_init(&c, o);
}

/* The second half of every case: the same client completes a normal
 * turn, and once freed has nothing left allocated. */
#define RECOVERS(c)                                                          \
	do {                                                                 \
		char log_[256];                                              \
		CHECK_INT(turn(c, "again", log_, sizeof log_), 0);           \
		CHECK_STR(log_, "[text:ok][end:stop]");                      \
		oa_free(c);                                                  \
		c_live = 0;                                                  \
		CHECK_INT(heap.blocks, 0);                                   \
		CHECK_INT(heap.bytes, 0);                                    \
	} while (0)

/* ------------------------------------------------------ scenario building */

#define CALL(index, id, args)                                                \
	CHUNK("{'tool_calls':[{'index':" index ",'id':'" id "','type':"     \
	      "'function','function':{'name':'calc','arguments':'" args     \
	      "'}}]}", "null")
#define SSE_HEAD "HTTP/1.1 200 OK\\r\\nContent-Type: text/event-stream\\r\\n"
#define CHUNKED "Transfer-Encoding: chunked\\r\\n"

/* ------------------------------------------------------------------ tests */

/* Nothing listens: refused at once, and the client connects once a
 * server is there. */
static void
refused(void)
{
	oa_options o;
	char log[256];
	int port = free_port();

	snprintf(srv.url, sizeof srv.url, "http://127.0.0.1:%d/v1", port);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_CONNECT);
	CHECK_HAS(oa_errmsg(&c), "refused");
	CHECK_READS_ONCE(OA_ERR_CONNECT, &c);
	CHECK_INT(oa_history_count(&c), 0);
	CHECK(start_on("[" OK "]", port) == 0);
	RECOVERS(&c);
}

static void
reset_before_headers(void)
{
	oa_options o;
	char log[256];

	CHECK(start("[{'reset_before_headers':true}," OK "]") == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_IO);
	CHECK_HAS(oa_errmsg(&c), "reset");
	CHECK_INT(oa_history_count(&c), 0);
	RECOVERS(&c);
}

/* The connection dropped inside the body: the reply is cut short, which
 * is OA_ERR_TRUNCATED by openagent.h; the text so far stays. */
static void
reset_mid_stream(void)
{
	oa_options o;
	char log[256];
	oa_message m;

	CHECK(start("[{'reset_after_events':2,'events':[" ROLE "," TEXT("Hel")
	            "," TEXT("lo") "," FINISH("stop") "," DONE "]}," OK "]")
	      == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_TRUNCATED);
	CHECK_STR(log, "[text:Hel]");
	CHECK_HAS(oa_errmsg(&c), "reset");
	CHECK_INT(oa_history_count(&c), 2);
	CHECK_INT(oa_history_get(&c, 1, &m), 0);
	CHECK_STR(m.content, "Hel");
	RECOVERS(&c);
}

static void
stall_before_headers(void)
{
	oa_options o;
	char log[256];

	CHECK(start("[{'stall_before_headers':true}," OK "]") == 0);
	options(&o);
	o.read_timeout_ms = 300;
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_READ_TIMEOUT);
	CHECK_STR(oa_errmsg(&c), "no data from the server for 300 ms");
	RECOVERS(&c);
	CHECK_READS_ONCE(OA_ERR_READ_TIMEOUT, &c);
}

static void
stall_mid_stream(void)
{
	oa_options o;
	char log[256];

	CHECK(start("[{'stall_after_events':2,'events':[" ROLE "," TEXT("Hel")
	            "," FINISH("stop") "," DONE "]}," OK "]") == 0);
	options(&o);
	o.read_timeout_ms = 300;
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_READ_TIMEOUT);
	CHECK_STR(log, "[text:Hel]");
	CHECK_STR(oa_errmsg(&c), "no data from the server for 300 ms");
	CHECK_INT(oa_history_count(&c), 2);
	RECOVERS(&c);
}

/* Each pause is under the idle timeout, their sum well over it: the idle
 * timer restarts with every byte, so the turn succeeds. */
static void
slow_drip(void)
{
	oa_options o;
	char log[256];

	CHECK(start("[{'delay_ms':150,'events':[" ROLE "," TEXT("a") ","
	            TEXT("b") "," TEXT("c") "," TEXT("d") "," TEXT("e") ","
	            FINISH("stop") "," DONE "]}," OK "]") == 0);
	options(&o);
	o.read_timeout_ms = 500;
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:a][text:b][text:c][text:d][text:e][end:stop]");
	RECOVERS(&c);
}

static void
headers_over_limit(void)
{
	oa_options o;
	char log[256], *scen = malloc(40000);
	size_t n;

	CHECK(scen != NULL);
	n = (size_t)sprintf(scen, "[{'headers':{'X-Big':'");
	memset(scen + n, 'a', 20000);
	strcpy(scen + n + 20000, "'},'reply':'no'}," OK "]");
	n = (size_t)start(scen);
	free(scen);
	CHECK(n == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_LIMIT);
	CHECK_HAS(oa_errmsg(&c), "max_header_bytes (16384)");
	RECOVERS(&c);
}

static void
line_over_event_limit(void)
{
	oa_options o;
	char log[256], *scen = malloc(20000);
	size_t n;

	CHECK(scen != NULL);
	n = (size_t)sprintf(scen, "[{'events':[" ROLE ",'data: ");
	memset(scen + n, 'a', 10000);
	strcpy(scen + n + 10000, "\\n\\n']}," OK "]");
	n = (size_t)start(scen);
	free(scen);
	CHECK(n == 0);
	options(&o);
	o.max_event_bytes = 4096;
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_LIMIT);
	CHECK_HAS(oa_errmsg(&c), "larger than 4096 bytes (max_event_bytes)");
	RECOVERS(&c);
}

static void
response_over_limit(void)
{
	oa_options o;
	char log[4096];

	CHECK(start("[{'events':[" ROLE ",{'send':" TEXT("0123456789") ","
	            "'repeat':200}," FINISH("stop") "," DONE "]}," OK "]")
	      == 0);
	options(&o);
	o.max_response_bytes = 1000;
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_LIMIT);
	CHECK_INT(strlen(log), 100 * strlen("[text:0123456789]"));
	CHECK_STR(oa_errmsg(&c),
	          "the reply exceeds max_response_bytes (1000 bytes)");
	RECOVERS(&c);
}

static void
bad_chunk_size(void)
{
	oa_options o;
	char log[256];

	CHECK(start("[{'raw':'" SSE_HEAD CHUNKED "\\r\\nzz\\r\\ndata: x\\r\\n'},"
	            OK "]") == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_PROTOCOL);
	CHECK_STR(oa_errmsg(&c), "bad chunked body: no chunk size (got 'z')");
	RECOVERS(&c);
}

static void
chunk_size_overflow(void)
{
	oa_options o;
	char log[256];

	CHECK(start("[{'raw':'" SSE_HEAD CHUNKED "\\r\\n"
	            "FFFFFFFFFFFFFFFFFFFF\\r\\ndata: x\\r\\n'}," OK "]") == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_PROTOCOL);
	CHECK_STR(oa_errmsg(&c),
	          "bad chunked body: more than 16 hex digits (got 'F')");
	RECOVERS(&c);
}

/* [DONE] arrived, then neither the last chunk nor a close: the reply is
 * complete, and the next turn must not wait on that connection. */
static void
no_final_chunk_after_done(void)
{
	oa_options o;
	char log[256];

	CHECK(start("[{'no_final_chunk':true,'events':[" ROLE "," TEXT("Hi")
	            "," FINISH("stop") "," DONE "]}," OK "]") == 0);
	options(&o);
	o.read_timeout_ms = 2000;
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:Hi][end:stop]");
	RECOVERS(&c);
	CHECK(conn_of(1) != conn_of(0));
}

/* Text, then the connection closes without the last chunk, no [DONE] and
 * no finish_reason: truncated. */
static void
no_final_chunk(void)
{
	oa_options o;
	char log[256];

	CHECK(start("[{'close_after_events':2,'events':[" ROLE "," TEXT("Hi")
	            "," FINISH("stop") "," DONE "]}," OK "]") == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_TRUNCATED);
	CHECK_STR(log, "[text:Hi]");
	CHECK_STR(oa_errmsg(&c),
	          "the connection closed inside the chunked body");
	RECOVERS(&c);
}

/* Bytes that are not UTF-8 inside a JSON string are passed through as
 * they came: the library does not validate or replace them. */
static void
invalid_utf8(void)
{
	oa_options o;
	char log[256];

	CHECK(start("[{'raw':'" SSE_HEAD "Connection: close\\r\\n\\r\\n"
	            "data: {\\'choices\\':[{\\'index\\':0,\\'delta\\':"
	            "{\\'content\\':\\'a\\u00ff\\u00c3b\\'}}]}\\n\\n"
	            "data: [DONE]\\n\\n'}," OK "]") == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:a\xff\xc3" "b][end:stop]");
	RECOVERS(&c);
}

static void
invalid_json(void)
{
	oa_options o;
	char log[256];

	CHECK(start("[{'events':[" ROLE "," TEXT("Hi") ","
	            "'data: {\\'choices\\':[}\\n\\n'," DONE "]}," OK "]") == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_STREAM);
	CHECK_STR(log, "[text:Hi]");
	CHECK_STR(oa_errmsg(&c), "invalid JSON: unexpected character at byte "
	          "12: }");
	RECOVERS(&c);
}

/* A text chunk whose event also holds a value levels deep: the scenario
 * with that event, then an ordinary reply. */
static int
start_deep(int levels)
{
	char *scen = malloc(2 * (size_t)levels + 512), *p = scen;
	int r;

	if (scen == NULL)
		return -1;
	p += sprintf(p, "[{'events':[" ROLE ",'data: {\\'choices\\':[{"
	             "\\'index\\':0,\\'delta\\':{\\'content\\':\\'x"
	             "\\'}}],\\'junk\\':");
	memset(p, '[', (size_t)levels);
	memset(p + levels, ']', (size_t)levels);
	p += 2 * levels;
	strcpy(p, "}\\n\\n'," FINISH("stop") "," DONE "]}," OK "]");
	r = start(scen);
	free(scen);
	return r;
}

/* The hostile event: 65,000 levels (jsmn alone spends seconds of CPU on
 * it). Refused by the depth limit with OA_ERR_LIMIT, naming the option. */
static void
deep_nesting(void)
{
	oa_options o;
	char log[256];

	CHECK(start_deep(65000) == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_LIMIT);
	CHECK_STR(log, "");
	CHECK_HAS(oa_errmsg(&c), "nested deeper than 256 levels");
	CHECK_HAS(oa_errmsg(&c), "max_json_depth");
	RECOVERS(&c);
}

/* max_json_depth sets the limit: an event exactly that deep (the root
 * object is one level) is read, one level more is refused. */
static void
deep_nesting_option(void)
{
	oa_options o;
	char log[256];

	CHECK(start_deep(39) == 0);
	options(&o);
	o.max_json_depth = 40;
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:x][end:stop]");
	stop();
	CHECK(start_deep(40) == 0);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_LIMIT);
	CHECK_HAS(oa_errmsg(&c), "nested deeper than 40 levels");
	RECOVERS(&c);
}

/* usage is information, not the reply: a number too large for long long
 * leaves that field 0 and the turn succeeds with the others. */
static void
usage_overflow(void)
{
	oa_options o;
	oa_block b;

	/* sent as written: the server would re-encode -1e400 as -Infinity */
	CHECK(start("[{'events':[" ROLE "," TEXT("Hi") ",'data: {\\'choices"
	            "\\':[{\\'index\\':0,\\'delta\\':{},\\'finish_reason"
	            "\\':\\'stop\\'}],\\'usage\\':{\\'prompt_tokens\\':"
	            "99999999999999999999999,\\'completion_tokens\\':3,"
	            "\\'total_tokens\\':-1e400}}\\n\\n'," DONE "]}," OK "]")
	      == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(oa_query(&c, "hi"), 0);
	CHECK_INT(oa_next(&c, &b), OA_BLOCK_TEXT);
	CHECK_INT(oa_next(&c, &b), OA_BLOCK_TURN_END);
	CHECK_INT(b.usage.present, 1);
	CHECK_INT(b.usage.prompt_tokens, 0);
	CHECK_INT(b.usage.completion_tokens, 3);
	CHECK_INT(b.usage.total_tokens, 0);
	CHECK_INT(oa_next(&c, &b), 0);
	RECOVERS(&c);
}

/* An index is a label, not an array position: 2^31 allocates nothing. */
static void
tool_index_2_31(void)
{
	oa_options o;
	char log[512];

	CHECK(start("[{'events':[" CALL("2147483648", "c1", "{\\'a\\':2}")
	            "," FINISH("tool_calls") "," DONE "]}," OK "," OK "]")
	      == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[use:calc {\"a\":2}][result:4][text:ok][end:stop]");
	CHECK(heap.peak < 256 * 1024);
	RECOVERS(&c);
}

/* Indices 0 and 7: two calls, in index order. */
static void
tool_index_gap(void)
{
	oa_options o;
	char log[512];

	CHECK(start("[{'events':[" CALL("7", "c7", "{\\'a\\':7}") ","
	            CALL("0", "c0", "{\\'a\\':1}") "," FINISH("tool_calls")
	            "," DONE "]}," OK "," OK "]") == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[use:calc {\"a\":1}][result:2][use:calc {\"a\":7}]"
	          "[result:14][text:ok][end:stop]");
	RECOVERS(&c);
}

/* 10,000 calls in one reply: max_tool_calls stops it at 129, and memory
 * stays small on the way. */
static void
many_tool_calls(void)
{
	oa_options o;
	char log[256], *scen = malloc(2000000);
	size_t n;
	int i;

	CHECK(scen != NULL);
	n = (size_t)sprintf(scen, "[{'events':[");
	for (i = 0; i < 10000; i++)
		n += (size_t)sprintf(scen + n, "%s{'choices':[{'index':0,"
		                     "'delta':{'tool_calls':[{'index':%d,"
		                     "'id':'c%d','function':{'name':'calc',"
		                     "'arguments':'{}'}}]}}]}", i ? "," : "",
		                     i, i);
	sprintf(scen + n, "," FINISH("tool_calls") "," DONE "]}," OK "]");
	n = (size_t)start(scen);
	free(scen);
	CHECK(n == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_LIMIT);
	CHECK_STR(oa_errmsg(&c), "more than max_tool_calls (128) tool calls "
	          "in one reply");
	CHECK(heap.peak < 1024 * 1024);
	RECOVERS(&c);
}

/* A redirect is not followed: one request, and the message says where
 * the server pointed, so the base URL can be fixed. */
static void
redirect(void)
{
	oa_options o;
	char log[256];

	CHECK(start("[{'status':301,'headers':{'Location':"
	            "'https://example.invalid/v1/chat/completions'},"
	            "'body':''}," OK "]") == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_HTTP);
	CHECK_INT(oa_http_status(&c), 301);
	CHECK_HAS(oa_errmsg(&c), "HTTP 301");
	CHECK_READS_ONCE(OA_ERR_HTTP, &c);
	CHECK_HAS(oa_errmsg(&c), "https://example.invalid/v1/chat/completions");
	CHECK_INT(request_count(), 1);
	RECOVERS(&c);
}

/* HTTP/1.0, body until close: read to the end, never reused. */
static void
http_1_0(void)
{
	oa_options o;
	char log[256];

	CHECK(start("[{'raw':'HTTP/1.0 200 OK\\r\\nContent-Type: "
	            "text/event-stream\\r\\n\\r\\ndata: {\\'choices\\':[{"
	            "\\'index\\':0,\\'delta\\':{\\'content\\':\\'old\\'},"
	            "\\'finish_reason\\':\\'stop\\'}]}\\n\\n'}," OK "]") == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[text:old][end:stop]");
	RECOVERS(&c);
	CHECK(conn_of(1) != conn_of(0));
}

/* Transfer-Encoding and Content-Length together: the chunked framing
 * wins (RFC 9112, 6.3) and the connection is not used again. */
static void
te_and_cl(void)
{
	oa_options o;
	char log[256];

	CHECK(start("[{'keep':true,'raw':'" SSE_HEAD CHUNKED
	            "Content-Length: 5\\r\\n\\r\\n"
	            "e\\r\\ndata: [DONE]\\n\\n\\r\\n0\\r\\n\\r\\n'}," OK "]")
	      == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), 0);
	CHECK_STR(log, "[end:stop]");
	RECOVERS(&c);
	CHECK(conn_of(1) != conn_of(0));
}

/* The server answers 413 from the request head alone and reads none of
 * the 8 MB body: the client must notice the answer while it is still
 * sending, not wait for the send to time out. */
static void
early_response(void)
{
	oa_options o;
	char log[256], *big = malloc(8 << 20);
	int r;

	CHECK(big != NULL);
	memset(big, 'x', (8 << 20) - 1);
	big[(8 << 20) - 1] = '\0';
	CHECK(start("[{'early_response':4,'status':413,'connection':'close',"
	            "'json':{'error':{'message':'request too large'}}}," OK
	            "]") == 0);
	options(&o);
	o.read_timeout_ms = 2000;
	CHECK_INT(init_client(&o), 0);
	r = turn(&c, big, log, sizeof log);
	free(big);
	CHECK_INT(r, OA_ERR_HTTP);
	CHECK_INT(oa_http_status(&c), 413);
	snprintf(log, sizeof log, "HTTP 413 from %s/chat/completions: "
	         "request too large", srv.url);
	CHECK_STR(oa_errmsg(&c), log);
	RECOVERS(&c);
}

/* Arguments of 100 MB, in 64 KB fragments: max_response_bytes (16 MB by
 * default) ends the reply long before. */
static void
huge_tool_arguments(void)
{
	oa_options o;
	char log[256], *scen = malloc(100000);
	size_t n;

	CHECK(scen != NULL);
	n = (size_t)sprintf(scen, "[{'events':[" CALL("0", "c1", "{\\'a\\':\\'")
	                    ",{'repeat':1600,'send':{'choices':[{'index':0,"
	                    "'delta':{'tool_calls':[{'index':0,'function':{"
	                    "'arguments':'");
	memset(scen + n, 'x', 65536);
	sprintf(scen + n + 65536, "'}}]}}]}}," FINISH("tool_calls") ","
	        DONE "]}," OK "]");
	n = (size_t)start(scen);
	free(scen);
	CHECK(n == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_LIMIT);
	CHECK_STR(oa_errmsg(&c), "the reply exceeds max_response_bytes "
	          "(16777216 bytes)");
	CHECK(heap.peak < 40 * 1024 * 1024);
	RECOVERS(&c);
}

/* 2xx answers that are no reply: a 204, a body the server coded (gzip)
 * though identity was asked for, a web page (a web UI's port). Each is
 * OA_ERR_STREAM, named, with the URL requested, not "stream cut short". */
static void
not_a_stream(void)
{
	static const struct {
		const char *resp, *what;
	} cases[] = {
		{ "{'raw':'HTTP/1.1 204 No Content\\r\\n\\r\\n','keep':true}",
		  "HTTP 204 (no content) from %s: a reply was expected" },
		{ "{'headers':{'Content-Encoding':'gzip'},'reply':'x'}",
		  "HTTP 200 from %s has Content-Encoding: gzip, which this "
		  "client does not decode (it asks for identity)" },
		{ "{'raw':'" SSE_HEAD "Transfer-Encoding: gzip, chunked\\r\\n"
		  "\\r\\n1\\r\\nx\\r\\n0\\r\\n\\r\\n','keep':true}",
		  "HTTP 200 from %s has Transfer-Encoding: gzip, chunked, which "
		  "this client does not decode (it asks for identity)" },
		{ "{'content_type':'text/html','framing':'length','body':"
		  "'<!doctype html><title>Chat UI</title>'}",
		  "HTTP 200 from %s is text/html, not an event stream or JSON: "
		  "is that the API's base URL?" },
	};
	char scen[512], want[512], url[96], log[256];
	oa_options o;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(scen, sizeof scen, "[%s," OK "]", cases[i].resp);
		CHECK(start(scen) == 0);
		snprintf(url, sizeof url, "%s/chat/completions", srv.url);
		snprintf(want, sizeof want, cases[i].what, url);
		options(&o);
		CHECK_INT(init_client(&o), 0);
		CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_STREAM);
		CHECK_STR(log, "");
		CHECK_STR(oa_errmsg(&c), want);
		CHECK_INT(oa_history_count(&c), 0);
		RECOVERS(&c);
	}
	/* and the request asked for identity */
	CHECK(request(0) != NULL);
	CHECK_HAS(request(0), "\"accept-encoding\":\"identity\"");

	/* not HTTP at all (the wrong port): which URL gave it */
	CHECK(start("[{'raw':'SSH-2.0-OpenSSH_9.2\\r\\n'}," OK "]") == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_PROTOCOL);
	snprintf(want, sizeof want, "not an HTTP/1.x status line: \"SSH-2.0-"
	         "OpenSSH_9.2\\x0d\" (answer to POST %s/chat/completions)",
	         srv.url);
	CHECK_STR(oa_errmsg(&c), want);
	RECOVERS(&c);

	/* an error answer in gzip: the status and the URL, not the noise */
	CHECK(start("[{'status':500,'headers':{'Content-Encoding':'gzip'},"
	            "'framing':'length','body':'\\u001f\\u008b\\b'}," OK
	            "]") == 0);
	options(&o);
	CHECK_INT(init_client(&o), 0);
	CHECK_INT(turn(&c, "hi", log, sizeof log), OA_ERR_HTTP);
	snprintf(want, sizeof want, "HTTP 500 from %s/chat/completions (its "
	         "body has Content-Encoding: gzip, not shown)", srv.url);
	CHECK_STR(oa_errmsg(&c), want);
	RECOVERS(&c);
}

/* How many requests server.py recorded as written into a connection it
 * had already closed (close_after_ms), into *racing how many it had
 * begun to receive when it closed, and into *conns how many connections
 * it accepted. Lines may be long: they hold the history. */
static int
after_close_count(int *racing, int *conns)
{
	FILE *f = fopen(srv.rec, "r");
	char *line = NULL, *s;
	size_t cap = 0;
	int n = 0;

	*conns = *racing = 0;
	if (f == NULL)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		n += strstr(line, "\"after_close\":true") != NULL;
		*racing += strstr(line, "\"before_close\":true") != NULL;
		if ((s = strstr(line, "\"conn\":")) != NULL &&
		    atoi(s + 7) + 1 > *conns)
			*conns = atoi(s + 7) + 1;
	}
	free(line);
	fclose(f);
	return n;
}

/* A tool that takes *(int *)ctx milliseconds. */
static int
slow_calc(void *ctx, oa_args *args, oa_result *out)
{
	struct timespec ts;
	int ms = *(const int *)ctx;

	ts.tv_sec = 0;
	ts.tv_nsec = (long)ms * 1000000L;
	if (ms > 0)
		nanosleep(&ts, NULL);
	return calc(NULL, args, out);
}

#define ROUNDS 200

/* A 200-round tool loop against a server that closes each kept-alive
 * connection 1 ms after the end of a response (as llama-server closes
 * after every streamed answer). Once a tool has taken 5 ms the server's
 * FIN is there when the next request is due: it must be seen, and the
 * request sent on a new connection, never written into the closed one.
 * With a 0 ms tool the request races the close: sent just before it, it
 * goes unanswered and is sent again on a new connection, and the turn
 * still succeeds; those counts depend on timing and are only printed. */
static int
closed_loop(int ms, int *into_closed, int *racing, int *conns)
{
	oa_tool t = { "calc", "doubles a", SCHEMA_A, slow_calc, NULL };
	oa_options o;
	char *scen = malloc(ROUNDS * 600 + 200), *log = malloc(32768);
	size_t n = 0;
	int i, r = -1;

	*into_closed = -1;
	if (scen == NULL || log == NULL)
		goto out;
	n += (size_t)sprintf(scen, "[");
	for (i = 0; i < ROUNDS; i++)
		n += (size_t)sprintf(scen + n, "{'close_after_ms':1,'events':["
		                     CALL("0", "c%d", "{\\'a\\':1}") ","
		                     FINISH("tool_calls") "," DONE "]},", i);
	sprintf(scen + n, "{'close_after_ms':1,'reply':'ok'}]");
	if (start(scen) != 0)
		goto out;
	options(&o);
	t.ctx = &ms;
	o.tools = &t;
	o.max_tool_iterations = ROUNDS + 1;
	o.max_turns = ROUNDS + 2;
	if (init_client(&o) != 0)
		goto out;
	r = turn(&c, "hi", log, 32768);
	if (r == 0 && (strlen(log) < 20 ||
	               strcmp(log + strlen(log) - 19, "[text:ok][end:stop]")))
		r = -100;
	*into_closed = after_close_count(racing, conns);
	if (r == 0 && request_count() - *into_closed - *racing != ROUNDS + 1)
		r = -101;
out:
	free(scen);
	free(log);
	return r;
}

static void
closed_keep_alive(void)
{
	int into_closed, racing, conns, ms;

	for (ms = 0; ms <= 5; ms += 5) {
		CHECK_INT(closed_loop(ms, &into_closed, &racing, &conns), 0);
		fprintf(stderr, "closed_keep_alive: %d ms tool, %d rounds: "
		        "%d requests written into a closed connection, %d "
		        "sent as it closed (sent again), %d connections\n",
		        ms, ROUNDS + 1, into_closed, racing, conns);
	}
	CHECK_INT(into_closed, 0);
	/* the server did close them: most requests needed a new one */
	CHECK(conns > ROUNDS / 2);
	RECOVERS(&c);
}

static const struct test tests[] = {
	{ "refused", refused },
	{ "reset_before_headers", reset_before_headers },
	{ "reset_mid_stream", reset_mid_stream },
	{ "stall_before_headers", stall_before_headers },
	{ "stall_mid_stream", stall_mid_stream },
	{ "slow_drip", slow_drip },
	{ "headers_over_limit", headers_over_limit },
	{ "line_over_event_limit", line_over_event_limit },
	{ "response_over_limit", response_over_limit },
	{ "bad_chunk_size", bad_chunk_size },
	{ "chunk_size_overflow", chunk_size_overflow },
	{ "no_final_chunk_after_done", no_final_chunk_after_done },
	{ "no_final_chunk", no_final_chunk },
	{ "invalid_utf8", invalid_utf8 },
	{ "invalid_json", invalid_json },
	{ "deep_nesting", deep_nesting },
	{ "deep_nesting_option", deep_nesting_option },
	{ "usage_overflow", usage_overflow },
	{ "tool_index_2_31", tool_index_2_31 },
	{ "tool_index_gap", tool_index_gap },
	{ "many_tool_calls", many_tool_calls },
	{ "redirect", redirect },
	{ "http_1_0", http_1_0 },
	{ "te_and_cl", te_and_cl },
	{ "early_response", early_response },
	{ "huge_tool_arguments", huge_tool_arguments },
	{ "not_a_stream", not_a_stream },
	{ "closed_keep_alive", closed_keep_alive },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	int r = harness_main("test_faults", argc, argv, tests);

	if (c_live)
		oa_free(&c);
	return r;
}
