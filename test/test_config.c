/*
 * test_config.c -- configuration: provider names, the resolution order of
 * every setting, the configuration file parser and the search list.
 *
 * Files are written into a directory made with mkdtemp() and removed at
 * the end. The environment, the working directory and $HOME are changed
 * by some tests; each test sets what it relies on, and the search-list
 * test puts the directory and $HOME back however it ends.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openagent.h"
#include "test/test.h"

static char dir[64];      /* the temporary directory */
static char file[128];    /* dir/c.yaml, the file most tests write */

static int
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	if (fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/* Write text to the common file and load it. */
static int
load_text(oa_config *cfg, const char *text)
{
	if (write_file(file, text, strlen(text)) != 0)
		return 99;
	return oa_config_load(cfg, file);
}

static void
clear_env(void)
{
	unsetenv("OPEN_AGENT_BASE_URL");
	unsetenv("OPEN_AGENT_MODEL");
	unsetenv("OPEN_AGENT_API_KEY");
	unsetenv("OPENAI_BASE_URL");
	unsetenv("OPENAI_API_KEY");
}

/* ------------------------------------------------------------ providers */

static void
test_providers(void)
{
	CHECK_STR(oa_provider_url("lmstudio"), "http://localhost:1234/v1");
	CHECK_STR(oa_provider_url("ollama"), "http://localhost:11434/v1");
	CHECK_STR(oa_provider_url("llamacpp"), "http://localhost:8080/v1");
	CHECK_STR(oa_provider_url("vllm"), "http://localhost:8000/v1");
	CHECK_STR(oa_provider_url("OLLAMA"), "http://localhost:11434/v1");
	CHECK_STR(oa_provider_url("LlamaCpp"), "http://localhost:8080/v1");
	CHECK_STR(oa_provider_url("LMStudio"), "http://localhost:1234/v1");
	CHECK(oa_provider_url("ollam") == NULL);
	CHECK(oa_provider_url("ollamax") == NULL);
	CHECK(oa_provider_url("openai") == NULL);
	CHECK(oa_provider_url("") == NULL);
	CHECK(oa_provider_url(NULL) == NULL);
}

/* ----------------------------------------------------------- resolution */

static void
test_base_url_order(void)
{
	oa_config cfg;

	memset(&cfg, 0, sizeof cfg);
	clear_env();
	/* nothing at all: LM Studio's default */
	CHECK_STR(oa_config_base_url(NULL, NULL, NULL, 0),
	          "http://localhost:1234/v1");
	CHECK_STR(oa_config_base_url(&cfg, "", "", 0),
	          "http://localhost:1234/v1");
	/* an unknown provider is skipped */
	CHECK_STR(oa_config_base_url(NULL, NULL, "nosuch", 0),
	          "http://localhost:1234/v1");
	/* provider */
	CHECK_STR(oa_config_base_url(&cfg, NULL, "vllm", 0),
	          "http://localhost:8000/v1");
	/* fallback beats provider */
	CHECK_STR(oa_config_base_url(&cfg, "http://fb/v1", "vllm", 0),
	          "http://fb/v1");
	/* file beats fallback */
	strcpy(cfg.base_url, "http://file/v1");
	CHECK_STR(oa_config_base_url(&cfg, "http://fb/v1", "vllm", 0),
	          "http://file/v1");
	/* environment beats file; empty environment counts as unset */
	setenv("OPEN_AGENT_BASE_URL", "", 1);
	CHECK_STR(oa_config_base_url(&cfg, "http://fb/v1", "vllm", 0),
	          "http://file/v1");
	setenv("OPEN_AGENT_BASE_URL", "http://env/v1", 1);
	CHECK_STR(oa_config_base_url(&cfg, "http://fb/v1", "vllm", 0),
	          "http://env/v1");
	CHECK_STR(oa_config_base_url(NULL, NULL, NULL, 0), "http://env/v1");
	/* prefer_fallback: a non-empty fallback wins over everything */
	CHECK_STR(oa_config_base_url(&cfg, "http://fb/v1", "vllm", 1),
	          "http://fb/v1");
	/* ... and an empty or missing one changes nothing */
	CHECK_STR(oa_config_base_url(&cfg, "", "vllm", 1), "http://env/v1");
	CHECK_STR(oa_config_base_url(&cfg, NULL, "vllm", 1), "http://env/v1");
	unsetenv("OPEN_AGENT_BASE_URL");
	CHECK_STR(oa_config_base_url(&cfg, NULL, "vllm", 1), "http://file/v1");
	cfg.base_url[0] = '\0';
	CHECK_STR(oa_config_base_url(&cfg, NULL, "ollama", 1),
	          "http://localhost:11434/v1");
}

/* model and api_key share one chain; run it for both. */
typedef const char *(*getter)(const oa_config *, const char *, int);

static void
run_string_order(const char *env, getter get, size_t off)
{
	oa_config cfg;
	char *field = (char *)&cfg + off;

	memset(&cfg, 0, sizeof cfg);
	clear_env();
	CHECK(get(NULL, NULL, 0) == NULL);
	CHECK(get(&cfg, NULL, 0) == NULL);
	CHECK(get(&cfg, "", 0) == NULL);
	CHECK(get(&cfg, "", 1) == NULL);
	CHECK_STR(get(&cfg, "fb", 0), "fb");
	strcpy(field, "file");
	CHECK_STR(get(&cfg, "fb", 0), "file");
	CHECK_STR(get(&cfg, NULL, 0), "file");
	setenv(env, "", 1);
	CHECK_STR(get(&cfg, "fb", 0), "file");
	setenv(env, "env", 1);
	CHECK_STR(get(&cfg, "fb", 0), "env");
	CHECK_STR(get(NULL, NULL, 0), "env");
	CHECK_STR(get(&cfg, "fb", 1), "fb");
	CHECK_STR(get(&cfg, "", 1), "env");
	CHECK_STR(get(&cfg, NULL, 1), "env");
	unsetenv(env);
	CHECK_STR(get(&cfg, NULL, 1), "file");
	CHECK_STR(get(&cfg, "fb", 1), "fb");
}

static void
test_model_order(void)
{
	run_string_order("OPEN_AGENT_MODEL", oa_config_model,
	                 offsetof(oa_config, model));
}

static void
test_api_key_order(void)
{
	run_string_order("OPEN_AGENT_API_KEY", oa_config_api_key,
	                 offsetof(oa_config, api_key));
}

/* OPENAI_BASE_URL and OPENAI_API_KEY come right after OPEN_AGENT_*:
 * before the file, after a preferred fallback. */
static void
test_openai_env(void)
{
	oa_config cfg;

	memset(&cfg, 0, sizeof cfg);
	strcpy(cfg.base_url, "http://file/v1");
	strcpy(cfg.api_key, "file-key");
	clear_env();
	setenv("OPENAI_BASE_URL", "http://openai/v1", 1);
	setenv("OPENAI_API_KEY", "openai-key", 1);
	CHECK_STR(oa_config_base_url(&cfg, NULL, NULL, 0), "http://openai/v1");
	CHECK_STR(oa_config_api_key(&cfg, NULL, 0), "openai-key");
	CHECK_STR(oa_config_base_url(&cfg, "http://fb/v1", NULL, 1),
	          "http://fb/v1");
	setenv("OPEN_AGENT_BASE_URL", "http://env/v1", 1);
	setenv("OPEN_AGENT_API_KEY", "env-key", 1);
	CHECK_STR(oa_config_base_url(&cfg, NULL, NULL, 0), "http://env/v1");
	CHECK_STR(oa_config_api_key(&cfg, NULL, 0), "env-key");
	/* no OPENAI_MODEL: the model is not theirs to set */
	setenv("OPENAI_MODEL", "gpt", 1);
	CHECK(oa_config_model(NULL, NULL, 0) == NULL);
	unsetenv("OPENAI_MODEL");
	clear_env();
}

/* Each variable feeds only its own setting. */
static void
test_env_isolated(void)
{
	clear_env();
	setenv("OPEN_AGENT_MODEL", "m", 1);
	CHECK(oa_config_api_key(NULL, NULL, 0) == NULL);
	CHECK_STR(oa_config_base_url(NULL, NULL, NULL, 0),
	          "http://localhost:1234/v1");
	CHECK_STR(oa_config_model(NULL, NULL, 0), "m");
	clear_env();
}

/* ------------------------------------------------------------- the file */

static void
test_file_values(void)
{
	oa_config cfg;

	CHECK_INT(load_text(&cfg,
	    "# a comment\n"
	    "\n"
	    "   # an indented comment\n"
	    "base_url: http://localhost:8080/v1   # inline comment\n"
	    "model:\t\"qwen 2.5 # not a comment\"  # but this is\n"
	    "api_key: 'sk-#1 \\x'\n"
	    "temperature: 0.25\n"
	    "max_tokens: 512\n"
	    "   \t \n"),
	    0);
	CHECK_STR(cfg.base_url, "http://localhost:8080/v1");
	CHECK_STR(cfg.model, "qwen 2.5 # not a comment");
	CHECK_STR(cfg.api_key, "sk-#1 \\x");
	CHECK(cfg.has_temperature);
	CHECK(cfg.temperature == 0.25);
	CHECK(cfg.has_max_tokens);
	CHECK_INT(cfg.max_tokens, 512);
	CHECK_STR(cfg.path, file);
	CHECK_STR(cfg.error, "");
}

static void
test_file_details(void)
{
	oa_config cfg;

	/* a '#' without a blank before it is part of the value; CR LF line
	 * ends; spaces around the key; the last of a repeated key wins;
	 * escapes in double quotes only; an empty value is unset */
	CHECK_INT(load_text(&cfg,
	    "model: a#b\r\n"
	    "  api_key  :   \"q\\\"u\\\\o\\te\"\r\n"
	    "base_url: first\n"
	    "temperature:\n"
	    "max_tokens: # none\n"
	    "base_url: second"),
	    0);
	CHECK_STR(cfg.model, "a#b");
	CHECK_STR(cfg.api_key, "q\"u\\o\\te");
	CHECK_STR(cfg.base_url, "second");
	CHECK_INT(cfg.has_temperature, 0);
	CHECK_INT(cfg.has_max_tokens, 0);

	/* max_tokens 0 is kept: it means "send no limit", as oa's
	 * --max-tokens 0 does */
	CHECK_INT(load_text(&cfg, "max_tokens: 0\n"), 0);
	CHECK(cfg.has_max_tokens && cfg.max_tokens == 0);

	/* zero and two are the ends of the temperature range */
	CHECK_INT(load_text(&cfg, "temperature: 0\nmax_tokens: 2147483647\n"),
	          0);
	CHECK(cfg.has_temperature && cfg.temperature == 0.0);
	CHECK_INT(cfg.max_tokens, 2147483647);
	CHECK_INT(load_text(&cfg, "temperature: 2.0\n"), 0);
	CHECK(cfg.temperature == 2.0);
	CHECK_INT(load_text(&cfg, "temperature: .5e0\n"), 0);
	CHECK(cfg.temperature == 0.5);

	/* quoted empty strings and quotes of the other kind */
	CHECK_INT(load_text(&cfg, "model: ''\napi_key: \"it's\"\n"
	                          "base_url: 'say \"hi\"'\n"), 0);
	CHECK_STR(cfg.model, "");
	CHECK_STR(cfg.api_key, "it's");
	CHECK_STR(cfg.base_url, "say \"hi\"");

	/* an empty file */
	CHECK_INT(load_text(&cfg, ""), 0);
	CHECK_STR(cfg.path, file);
	CHECK_STR(cfg.model, "");
}

/* oa_config_load zeroes the struct first, success or not. */
static void
test_file_zeroes(void)
{
	oa_config cfg;

	memset(&cfg, 'x', sizeof cfg);
	cfg.has_temperature = cfg.has_max_tokens = 1;
	CHECK_INT(load_text(&cfg, "model: m\n"), 0);
	CHECK_STR(cfg.model, "m");
	CHECK_STR(cfg.base_url, "");
	CHECK_STR(cfg.api_key, "");
	CHECK_INT(cfg.has_temperature, 0);
	CHECK_INT(cfg.has_max_tokens, 0);
	CHECK_STR(cfg.error, "");

	memset(&cfg, 'x', sizeof cfg);
	CHECK_INT(load_text(&cfg, "model: m\nbad\n"), OA_ERR_CONFIG);
	CHECK_STR(cfg.base_url, "");
	CHECK_INT(oa_config_load(NULL, file), OA_ERR_INVALID);
}

/* Every error, with the line it is on. */
static void
test_file_errors(void)
{
#define TEMP "temperature must be a number from 0 to 2"
#define TOKENS "max_tokens must be an integer >= 0 (0: send no limit)"
#define KEYS "(known keys: base_url, model, api_key, temperature, max_tokens)"
#define UNKNOWN "unknown key " KEYS
#define NOT_KEY "not a key " KEYS "; is the ':' after the key missing?"
	static const struct {
		const char *text;
		int line;
		const char *why;
	} cases[] = {
		{"model: m\nno colon here\n", 2, "expected \"key: value\""},
		{"---\n", 1, "expected \"key: value\""},
		{"\n\n: value\n", 3, "missing key before ':'"},
		{"model: \"abc\n", 1, "unterminated quote"},
		{"# c\nmodel: 'abc\n", 2, "unterminated quote"},
		{"model: \"abc\\\"\n", 1, "unterminated quote"},
		{"model: \"abc\" def\n", 1, "text after the closing quote"},
		{"model: 'abc'#x\n", 1, "text after the closing quote"},
		{"api_key: 'abc\n", 1, "unterminated quote"},
		/* a misspelt or unknown key, or a ':' left out, is an error
		 * naming the keys known: silently ignored it would cost an
		 * hour of wondering why the setting does not apply */
		{"base-url: http://x\n", 1, NOT_KEY},
		{"base_url http://x\n", 1, NOT_KEY},
		{"Model: m\n", 1, NOT_KEY},
		{"model: m\nunknown_key: \"quoted, # and all\"\n", 2, UNKNOWN},
		{"tools: [a, b]\n", 1, UNKNOWN},
		{"nested:\n", 1, UNKNOWN},
		{"max_token: 5\n", 1, UNKNOWN},
		{"temperature: abc\n", 1, TEMP},
		{"temperature: 2.01\n", 1, TEMP},
		{"temperature: -0.5\n", 1, TEMP},
		{"temperature: 1x\n", 1, TEMP},
		{"temperature: nan\n", 1, TEMP},
		{"temperature: inf\n", 1, TEMP},
		{"temperature: 0x1\n", 1, TEMP},
		{"temperature: 1e-400\n", 1, TEMP},
		{"max_tokens: -5\n", 1, TOKENS},
		{"max_tokens: 1.5\n", 1, TOKENS},
		{"max_tokens: 12abc\n", 1, TOKENS},
		{"max_tokens: 2147483648\n", 1, TOKENS},
		{"max_tokens: 99999999999999999999999\n", 1, TOKENS},
	};
#undef TEMP
#undef TOKENS
#undef KEYS
#undef UNKNOWN
#undef NOT_KEY
	char want[512];
	oa_config cfg;
	size_t i;
	int r;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(want, sizeof want, "%s:%d: %s", file, cases[i].line,
		         cases[i].why);
		r = load_text(&cfg, cases[i].text);
		if (r != OA_ERR_CONFIG || strcmp(cfg.error, want) != 0)
			fprintf(stderr, "case %zu: %s", i, cases[i].text);
		CHECK_INT(r, OA_ERR_CONFIG);
		CHECK_STR(cfg.error, want);
	}
}

