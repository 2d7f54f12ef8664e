/*
 * test_context.c -- context.c: the token estimate against a real
 * tokenizer's counts, truncation, and saving and loading the history.
 *
 * context.c is included, not linked, so that it is built with
 * OA_TEST_FAULTS: a save can then be made to fail, or the process to die,
 * between writing the temporary file and renaming it (OA_TEST_FAULT).
 * Histories are built with oa__history_append, the same function a load
 * uses; one test runs whole conversations through test/server.py to
 * compare the request a resumed conversation sends with an uninterrupted
 * one, byte for byte.
 */
#define OA_TEST_FAULTS
#include "context.c"

#include <dirent.h>

#include "harness.h"

/* ------------------------------------------------------------ helpers */

static void
tmppath(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static int
write_file(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	fwrite(data, 1, n, f);
	return fclose(f);
}

/* The whole file in a static buffer; its length in *n. */
static const char *
read_file(const char *path, size_t *n)
{
	static char buf[1 << 20];
	FILE *f = fopen(path, "rb");

	*n = 0;
	if (f == NULL)
		return NULL;
	*n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[*n] = '\0';
	return buf;
}

/* Files in tmpdir whose names start with prefix. */
static int
count_files(const char *prefix)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d != NULL)
		closedir(d);
	return n;
}

/* A client that talks to nobody (nothing here sends a request). */
static int
client(oa_client *c, const char *system, const oa_allocator *a)
{
	oa_options o;

	memset(&o, 0, sizeof o);
	o.base_url = "http://127.0.0.1:9/v1";
	o.system_prompt = system;
	if (a != NULL)
		o.allocator = *a;
	return oa_init(c, &o);
}

/* The history in one line: role:content, [tool_calls], (tool_call_id);
 * content bytes below 0x20 as \xNN. */
static const char *
render(const oa_client *c)
{
	static char out[8192];
	oa_message m;
	size_t i, k, o = 0;

	out[0] = '\0';
	for (i = 0; oa_history_get(c, i, &m) == 0; i++) {
		o += (size_t)snprintf(out + o, sizeof out - o, "%s%s", i ? "|" : "",
		                      m.role);
		if (m.tool_call_id)
			o += (size_t)snprintf(out + o, sizeof out - o, "(%s)",
			                      m.tool_call_id);
		o += (size_t)snprintf(out + o, sizeof out - o, ":");
		for (k = 0; k < m.content_len && o < sizeof out - 8; k++)
			o += (size_t)snprintf(out + o, sizeof out - o,
			                      (unsigned char)m.content[k] < 0x20 ?
			                      "\\x%02x" : "%c",
			                      (unsigned char)m.content[k]);
		if (m.tool_calls)
			o += (size_t)snprintf(out + o, sizeof out - o, "%s",
			                      m.tool_calls);
	}
	return out;
}

static int
add(oa_client *c, const char *role, const char *content,
    const char *tool_calls, const char *id)
{
	return oa__history_append(c, role, content, strlen(content),
	                          tool_calls, id, NULL);
}

#define CALLS2                                                               \
	"[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\","    \
	"\"arguments\":\"{}\"}},{\"id\":\"c2\",\"type\":\"function\","           \
	"\"function\":{\"name\":\"g\",\"arguments\":\"{\\\"x\\\":1}\"}}]"

/* u1 a1 u2 A(c1,c2) t(c1) t(c2) a3 u4 */
static int
conversation(oa_client *c)
{
	return add(c, "user", "u1", NULL, NULL) ||
	       add(c, "assistant", "a1", NULL, NULL) ||
	       add(c, "user", "u2", NULL, NULL) ||
	       add(c, "assistant", "", CALLS2, NULL) ||
	       add(c, "tool", "r1", NULL, "c1") ||
	       add(c, "tool", "r2", NULL, "c2") ||
	       add(c, "assistant", "a3", NULL, NULL) ||
	       add(c, "user", "u4", NULL, NULL);
}

/* ------------------------------------------------------------ estimate */

/* The bound README.md states: the mean relative error of each kind of
 * text against cl100k_base stays under this many percent. */
#define CLASS_BOUND 15.0
/* and no single text is off by more than this */
#define SAMPLE_BOUND 25.0

static double
rel(double est, double ref)
{
	double e = (est - ref) / ref;

	return e < 0 ? -e : e;
}

