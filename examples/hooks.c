/*
 * hooks.c -- watch and steer an agent with lifecycle hooks.
 *
 *     hooks [--log FILE] [BASE_URL [MODEL [PROMPT]]]
 *
 * Hooks are functions the library calls at three moments: before a prompt
 * is sent (user_prompt_submit), before a tool runs (pre_tool_use) and
 * after it ran (post_tool_use). A hook allows, blocks, or replaces what it
 * is shown. This program registers four:
 *
 *   - a prompt sanitizer: anything that looks like an API key ("sk-..."),
 *     is replaced by "[redacted]" before the prompt is sent or kept;
 *   - a security gate: the delete_file tool, and any argument holding
 *     "..", are blocked; the model is told why, as the tool result;
 *   - a sandbox redirect: the path argument of read_file is rewritten to
 *     the same file name under sandbox/, wherever the model pointed it;
 *   - an audit log: every tool that ran is appended to FILE (--log), or
 *     written to standard error.
 *
 * The steps:
 *   1. Declare the tools, each with a handler (auto mode).
 *   2. Declare the hooks, in the order they should run: for one event the
 *      first decision other than "allow" wins, so the gate comes before
 *      the redirect.
 *   3. Ask once, and print the blocks.
 *   4. Tell a clean end from an error.
 *
 * The tools only pretend to read and delete files, so the example is safe
 * to run anywhere. BASE_URL, MODEL and the API key not given come from
 * OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL and OPEN_AGENT_API_KEY, then the
 * configuration file, then (the URL) LM Studio's
 * http://localhost:1234/v1, as in every example. Exit status 0 when the
 * turn ended cleanly, 1 on an error, 2 on a usage error.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openagent.h"

#define USAGE "usage: hooks [--log FILE] [BASE_URL [MODEL [PROMPT]]]\n"
#define SETTINGS \
	"BASE_URL, MODEL and the API key not given here come from\n" \
	"OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL, OPEN_AGENT_API_KEY,\n" \
	"then the first of ./open-agent.yaml, " \
	"~/.config/open-agent/config.yaml,\n" \
	"~/.open-agent.yaml; the URL defaults to LM Studio's\n" \
	"http://localhost:1234/v1.\n"

/* --help: the usage on standard output, status 0; a wrong argument: what
 * is wrong and the usage on standard error, status 2. */
static int
usage(const char *why, const char *arg)
{
	if (why == NULL) {
		fputs(USAGE "Ask PROMPT (by default one that trips every hook) "
		      "with four hooks\ninstalled; --log FILE appends the "
		      "audit log to FILE.\n" SETTINGS, stdout);
		return 0;
	}
	fprintf(stderr, "hooks: %s%s\n" USAGE, why, arg);
	return 2;
}

/* --------------------------------------------------------------- tools */

/* 1a. Stand-ins for real file tools: they say what they would do. The
 * library has checked the schema "path:string" already. */
static int
read_file(void *ctx, oa_args *args, oa_result *out)
{
	const char *path;
	size_t len;

	(void)ctx;
	if (oa_args_string(args, "path", &path, &len) != 0) {
		oa_result_puts(out, "path must be a string");
		return 1;
	}
	return oa_result_printf(out, "pretend contents of %s", path) != 0;
}

static int
delete_file(void *ctx, oa_args *args, oa_result *out)
{
	const char *path;
	size_t len;

	(void)ctx;
	if (oa_args_string(args, "path", &path, &len) != 0) {
		oa_result_puts(out, "path must be a string");
		return 1;
	}
	return oa_result_printf(out, "pretend deleted %s", path) != 0;
}

/* ------------------------------------------------------------- helpers */

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* The JSON string just after its opening quote at p, copied into out (or
 * skipped when out is NULL). Returns the byte after its closing quote, or
 * NULL when it is malformed, too long, or has an escape not decoded here. */
static const char *
read_string(const char *p, char *out, size_t outsz)
{
	size_t n = 0;
	char ch;

	for (; *p != '"'; p++) {
		if ((unsigned char)(ch = *p) < 0x20)
			return NULL;
		if (ch == '\\') {
			switch (*++p) {
			case '"': case '\\': case '/': ch = *p; break;
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			default: return NULL;
			}
		}
		if (out != NULL) {
			if (n + 1 >= outsz)
				return NULL;
			out[n++] = ch;
		}
	}
	if (out != NULL)
		out[n] = '\0';
	return p + 1;
}

/* The string member key of a flat JSON object text, such as the arguments
 * {"path":"notes.txt"}, copied into out. A real program would use its
 * JSON parser; this reader handles plain strings (no \u escapes) in flat
 * objects, which is all the hooks below need. Returns 0 or -1. */