/* Each string field: the longest value that fits, and one byte more. */
static void
test_file_lengths(void)
{
	static const struct {
		const char *key;
		size_t size;
	} fields[] = {
		{"base_url", sizeof ((oa_config *)0)->base_url},
		{"model", sizeof ((oa_config *)0)->model},
		{"api_key", sizeof ((oa_config *)0)->api_key},
	};
	char text[1024], want[512];
	oa_config cfg;
	size_t i, n;

	for (i = 0; i < 3; i++) {
		n = (size_t)sprintf(text, "\n%s: ", fields[i].key);
		memset(text + n, 'v', fields[i].size - 1);
		strcpy(text + n + fields[i].size - 1, "  # fits\n");
		CHECK_INT(load_text(&cfg, text), 0);
		CHECK_INT(strlen(cfg.model) + strlen(cfg.base_url) +
		          strlen(cfg.api_key), fields[i].size - 1);

		n = (size_t)sprintf(text, "\n%s: '", fields[i].key);
		memset(text + n, 'v', fields[i].size);
		strcpy(text + n + fields[i].size, "'\n");
		CHECK_INT(load_text(&cfg, text), OA_ERR_CONFIG);
		snprintf(want, sizeof want, "%s:2: value too long", file);
		CHECK_STR(cfg.error, want);
	}
}