static void
test_estimate_calibration(void)
{
	static char text[1 << 20];
	oa__json j;
	char err[OA__ERRLEN] = "", cls[32] = "";
	const char *f;
	double sum = 0, sum_bytes = 0, sum_chars = 0, csum = 0, worst = 0;
	size_t n, tl, i, chars, est, nsamples = 0, nclasses = 0, cn = 0;
	long long ref;
	int s, k, r;

	f = read_file("test/fixtures/tokens.json", &n);
	CHECK(f != NULL && n > 10000);
	memcpy(text, f, n);
	memset(&j, 0, sizeof j);
	r = oa__json_parse(&j, text, n, err);
	CHECK_STR(err, "");
	CHECK_INT(r, 0);
	s = oa__json_get(&j, 0, "samples");
	for (k = oa__json_first(&j, s); k >= 0; k = oa__json_next(&j, k)) {
		const char *t = oa__json_str(&j, oa__json_get(&j, k, "text"),
		                             &tl);
		const char *c = oa__json_str(&j, oa__json_get(&j, k, "class"),
		                             NULL);
		CHECK(t != NULL && c != NULL && strlen(c) < sizeof cls);
		CHECK_INT(oa__json_int(&j, oa__json_get(&j, k, "cl100k_base"),
		                       &ref), 0);
		CHECK(ref > 0);
		est = oa_estimate_text_tokens(t, tl);
		for (chars = i = 0; i < tl; i++)
			chars += ((unsigned char)t[i] & 0xc0) != 0x80;
		if (strcmp(c, cls) != 0) {
			/* samples of a class are together in the fixture */
			if (cn && csum / (double)cn * 100 > CLASS_BOUND) {
				fprintf(stderr, "%s: mean error %.1f%%\n", cls,
				        csum / (double)cn * 100);
				CHECK(0);
			}
			strcpy(cls, c);
			csum = 0;
			cn = 0;
			nclasses++;
		}
		if (rel((double)est, (double)ref) * 100 > SAMPLE_BOUND) {
			fprintf(stderr, "%s: estimate %zu, cl100k_base %lld\n",
			        oa__json_str(&j, oa__json_get(&j, k, "name"),
			                     NULL), est, ref);
			CHECK(0);
		}
		csum += rel((double)est, (double)ref);
		cn++;
		sum += rel((double)est, (double)ref);
		sum_bytes += rel((double)tl / 4, (double)ref);
		sum_chars += rel((double)chars / 4, (double)ref);
		if (rel((double)est, (double)ref) > worst)
			worst = rel((double)est, (double)ref);
		nsamples++;
	}
	CHECK(cn && csum / (double)cn * 100 <= CLASS_BOUND);
	/* prose, C, Python, JavaScript, JSON, Chinese, Japanese, Russian,
	 * Arabic, emoji */
	CHECK_INT(nclasses, 10);
	CHECK(nsamples >= 30);
	/* better than both readings of "characters / 4", by a margin */
	CHECK(sum * 3 < sum_bytes);
	CHECK(sum * 3 < sum_chars);
	oa__json_free(&j);
}

static void
test_estimate_text(void)
{
	CHECK_INT(oa_estimate_text_tokens(NULL, 5), 0);
	CHECK_INT(oa_estimate_text_tokens("", 0), 0);
	CHECK_INT(oa_estimate_text_tokens("Hello", 5), 1);
	CHECK_INT(oa_estimate_text_tokens("Hello world", 11), 2);
	/* only n bytes count */
	CHECK_INT(oa_estimate_text_tokens("Hello world", 5), 1);
	/* digits go in threes; a blank before them is a token */
	CHECK_INT(oa_estimate_text_tokens("1234567", 7), 3);
	CHECK_INT(oa_estimate_text_tokens("x 1", 3), 3);
	/* camelCase parts, a mark joining a word */
	CHECK_INT(oa_estimate_text_tokens("querySelector", 13), 2);
	CHECK_INT(oa_estimate_text_tokens("a.b", 3), 2);
	/* one CJK character, one Cyrillic word, one emoji, bad UTF-8 */
	CHECK_INT(oa_estimate_text_tokens("\xe4\xb8\xad", 3), 1);
	CHECK_INT(oa_estimate_text_tokens("\xd0\xb4\xd0\xb0", 4), 1);
	CHECK_INT(oa_estimate_text_tokens("\xf0\x9f\x8d\x8e", 4), 3);
	CHECK_INT(oa_estimate_text_tokens("\xff\xfe\xf0\x9f", 4), 4);
	/* a truncated character at the end is read as bad bytes */
	CHECK_INT(oa_estimate_text_tokens("\xe4\xb8", 2), 2);
}

static void
test_estimate_client(void)
{
	oa_client c;
	size_t want;

	CHECK_INT(oa_estimate_tokens(NULL), 0);
	CHECK_INT(client(&c, "You are terse.", NULL), 0);
	CHECK_INT(oa_estimate_tokens(&c), PER_REQUEST + PER_MESSAGE + 4);
	CHECK_INT(conversation(&c), 0);
	want = PER_REQUEST + PER_MESSAGE + 4 + 8 * PER_MESSAGE +
	       oa_estimate_text_tokens(CALLS2, strlen(CALLS2)) +
	       7 * 2 +   /* u1 a1 u2 r1 r2 a3 u4: a letter, a digit */
	       2 * 2;    /* c1 c2 */
	CHECK_INT(oa_estimate_tokens(&c), want);
	oa_free(&c);
	CHECK_INT(client(&c, NULL, NULL), 0);
	CHECK_INT(oa_estimate_tokens(&c), PER_REQUEST);
	oa_free(&c);
}

/* ------------------------------------------------------------ truncate */