static int
json_string(const char *json, const char *key, char *out, size_t outsz)
{
	char name[64];
	const char *p = skip_ws(json);

	if (*p++ != '{')
		return -1;
	for (;;) {
		p = skip_ws(p);
		if (*p++ != '"' ||
		    (p = read_string(p, name, sizeof name)) == NULL)
			return -1;
		p = skip_ws(p);
		if (*p++ != ':')
			return -1;
		p = skip_ws(p);
		if (strcmp(name, key) == 0)
			return *p == '"' &&
			       read_string(p + 1, out, outsz) != NULL ? 0 : -1;
		if (*p == '"')
			p = read_string(p + 1, NULL, 0);
		else
			p += strcspn(p, ",{}[]");
		if (p == NULL || *(p = skip_ws(p)) != ',')
			return -1;
		p++;
	}
}

/* --------------------------------------------------------------- hooks */

/*
 * 2a. The prompt sanitizer (user_prompt_submit). An API key is "sk-"
 * followed by at least 8 letters, digits, '-' or '_', at the start of a
 * word. "[redacted]" is never longer than what it replaces, so the new
 * prompt fits in a buffer the size of the old one. The reply text must
 * only outlive the hook's return until the library copies it, which it
 * does at once; the buffer lives in ctx so it can be freed at the end.
 */
static size_t
key_len(const char *p)
{
	size_t n = 3;

	if (strncmp(p, "sk-", 3) != 0)
		return 0;
	while (isalnum((unsigned char)p[n]) || p[n] == '-' || p[n] == '_')
		n++;
	return n >= 3 + 8 ? n : 0;
}