/* A line of 4096 bytes is read; 4097 is refused, ending in LF or not. */
static void
test_file_long_line(void)
{
	static char text[8192];
	char want[512];
	oa_config cfg;

	strcpy(text, "model: m\n# ");
	memset(text + 11, 'a', 4096 - 2);
	strcpy(text + 9 + 4096, "\nmax_tokens: 7\n");
	CHECK_INT(load_text(&cfg, text), 0);
	CHECK_INT(cfg.max_tokens, 7);

	snprintf(want, sizeof want, "%s:2: line longer than 4096 bytes",
	         file);
	memset(text + 11, 'a', 4096 - 1);
	strcpy(text + 9 + 4097, "\nmax_tokens: 7\n");
	CHECK_INT(load_text(&cfg, text), OA_ERR_CONFIG);
	CHECK_STR(cfg.error, want);
	text[9 + 4097] = '\0';
	CHECK_INT(load_text(&cfg, text), OA_ERR_CONFIG);
	CHECK_STR(cfg.error, want);
	/* a comment line is no exception */
	text[9] = '#';
	CHECK_INT(load_text(&cfg, text), OA_ERR_CONFIG);
	CHECK_STR(cfg.error, want);
}

static void
test_file_nul(void)
{
	static const char text[] = "model: m\n\nmodel: a\0b\n";
	char want[512];
	oa_config cfg;

	CHECK_INT(write_file(file, text, sizeof text - 1), 0);
	CHECK_INT(oa_config_load(&cfg, file), OA_ERR_CONFIG);
	snprintf(want, sizeof want, "%s:3: NUL byte in line", file);
	CHECK_STR(cfg.error, want);
}