static void
test_truncate(void)
{
	static const struct {
		size_t keep;
		const char *left;
	} cases[] = {
		{100, "user:u1|assistant:a1|user:u2|assistant:" CALLS2
		      "|tool(c1):r1|tool(c2):r2|assistant:a3|user:u4"},
		{8, "user:u1|assistant:a1|user:u2|assistant:" CALLS2
		    "|tool(c1):r1|tool(c2):r2|assistant:a3|user:u4"},
		{7, "assistant:a1|user:u2|assistant:" CALLS2
		    "|tool(c1):r1|tool(c2):r2|assistant:a3|user:u4"},
		{6, "user:u2|assistant:" CALLS2
		    "|tool(c1):r1|tool(c2):r2|assistant:a3|user:u4"},
		{5, "assistant:" CALLS2
		    "|tool(c1):r1|tool(c2):r2|assistant:a3|user:u4"},
		/* a cut inside the group moves before the whole of it */
		{4, "assistant:" CALLS2
		    "|tool(c1):r1|tool(c2):r2|assistant:a3|user:u4"},
		{3, "assistant:" CALLS2
		    "|tool(c1):r1|tool(c2):r2|assistant:a3|user:u4"},
		{2, "assistant:a3|user:u4"},
		{1, "user:u4"},
		{0, ""},
	};
	oa_client c;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_INT(client(&c, "sys", NULL), 0);
		CHECK_INT(conversation(&c), 0);
		CHECK_INT(oa_truncate(&c, cases[i].keep), 0);
		CHECK_STR(render(&c), cases[i].left);
		/* the system prompt is an option, never cut */
		CHECK_STR(c.p->system_prompt, "sys");
		oa_free(&c);
	}
	/* a history that starts with tool results (a group already cut
	 * elsewhere) keeps them when asked to keep everything after */
	CHECK_INT(client(&c, NULL, NULL), 0);
	CHECK_INT(add(&c, "assistant", "", CALLS2, NULL), 0);
	CHECK_INT(add(&c, "tool", "r1", NULL, "c1"), 0);
	CHECK_INT(add(&c, "tool", "r2", NULL, "c2"), 0);
	CHECK_INT(oa_truncate(&c, 1), 0);
	CHECK_INT(oa_history_count(&c), 3);
	CHECK_INT(oa_truncate(&c, 0), 0);
	CHECK_INT(oa_history_count(&c), 0);
	CHECK_INT(oa_truncate(&c, 0), 0);
	oa_free(&c);
}

/* Every function that changes the history refuses during a turn, and a
 * client whose oa_init() failed refuses everything. */
static void
test_state(void)
{
	char path[128];
	oa_client c;
	oa_options o;

	tmppath(path, sizeof path, "state.json");
	CHECK_INT(client(&c, NULL, NULL), 0);
	CHECK_INT(conversation(&c), 0);
	CHECK_INT(oa_history_save(&c, path), 0);
	CHECK_INT(oa_query(&c, "more"), 0);   /* the turn is ready to send */
	CHECK_INT(oa_history_count(&c), 9);
	CHECK_INT(oa_truncate(&c, 1), OA_ERR_STATE);
	CHECK_HAS(oa_errmsg(&c), "only between turns");
	CHECK_INT(oa_history_load(&c, path), OA_ERR_STATE);
	CHECK_INT(oa_history_save(&c, path), OA_ERR_STATE);
	CHECK_INT(oa_history_count(&c), 9);
	oa_free(&c);

	memset(&o, 0, sizeof o);   /* no base_url */
	CHECK(oa_init(&c, &o) != 0);
	CHECK_INT(oa_truncate(&c, 1), OA_ERR_STATE);
	CHECK_INT(oa_history_load(&c, path), OA_ERR_STATE);
	CHECK_INT(oa_history_save(&c, path), OA_ERR_STATE);
	oa_free(&c);
	CHECK_INT(oa_truncate(&c, 1), OA_ERR_STATE);   /* freed */
	CHECK_INT(oa_history_save(&c, path), OA_ERR_STATE);
	CHECK_INT(oa_estimate_tokens(&c), 0);
	CHECK_INT(oa_truncate(NULL, 1), OA_ERR_INVALID);
	CHECK_INT(oa_history_save(NULL, path), OA_ERR_INVALID);
	CHECK_INT(oa_history_load(NULL, path), OA_ERR_INVALID);
	CHECK_INT(client(&c, NULL, NULL), 0);
	CHECK_INT(oa_history_save(&c, NULL), OA_ERR_INVALID);
	CHECK_INT(oa_history_load(&c, NULL), OA_ERR_INVALID);
	oa_free(&c);
}

/* ------------------------------------------------------------ save, load */

/* Every kind of message, with bytes that need escaping. */
#define ODD_CALLS                                                            \
	"[{\"id\":\"call \\\"q\\\" \\u00e9\",\"type\":\"function\","            \
	"\"function\":{\"name\":\"w\",\"arguments\":\"{\\\"s\\\":"              \
	"\\\"a\\\\\\\\b \\u2603\\\"}\"}}]"