static oa_hook_decision
sanitize_prompt(void *ctx, const oa_hook_event *ev, oa_hook_reply *reply)
{
	char **buf = ctx;
	const char *p = ev->prompt;
	char *o;
	size_t n;
	int changed = 0;

	free(*buf);
	if ((*buf = o = malloc(strlen(p) + 1)) == NULL) {
		/* Better to send nothing than a key. */
		reply->text = "out of memory while checking the prompt";
		return OA_HOOK_BLOCK;
	}
	while (*p != '\0') {
		n = key_len(p);
		if (n > 0 && (p == ev->prompt ||
		              !isalnum((unsigned char)p[-1]))) {
			memcpy(o, "[redacted]", 10);
			o += 10;
			p += n;
			changed = 1;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	if (!changed)
		return OA_HOOK_ALLOW;
	reply->text = *buf;
	return OA_HOOK_REPLACE;
}

/*
 * 2b. The security gate (pre_tool_use). A blocked call is not run; the
 * model gets "blocked: <reason>" as its result, and the turn goes on. The
 * gate writes its refusals to the audit log too: post_tool_use only sees
 * tools that ran.
 */
static oa_hook_decision
gate(void *ctx, const oa_hook_event *ev, oa_hook_reply *reply)
{
	FILE *log = ctx;

	if (strcmp(ev->tool_name, "delete_file") == 0)
		reply->text = "deleting files is not allowed";
	else if (strstr(ev->input, "..") != NULL)
		reply->text = "arguments may not contain \"..\"";
	else
		return OA_HOOK_ALLOW;
	fprintf(log, "blocked %s %s %s: %s\n", ev->tool_id, ev->tool_name,
	        ev->input, reply->text);
	fflush(log);
	return OA_HOOK_BLOCK;
}

/*
 * 2c. The sandbox redirect (pre_tool_use). Whatever path the model gives
 * read_file, the tool reads the file of that name under sandbox/. The
 * new input must be a whole JSON object; it is built from a file name
 * limited to characters that need no escaping, and any other name is
 * refused. ctx is the buffer the new input is written to.
 */
struct redirect {
	char input[128];
};

static oa_hook_decision
redirect(void *ctx, const oa_hook_event *ev, oa_hook_reply *reply)
{
	struct redirect *rd = ctx;
	char path[256];
	const char *base;

	if (strcmp(ev->tool_name, "read_file") != 0)
		return OA_HOOK_ALLOW;
	if (json_string(ev->input, "path", path, sizeof path) != 0) {
		reply->text = "path must be a plain string";
		return OA_HOOK_BLOCK;
	}
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (base[0] == '\0' || base[0] == '.' || strlen(base) > 64 ||
	    base[strspn(base, "abcdefghijklmnopqrstuvwxyz"
	                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")]
	        != '\0') {
		reply->text = "file names may only hold letters, digits, "
		              "'.', '_' and '-'";
		return OA_HOOK_BLOCK;
	}
	if (base == path + 8 && strncmp(path, "sandbox/", 8) == 0)
		return OA_HOOK_ALLOW; /* already in the sandbox */
	snprintf(rd->input, sizeof rd->input,
	         "{\"path\":\"sandbox/%.64s\"}", base);
	reply->text = rd->input;
	return OA_HOOK_REPLACE;
}

/* 2d. The audit log (post_tool_use): observe only, the decision is
 * ignored. The input is the one the tool ran with, after any redirect. */
static oa_hook_decision
audit(void *ctx, const oa_hook_event *ev, oa_hook_reply *reply)
{
	FILE *log = ctx;

	(void)reply;
	fprintf(log, "ran %s %s %s -> %s%s\n", ev->tool_id, ev->tool_name,
	        ev->input, ev->is_error ? "error: " : "", ev->result);
	fflush(log);
	return OA_HOOK_ALLOW;
}

/* -------------------------------------------------------------- output */

static void
print_block(const oa_block *b, int *text_open)
{
	if (b->type == OA_BLOCK_TEXT) {
		fwrite(b->text, 1, b->text_len, stdout);
		if (b->text_len > 0)
			*text_open = b->text[b->text_len - 1] != '\n';
		return;
	}
	if (b->type == OA_BLOCK_THINKING)
		return;
	if (*text_open)
		putchar('\n');
	*text_open = 0;
	switch (b->type) {
	case OA_BLOCK_TOOL_USE:
		printf("[tool_use %s] %s %s\n", b->id, b->name, b->input);
		break;
	case OA_BLOCK_TOOL_USE_ERROR:
		printf("[tool_use_error %s] %s: %s\n", b->id, b->name, b->text);
		break;
	case OA_BLOCK_TOOL_RESULT:
		printf("[tool_result %s] %s\n", b->id, b->text);
		break;
	case OA_BLOCK_TURN_END:
		printf("[turn_end] %s\n", b->finish_reason);
		break;
	default:
		break;
	}
}

/* ---------------------------------------------------------------- main */

int
main(int argc, char **argv)
{
	const oa_tool tools[2] = {
		{"read_file", "Read a text file.", "path:string", read_file,
		 NULL},
		{"delete_file", "Delete a file.", "path:string", delete_file,
		 NULL},
	};
	const char *prompt = "Summarise /home/me/notes.txt and ../secret.txt, "
	                     "then delete notes.txt. My key is "
	                     "sk-live1234567890abcdef.";
	struct redirect rd;
	char *clean_prompt = NULL;
	FILE *log = stderr;
	const char *pos[3] = {NULL, NULL, NULL}, *log_path = NULL;
	oa_hook hooks[4];
	oa_options opt = {0};
	oa_config cfg;
	oa_client c;
	oa_block b;
	int r, i, npos = 0, text_open = 0;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return usage(NULL, NULL);
		if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
			log_path = argv[++i];
		else if (argv[i][0] == '-')
			return usage(strcmp(argv[i], "--log") == 0 ?
			             "a value is missing after " :
			             "unknown option ", argv[i]);
		else if (npos == 3)
			return usage("too many arguments: ", argv[i]);
		else
			pos[npos++] = argv[i];
	}
	if ((r = oa_config_load(&cfg, NULL)) != 0) {
		fprintf(stderr, "hooks: %s: %s\n", oa_strerror(r),
		        cfg.error);
		return 1;
	}
	opt.base_url = oa_config_base_url(&cfg, pos[0], NULL, pos[0] != NULL);
	opt.model = oa_config_model(&cfg, pos[1], pos[1] != NULL);
	opt.api_key = oa_config_api_key(&cfg, NULL, 0);
	if (pos[2] != NULL)
		prompt = pos[2];

	/* The audit log is opened for appending, so runs add up. */
	if (log_path != NULL && (log = fopen(log_path, "a")) == NULL) {
		perror(log_path);
		return 1;
	}

	/* 2e. The hook table, in running order within each kind. The
	 * ctx pointers are ours and must outlive the client. */
	hooks[0].kind = OA_HOOK_USER_PROMPT_SUBMIT;
	hooks[0].fn = sanitize_prompt;
	hooks[0].ctx = &clean_prompt;
	hooks[1].kind = OA_HOOK_PRE_TOOL_USE;
	hooks[1].fn = gate;
	hooks[1].ctx = log;
	hooks[2].kind = OA_HOOK_PRE_TOOL_USE;
	hooks[2].fn = redirect;
	hooks[2].ctx = &rd;
	hooks[3].kind = OA_HOOK_POST_TOOL_USE;
	hooks[3].fn = audit;
	hooks[3].ctx = log;

	opt.tools = tools;
	opt.ntools = 2;
	opt.auto_execute_tools = 1;
	opt.hooks = hooks;
	opt.nhooks = 4;
	if ((r = oa_init(&c, &opt)) == 0) {
		/* 3. A blocked prompt would make oa_query() itself fail with
		 * OA_ERR_HOOK; a replaced one is sent and kept instead. */
		r = oa_query(&c, prompt);
		while (r >= 0 && (r = oa_next(&c, &b)) > 0)
			print_block(&b, &text_open);
		if (text_open)
			putchar('\n');
	}

	/* 4. r == 0 is a clean end; r < 0 an oa_err with its detail. */
	if (r < 0)
		fprintf(stderr, "hooks: %s: %s\n", oa_strerror(r),
		        oa_errmsg(&c));
	oa_free(&c);
	free(clean_prompt);
	if (log != stderr)
		fclose(log);
	return r < 0;
}