/* A named file must exist and be readable. */
static void
test_file_missing(void)
{
	char path[256], want[512];
	oa_config cfg;

	snprintf(path, sizeof path, "%s/nosuch.yaml", dir);
	CHECK_INT(oa_config_load(&cfg, path), OA_ERR_CONFIG);
	snprintf(want, sizeof want, "%s: %s", path, strerror(ENOENT));
	CHECK_STR(cfg.error, want);
	CHECK_STR(cfg.path, "");

	/* a directory: fopen() may take it (glibc does) and the first read
	 * then fails, which is reported on line 1 */
	CHECK_INT(oa_config_load(&cfg, dir), OA_ERR_CONFIG);
	CHECK(strncmp(cfg.error, dir, strlen(dir)) == 0);
	CHECK_HAS(cfg.error, strerror(EISDIR));
}

/* The settings read from a file take their place in the chain. */
static void
test_file_then_resolve(void)
{
	oa_config cfg;

	clear_env();
	CHECK_INT(load_text(&cfg, "base_url: http://cfg:1/v1\nmodel: cm\n"),
	          0);
	CHECK_STR(oa_config_base_url(&cfg, "http://fb/v1", "ollama", 0),
	          "http://cfg:1/v1");
	CHECK_STR(oa_config_model(&cfg, "fm", 0), "cm");
	CHECK_STR(oa_config_api_key(&cfg, "fk", 0), "fk");
	CHECK(oa_config_api_key(&cfg, NULL, 0) == NULL);
}