static int
odd_conversation(oa_client *c)
{
	static const char nul[] = "a\0b\x01\x1f\x7f \"\\/ \xc3\xa9\xe2\x98\x83"
	                          "\xf0\x9f\x8d\x8e \xff";
	return oa__history_append(c, "user", nul, sizeof nul - 1, NULL,
	                          NULL, NULL) ||
	       add(c, "assistant", "line 1\nline 2\r\n\ttab", NULL, NULL) ||
	       add(c, "user", "", NULL, NULL) ||
	       add(c, "assistant", "let me look", ODD_CALLS, NULL) ||
	       add(c, "tool", "{\"ok\":true}", NULL, "call \"q\" \xc3\xa9") ||
	       add(c, "assistant", "done", NULL, NULL);
}

/* The two histories are the same, byte for byte. */
static int
same_history(const oa_client *a, const oa_client *b)
{
	oa_message x, y;
	size_t i;

	if (oa_history_count(a) != oa_history_count(b))
		return 0;
	for (i = 0; i < oa_history_count(a); i++) {
		if (oa_history_get(a, i, &x) || oa_history_get(b, i, &y) ||
		    strcmp(x.role, y.role) != 0 ||
		    x.content_len != y.content_len ||
		    memcmp(x.content, y.content, x.content_len) != 0 ||
		    (x.tool_calls == NULL) != (y.tool_calls == NULL) ||
		    (x.tool_calls && strcmp(x.tool_calls, y.tool_calls)) ||
		    (x.tool_call_id == NULL) != (y.tool_call_id == NULL) ||
		    (x.tool_call_id && strcmp(x.tool_call_id, y.tool_call_id)))
			return 0;
	}
	return 1;
}

static void
test_round_trip(void)
{
	char path[128];
	oa_client a, b;
	oa_message m;

	tmppath(path, sizeof path, "round.json");
	CHECK_INT(client(&a, "not saved", NULL), 0);
	CHECK_INT(odd_conversation(&a), 0);
	CHECK_INT(client(&b, NULL, NULL), 0);
	CHECK_INT(add(&b, "user", "replaced by the load", NULL, NULL), 0);
	CHECK_INT(oa_history_save(&a, path), 0);
	CHECK_INT(oa_history_load(&b, path), 0);
	CHECK_INT(oa_history_count(&b), 6);
	CHECK(same_history(&a, &b));
	CHECK_INT(oa_history_get(&b, 0, &m), 0);
	CHECK_INT(m.content_len, 22);
	CHECK_INT(oa_history_get(&b, 3, &m), 0);
	CHECK_STR(m.tool_calls, ODD_CALLS);
	CHECK(b.p->system_prompt == NULL);
	/* saved again, the file is the same */
	{
		char first[4096];
		size_t n1, n2;
		const char *f = read_file(path, &n1);
		CHECK(f != NULL && n1 < sizeof first);
		memcpy(first, f, n1);
		CHECK_INT(oa_history_save(&b, path), 0);
		f = read_file(path, &n2);
		CHECK(n1 == n2 && memcmp(first, f, n1) == 0);
	}
	CHECK_INT(count_files("round.json"), 1);   /* no temporary left */
	oa_free(&a);
	oa_free(&b);
}

#define HEAD "{\"format\":\"openagent-history\",\"version\":1,\"messages\":"
#define UNKNOWN                                                              \
	"{\"version\":1,\"saved_by\":\"x\",\"messages\":[{\"role\":\"user\","    \
	"\"content\":\"hi\",\"name\":\"n\"}],\"format\":\"openagent-history\"}"

/* The file format, exactly. */
static void
test_file_format(void)
{
	char path[128];
	oa_client c;
	size_t n;

	tmppath(path, sizeof path, "format.json");
	CHECK_INT(client(&c, NULL, NULL), 0);
	CHECK_INT(oa_history_save(&c, path), 0);
	CHECK_STR(read_file(path, &n), "{\"format\":\"openagent-history\","
	          "\"version\":1,\"messages\":[\n]}\n");
	CHECK_INT(add(&c, "user", "2+2?", NULL, NULL), 0);
	CHECK_INT(add(&c, "assistant", "", "[{\"id\":\"c1\",\"type\":"
	              "\"function\",\"function\":{\"name\":\"add\","
	              "\"arguments\":\"{}\"}}]", NULL), 0);
	CHECK_INT(add(&c, "tool", "4", NULL, "c1"), 0);
	CHECK_INT(oa_history_save(&c, path), 0);
	CHECK_STR(read_file(path, &n),
	          "{\"format\":\"openagent-history\",\"version\":1,"
	          "\"messages\":[\n"
	          "{\"role\":\"user\",\"content\":\"2+2?\"},\n"
	          "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
	          "[{\"id\":\"c1\",\"type\":\"function\",\"function\":"
	          "{\"name\":\"add\",\"arguments\":\"{}\"}}]},\n"
	          "{\"role\":\"tool\",\"tool_call_id\":\"c1\","
	          "\"content\":\"4\"}\n]}\n");
	/* an empty history loads as one */
	CHECK_INT(write_file(path, HEAD "[]}", strlen(HEAD) + 3), 0);
	CHECK_INT(oa_history_load(&c, path), 0);
	CHECK_INT(oa_history_count(&c), 0);
	/* members it does not know are ignored */
	CHECK_INT(write_file(path, UNKNOWN, strlen(UNKNOWN)), 0);
	CHECK_INT(oa_history_load(&c, path), 0);
	CHECK_STR(render(&c), "user:hi");
	oa_free(&c);
}