/* --------------------------------------------------------- search list */

static char home[128], work[128];

static void
make_path(char *out, size_t size, const char *base, const char *rest)
{
	snprintf(out, size, "%s/%s", base, rest);
}

static void
search_list(void)
{
	char p1[256], p2[256], p3[256];
	oa_config cfg;

	make_path(p1, sizeof p1, home, ".open-agent.yaml");
	make_path(p2, sizeof p2, home, ".config/open-agent/config.yaml");
	make_path(p3, sizeof p3, work, "open-agent.yaml");

	/* none exists: not an error, path "" */
	memset(&cfg, 'x', sizeof cfg);
	CHECK_INT(oa_config_load(&cfg, NULL), 0);
	CHECK_STR(cfg.path, "");
	CHECK_STR(cfg.model, "");
	CHECK_STR(cfg.error, "");

	/* ~/.open-agent.yaml */
	CHECK_INT(write_file(p1, "model: dot\n", 11), 0);
	CHECK_INT(oa_config_load(&cfg, NULL), 0);
	CHECK_STR(cfg.path, p1);
	CHECK_STR(cfg.model, "dot");

	/* ~/.config/open-agent/config.yaml comes before it */
	CHECK_INT(write_file(p2, "model: xdg\n", 11), 0);
	CHECK_INT(oa_config_load(&cfg, NULL), 0);
	CHECK_STR(cfg.path, p2);
	CHECK_STR(cfg.model, "xdg");

	/* ./open-agent.yaml comes first */
	CHECK_INT(write_file(p3, "model: here\n", 12), 0);
	CHECK_INT(oa_config_load(&cfg, NULL), 0);
	CHECK_STR(cfg.path, "./open-agent.yaml");
	CHECK_STR(cfg.model, "here");

	/* an explicit path bypasses the list */
	CHECK_INT(oa_config_load(&cfg, p1), 0);
	CHECK_STR(cfg.model, "dot");

	/* without $HOME only the working directory is searched */
	unsetenv("HOME");
	CHECK_INT(unlink(p3), 0);
	CHECK_INT(oa_config_load(&cfg, NULL), 0);
	CHECK_STR(cfg.path, "");
	setenv("HOME", "", 1);
	CHECK_INT(oa_config_load(&cfg, NULL), 0);
	CHECK_STR(cfg.path, "");
	setenv("HOME", home, 1);

	/* the first found is the one read, errors and all: no fall-through */
	CHECK_INT(write_file(p2, "model: xdg\nmodel 'broken\n", 25), 0);
	CHECK_INT(oa_config_load(&cfg, NULL), OA_ERR_CONFIG);
	CHECK_HAS(cfg.error, p2);
	CHECK_HAS(cfg.error, ":2: expected \"key: value\"");

	/* a file that exists but cannot be opened is an error too, unless
	 * the test runs as root, who can open anything */
	if (geteuid() != 0) {
		CHECK_INT(chmod(p2, 0), 0);
		CHECK_INT(oa_config_load(&cfg, NULL), OA_ERR_CONFIG);
		CHECK_HAS(cfg.error, strerror(EACCES));
	}
}

static void
test_search_list(void)
{
	char cwd[512], dotconfig[256], oadir[256], path[512];
	char *old_home = getenv("HOME");
	char saved_home[512];

	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK(old_home == NULL || strlen(old_home) < sizeof saved_home);
	if (old_home)
		strcpy(saved_home, old_home);
	make_path(home, sizeof home, dir, "home");
	make_path(work, sizeof work, dir, "work");
	make_path(dotconfig, sizeof dotconfig, home, ".config");
	make_path(oadir, sizeof oadir, home, ".config/open-agent");
	CHECK_INT(mkdir(home, 0700), 0);
	CHECK_INT(mkdir(work, 0700), 0);
	CHECK_INT(mkdir(dotconfig, 0700), 0);
	CHECK_INT(mkdir(oadir, 0700), 0);
	CHECK_INT(chdir(work), 0);
	setenv("HOME", home, 1);

	search_list();

	/* put everything back whatever happened */
	if (chdir(cwd) != 0)
		test_failed_ = 1;
	if (old_home)
		setenv("HOME", saved_home, 1);
	else
		unsetenv("HOME");
	make_path(path, sizeof path, home, ".open-agent.yaml");
	unlink(path);
	make_path(path, sizeof path, oadir, "config.yaml");
	unlink(path);
	make_path(path, sizeof path, work, "open-agent.yaml");
	unlink(path);
	rmdir(oadir);
	rmdir(dotconfig);
	rmdir(home);
	rmdir(work);
}

static const struct test tests[] = {
	{"providers", test_providers},
	{"base_url_order", test_base_url_order},
	{"model_order", test_model_order},
	{"api_key_order", test_api_key_order},
	{"env_isolated", test_env_isolated},
	{"openai_env", test_openai_env},
	{"file_values", test_file_values},
	{"file_details", test_file_details},
	{"file_zeroes", test_file_zeroes},
	{"file_errors", test_file_errors},
	{"file_lengths", test_file_lengths},
	{"file_long_line", test_file_long_line},
	{"file_nul", test_file_nul},
	{"file_missing", test_file_missing},
	{"file_then_resolve", test_file_then_resolve},
	{"search_list", test_search_list},
	{NULL, NULL}
};

int
main(int argc, char **argv)
{
	int r;

	strcpy(dir, "/tmp/oa_test_config.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(file, sizeof file, "%s/c.yaml", dir);
	r = test_main("test_config", argc, argv, tests);
	unlink(file);
	if (rmdir(dir) != 0)
		fprintf(stderr, "test_config: %s left behind\n", dir);
	return r;
}