/* A save that fails between writing and renaming, and one that dies
 * there: the previous file stays whole and loads. */
static void
test_fault_before_rename(void)
{
	char path[128], before[4096], msg[300];
	const char *f;
	oa_client c, d;
	size_t n, n2;
	pid_t pid;
	int status;

	tmppath(path, sizeof path, "fault.json");
	CHECK_INT(client(&c, NULL, NULL), 0);
	CHECK_INT(client(&d, NULL, NULL), 0);
	CHECK_INT(conversation(&c), 0);
	CHECK_INT(oa_history_save(&c, path), 0);
	f = read_file(path, &n);
	CHECK(f != NULL && n < sizeof before);
	memcpy(before, f, n);
	CHECK_INT(oa_truncate(&c, 2), 0);
	CHECK_INT(add(&c, "user", "new", NULL, NULL), 0);

	setenv("OA_TEST_FAULT", "rename", 1);
	CHECK_INT(oa_history_save(&c, path), OA_ERR_FILE);
	unsetenv("OA_TEST_FAULT");
	snprintf(msg, sizeof msg, "cannot replace %s: %s", path,
	         strerror(EIO));
	CHECK_STR(oa_errmsg(&c), msg);
	f = read_file(path, &n2);
	CHECK(n2 == n && memcmp(before, f, n) == 0);
	CHECK_INT(count_files("fault.json"), 1);   /* the temporary is gone */
	CHECK_INT(oa_history_load(&d, path), 0);
	CHECK_INT(oa_history_count(&d), 8);

	/* the process dies where a crash would stop it: the temporary file
	 * stays behind, the old file is untouched */
	fflush(NULL);
	if ((pid = fork()) == 0) {
		setenv("OA_TEST_FAULT", "crash", 1);
		oa_history_save(&c, path);
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 99);
	f = read_file(path, &n2);
	CHECK(n2 == n && memcmp(before, f, n) == 0);
	CHECK_INT(count_files("fault.json."), 1);
	CHECK_INT(oa_history_load(&d, path), 0);
	CHECK_STR(render(&d), "user:u1|assistant:a1|user:u2|assistant:" CALLS2
	          "|tool(c1):r1|tool(c2):r2|assistant:a3|user:u4");

	/* and the next save goes through */
	CHECK_INT(oa_history_save(&c, path), 0);
	CHECK_INT(oa_history_load(&d, path), 0);
	CHECK_STR(render(&d), "assistant:a3|user:u4|user:new");
	oa_free(&c);
	oa_free(&d);
}

/* Saves the system refuses: no directory, a directory in the way. */
static void
test_save_errors(void)
{
	char path[160], msg[300];
	oa_client c;

	CHECK_INT(client(&c, NULL, NULL), 0);
	CHECK_INT(conversation(&c), 0);
	tmppath(path, sizeof path, "none/h.json");
	CHECK_INT(oa_history_save(&c, path), OA_ERR_FILE);
	snprintf(msg, sizeof msg, "cannot create a temporary file for %s: %s",
	         path, strerror(ENOENT));
	CHECK_STR(oa_errmsg(&c), msg);
	tmppath(path, sizeof path, "dir");
	CHECK_INT(mkdir(path, 0700), 0);
	tmppath(path, sizeof path, "dir/x");
	CHECK_INT(write_file(path, "x", 1), 0);
	tmppath(path, sizeof path, "dir");
	CHECK_INT(oa_history_save(&c, path), OA_ERR_FILE);
	CHECK_HAS(oa_errmsg(&c), "cannot replace ");
	CHECK_INT(count_files("dir"), 1);
	CHECK_INT(oa_history_save(&c, ""), OA_ERR_FILE);
	CHECK_STR(oa_errmsg(&c), "an empty file name");
	CHECK_INT(oa_history_count(&c), 8);
	oa_free(&c);
}

/* Files that are not a saved history: a clear OA_ERR_FILE, and the
 * history as it was. */
static void
test_load_errors(void)
{
	static const struct {
		const char *text;
		const char *msg;   /* after "PATH: " */
	} cases[] = {
		{"", "invalid JSON: no value at byte 0 (the end)"},
		{"{\"format\":\"openagent-history\"", "invalid JSON: "},
		{"[1,2]", "not an openagent history (no \"format\":"
		          "\"openagent-history\")"},
		{"{\"messages\":[]}", "not an openagent history"},
		{"{\"format\":\"other\",\"version\":1,\"messages\":[]}",
		 "not an openagent history"},
		{"{\"format\":\"openagent-history\",\"messages\":[]}",
		 "no valid \"version\""},
		{"{\"format\":\"openagent-history\",\"version\":\"1\"}",
		 "no valid \"version\""},
		{"{\"format\":\"openagent-history\",\"version\":2,"
		 "\"messages\":[]}",
		 "version 2 is newer than this library reads (1)"},
		{"{\"format\":\"openagent-history\",\"version\":1}",
		 "no \"messages\" array"},
		{HEAD "{}}", "no \"messages\" array"},
		{HEAD "[1]}", "message 0 is not an object with a role and a "
		              "content string"},
		{HEAD "[{\"role\":\"user\"}]}", "message 0 is not an object"},
		{HEAD "[{\"role\":\"user\",\"content\":null}]}",
		 "message 0 is not an object"},
		{HEAD "[{\"role\":\"system\",\"content\":\"x\"}]}",
		 "message 0 has an unknown role"},
		{HEAD "[{\"role\":\"us\\u0000er\",\"content\":\"x\"}]}",
		 "message 0 is not an object"},
		{HEAD "[{\"role\":\"user\",\"content\":\"x\",\"tool_calls\":"
		 "[]}]}", "message 0 has tool_calls but is not from the "
		          "assistant"},
		{HEAD "[{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
		 "\"[]\"}]}", "message 0 has a malformed tool_calls array"},
		{HEAD "[{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
		 "[]}]}", "message 0 has a malformed tool_calls array"},
		{HEAD "[{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
		 "[{\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}]}",
		 "message 0 has a malformed tool_calls array"},
		{HEAD "[{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
		 "[{\"id\":\"\",\"function\":{\"name\":\"f\",\"arguments\":"
		 "\"{}\"}}]}]}", "message 0 has a malformed tool_calls array"},
		{HEAD "[{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
		 "[{\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":"
		 "{}}}]}]}", "message 0 has a malformed tool_calls array"},
		{HEAD "[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"tool\","
		 "\"tool_call_id\":\"c1\",\"content\":\"r\"}]}",
		 "message 1 answers no tool call of the assistant message "
		 "before it"},
		{HEAD "[{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
		 "[{\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":"
		 "\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c2\","
		 "\"content\":\"r\"}]}", "message 1 answers no tool call"},
		{HEAD "[{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
		 "[{\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":"
		 "\"{}\"}}]},{\"role\":\"user\",\"content\":\"x\"},{\"role\":"
		 "\"tool\",\"tool_call_id\":\"c1\",\"content\":\"r\"}]}",
		 "message 2 answers no tool call"},
		{HEAD "[{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
		 "[{\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":"
		 "\"{}\"}}]},{\"role\":\"tool\",\"content\":\"r\"}]}",
		 "message 1 answers no tool call"},
		{HEAD "[{\"role\":\"user\",\"tool_call_id\":\"c1\","
		 "\"content\":\"r\"}]}",
		 "message 0 has a tool_call_id but is not a tool result"},
	};
	static char before[4096];
	char path[128], want[512];
	oa_client c;
	size_t i;

	tmppath(path, sizeof path, "bad.json");
	CHECK_INT(client(&c, NULL, NULL), 0);
	CHECK_INT(conversation(&c), 0);
	strcpy(before, render(&c));
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_INT(write_file(path, cases[i].text,
		                     strlen(cases[i].text)), 0);
		if (oa_history_load(&c, path) != OA_ERR_FILE) {
			fprintf(stderr, "case %zu loaded\n", i);
			CHECK(0);
		}
		snprintf(want, sizeof want, "%s: %s", path, cases[i].msg);
		if (strncmp(oa_errmsg(&c), want, strlen(want)) != 0) {
			fprintf(stderr, "case %zu: \"%s\"\n  wanted \"%s\"\n",
			        i, oa_errmsg(&c), want);
			CHECK(0);
		}
		CHECK_STR(render(&c), before);
	}
	/* not there, not a file */
	tmppath(path, sizeof path, "missing.json");
	CHECK_INT(oa_history_load(&c, path), OA_ERR_FILE);
	snprintf(want, sizeof want, "%s: %s", path, strerror(ENOENT));
	CHECK_STR(oa_errmsg(&c), want);
	CHECK_INT(oa_history_load(&c, tmpdir), OA_ERR_FILE);
	snprintf(want, sizeof want, "%s: not a regular file", tmpdir);
	CHECK_STR(oa_errmsg(&c), want);
	CHECK_STR(render(&c), before);
	oa_free(&c);
}

/* Every prefix of a good file is a truncated file: each one fails and
 * changes nothing. */
static void
test_load_truncated(void)
{
	char path[128], cut[128], full[4096];
	const char *f, *before;
	oa_client a, c;
	size_t n, k;

	tmppath(path, sizeof path, "whole.json");
	tmppath(cut, sizeof cut, "cut.json");
	CHECK_INT(client(&a, NULL, NULL), 0);
	CHECK_INT(odd_conversation(&a), 0);
	CHECK_INT(oa_history_save(&a, path), 0);
	f = read_file(path, &n);
	CHECK(f != NULL && n < sizeof full);
	memcpy(full, f, n);
	CHECK_INT(client(&c, NULL, NULL), 0);
	CHECK_INT(add(&c, "user", "keep me", NULL, NULL), 0);
	before = "user:keep me";
	/* the last byte is the final newline: without it the file is whole */
	for (k = 0; k + 1 < n; k++) {
		CHECK_INT(write_file(cut, full, k), 0);
		CHECK_INT(oa_history_load(&c, cut), OA_ERR_FILE);
		CHECK_STR(render(&c), before);
	}
	CHECK_INT(write_file(cut, full, n - 1), 0);
	CHECK_INT(oa_history_load(&c, cut), 0);
	CHECK(same_history(&a, &c));
	oa_free(&a);
	oa_free(&c);
}

/* The largest single allocation asked for, by an allocator that only
 * watches. */
static size_t biggest;

static void *
big_malloc(void *ctx, size_t n)
{
	(void)ctx;
	biggest = n > biggest ? n : biggest;
	return malloc(n);
}

static void *
big_realloc(void *ctx, void *p, size_t n)
{
	(void)ctx;
	biggest = n > biggest ? n : biggest;
	return realloc(p, n);
}

static void
big_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

/* A file over max_history_bytes is refused from its size, before any of
 * it is read: nothing near its size is allocated, and the message says
 * the limit and the option that raises it. */
static void
test_load_too_large(void)
{
	oa_allocator al = {big_malloc, big_realloc, big_free, NULL};
	char path[128], want[256];
	oa_options o;
	oa_client c;
	int fd;

	tmppath(path, sizeof path, "large.json");
	CHECK((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	CHECK(ftruncate(fd, (off_t)100 * 1000 * 1000) == 0);   /* sparse */
	close(fd);
	CHECK_INT(client(&c, NULL, &al), 0);
	CHECK_INT(add(&c, "user", "u", NULL, NULL), 0);
	biggest = 0;
	CHECK_INT(oa_history_load(&c, path), OA_ERR_FILE);
	snprintf(want, sizeof want, "%s: 100000000 bytes, more than "
	         "max_history_bytes (%zu); raise that option to load it",
	         path, (size_t)OA_MAX_HISTORY_BYTES);
	CHECK_STR(oa_errmsg(&c), want);
	CHECK(biggest < 1024 * 1024);
	CHECK_STR(render(&c), "user:u");
	unlink(path);
	oa_free(&c);

	/* the option is the limit: refused under it, loaded above it */
	CHECK_INT(client(&c, NULL, NULL), 0);
	CHECK_INT(add(&c, "user", "a longer message than the limit", NULL,
	              NULL), 0);
	CHECK_INT(oa_history_save(&c, path), 0);
	oa_free(&c);
	memset(&o, 0, sizeof o);
	o.base_url = "http://127.0.0.1:9/v1";
	o.max_history_bytes = 64;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(oa_history_load(&c, path), OA_ERR_FILE);
	CHECK_HAS(oa_errmsg(&c), "more than max_history_bytes (64)");
	oa_free(&c);
	o.max_history_bytes = 4096;
	CHECK_INT(oa_init(&c, &o), 0);
	CHECK_INT(oa_history_load(&c, path), 0);
	CHECK_STR(render(&c), "user:a longer message than the limit");
	unlink(path);
	oa_free(&c);
}

/* ------------------------------------------------------------ memory */

static long live, allocs, fail_at;

static void *
t_malloc(void *ctx, size_t n)
{
	void *p;

	(void)ctx;
	if (++allocs == fail_at)
		return NULL;
	if ((p = malloc(n)) != NULL)
		live++;
	return p;
}

static void *
t_realloc(void *ctx, void *p, size_t n)
{
	void *q;

	(void)ctx;
	if (++allocs == fail_at)
		return NULL;
	q = realloc(p, n);
	if (q != NULL && p == NULL)
		live++;
	return q;
}

static void
t_free(void *ctx, void *p)
{
	(void)ctx;
	if (p != NULL)
		live--;
	free(p);
}

#define UNKNOWN_ROLE HEAD "[{\"role\":\"x\",\"content\":\"\"}]}"

/* Everything through a counting allocator: nothing leaks, and failing
 * each allocation of a load in turn is OA_ERR_NOMEM with the history as
 * it was, until the load succeeds. */
static void
test_allocator(void)
{
	oa_allocator al = {t_malloc, t_realloc, t_free, NULL};
	char path[128], bad[128];
	oa_client a, c;
	long n;
	int r;

	tmppath(path, sizeof path, "alloc.json");
	tmppath(bad, sizeof bad, "alloc-bad.json");
	CHECK_INT(write_file(bad, UNKNOWN_ROLE, strlen(UNKNOWN_ROLE)), 0);
	live = allocs = 0;
	fail_at = -1;
	CHECK_INT(client(&a, "sys", &al), 0);
	CHECK_INT(odd_conversation(&a), 0);
	CHECK_INT(oa_history_save(&a, path), 0);
	CHECK_INT(oa_history_load(&a, bad), OA_ERR_FILE);
	CHECK_HAS(oa_errmsg(&a), "message 0 has an unknown role");
	CHECK_INT(oa_history_load(&a, path), 0);
	CHECK_INT(oa_truncate(&a, 2), 0);
	CHECK(oa_estimate_tokens(&a) > 0);
	for (n = 1;; n++) {
		CHECK(n < 1000);
		CHECK_INT(client(&c, NULL, &al), 0);
		CHECK_INT(add(&c, "user", "before", NULL, NULL), 0);
		allocs = 0;
		fail_at = n;
		r = oa_history_load(&c, path);
		fail_at = -1;
		if (r == 0) {
			CHECK_INT(oa_history_count(&c), 6);
			oa_free(&c);
			break;
		}
		CHECK_INT(r, OA_ERR_NOMEM);
		CHECK_READS_ONCE(r, &c);
		CHECK_STR(render(&c), "user:before");
		oa_free(&c);
	}
	CHECK(n > 5);
	for (n = 1;; n++) {
		CHECK(n < 1000);
		allocs = 0;
		fail_at = n;
		r = oa_history_save(&a, path);
		fail_at = -1;
		if (r == 0)
			break;
		CHECK_INT(r, OA_ERR_NOMEM);
	}
	CHECK_INT(count_files("alloc.json"), 1);
	oa_free(&a);
	CHECK_INT(live, 0);
}

/* ------------------------------------------------------------ resume */

static int
add_handler(void *ctx, oa_args *args, oa_result *out)
{
	double a, b;

	(void)ctx;
	if (oa_args_number(args, "a", &a) || oa_args_number(args, "b", &b))
		return 1;
	return oa_result_printf(out, "%g", a + b);
}

/* The harness's options with the one tool, run automatically. */
static void
adder_options(oa_options *o, const oa_tool *tool)
{
	options(o);
	o->system_prompt = "You add numbers.";
	o->tools = tool;
	o->ntools = 1;
	o->auto_execute_tools = 1;
}

static int
ask(oa_client *c, const char *prompt)
{
	const char *text;

	return oa_ask(c, prompt, &text, NULL);
}

#define CALL_TURN                                                            \
	"{'events':[" CHUNK("{'role':'assistant','content':'Adding.'}",       \
	"null") "," CHUNK("{'tool_calls':[{'index':0,'id':'call_1','type':"   \
	"'function','function':{'name':'add','arguments':"                    \
	"'{\\'a\\':2,\\'b\\':40}'}}]}", "null") ","                            \
	CHUNK("{}", "'tool_calls'") "," DONE "]}"
/* One conversation: a tool round (two requests), then a plain turn. */
#define CONVERSATION                                                         \
	CALL_TURN ",{'reply':'It is 42.'},{'reply':'You are welcome.'}"

/* save -> load in a new client -> continue sends exactly what the same
 * conversation sends without the break. */
static void
test_resume(void)
{
	static char want[64 * 1024];
	oa_tool tool = {"add", "Add two numbers", SCHEMA_AB,
	                add_handler, NULL};
	char path[128];
	oa_client a, b;
	oa_options o;

	tmppath(path, sizeof path, "resume.json");
	CHECK(start("[" CONVERSATION "," CONVERSATION "]") == 0);
	adder_options(&o, &tool);

	/* uninterrupted: requests 0, 1, 2 */
	CHECK_INT(oa_init(&a, &o), 0);
	CHECK_INT(ask(&a, "What is 2 + 40?"), 0);
	CHECK_INT(ask(&a, "Thanks!"), 0);
	oa_free(&a);

	/* the same, saved after the first question and resumed by a new
	 * client: requests 3, 4, 5 */
	CHECK_INT(oa_init(&a, &o), 0);
	CHECK_INT(ask(&a, "What is 2 + 40?"), 0);
	CHECK_INT(oa_history_save(&a, path), 0);
	oa_free(&a);
	CHECK_INT(oa_init(&b, &o), 0);
	CHECK_INT(oa_history_load(&b, path), 0);
	CHECK_INT(ask(&b, "Thanks!"), 0);
	oa_free(&b);
	stop();

	CHECK(request_body(2) != NULL);
	snprintf(want, sizeof want, "%s", request_body(2));
	CHECK_STR(request_body(5), want);
	/* and it is the whole conversation */
	CHECK_HAS(want, "{\"role\":\"system\",\"content\":\"You add "
	          "numbers.\"},{\"role\":\"user\",\"content\":\"What is 2 + "
	          "40?\"},{\"role\":\"assistant\",\"content\":\"Adding.\","
	          "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
	          "\"function\":{\"name\":\"add\",\"arguments\":"
	          "\"{\\\"a\\\":2,\\\"b\\\":40}\"}}]},{\"role\":\"tool\","
	          "\"tool_call_id\":\"call_1\",\"content\":\"42\"},"
	          "{\"role\":\"assistant\",\"content\":\"It is 42.\"},"
	          "{\"role\":\"user\",\"content\":\"Thanks!\"}]");
	CHECK(request_body(1) != NULL);
	snprintf(want, sizeof want, "%s", request_body(1));
	CHECK_STR(request_body(4), want);
	CHECK(request_body(6) == NULL);
}

static const struct test tests[] = {
	{"estimate_calibration", test_estimate_calibration},
	{"estimate_text", test_estimate_text},
	{"estimate_client", test_estimate_client},
	{"truncate", test_truncate},
	{"state", test_state},
	{"round_trip", test_round_trip},
	{"file_format", test_file_format},
	{"fault_before_rename", test_fault_before_rename},
	{"save_errors", test_save_errors},
	{"load_errors", test_load_errors},
	{"load_truncated", test_load_truncated},
	{"load_too_large", test_load_too_large},
	{"allocator", test_allocator},
	{"resume", test_resume},
	{NULL, NULL}
};

int
main(int argc, char **argv)
{
	return harness_main("test_context", argc, argv, tests);
}
