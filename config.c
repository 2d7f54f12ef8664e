/*
 * config.c -- where a program's settings come from when it does not say.
 *
 * Two jobs, both optional for a library user: reading the small
 * configuration file (oa_config_load) and resolving one setting through
 * the chain environment -> file -> program fallback -> provider default
 * (oa_config_base_url and friends). Nothing here touches the network or a
 * client, and nothing is allocated: the file is read one line at a time
 * into a fixed buffer on the stack, and every value lands in the caller's
 * oa_config, whose fixed-size fields are the only storage.
 *
 * The parser has no states beyond "the current line": the format is flat,
 * so each line is a blank, a comment or one "key: value" pair, judged on
 * its own. Anything it does not understand is an error naming the file and
 * line, because a silently ignored typo in a settings file costs the user
 * far more time than a clear refusal; that includes an unknown key, which
 * is most often a misspelt one (base-url), and names the keys known.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oa_private.h"

/* The longest line accepted, not counting its line end. */
#define LINE_MAX_BYTES 4096

/* ------------------------------------------------------------- providers */

static const struct {
	const char *name;
	const char *url;
} providers[] = {
	{"lmstudio", "http://localhost:1234/v1"},
	{"ollama", "http://localhost:11434/v1"},
	{"llamacpp", "http://localhost:8080/v1"},
	{"vllm", "http://localhost:8000/v1"},
};

/* ASCII only: provider names are ASCII, and tolower() would depend on the
 * locale. */
static int
same_name(const char *a, const char *b)
{
	for (;; a++, b++) {
		int x = (unsigned char)*a, y = (unsigned char)*b;
		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
		if (x == 0)
			return 1;
	}
}

/* see openagent.h */
const char *
oa_provider_url(const char *provider)
{
	size_t i;

	if (provider == NULL)
		return NULL;
	for (i = 0; i < sizeof providers / sizeof providers[0]; i++)
		if (same_name(provider, providers[i].name))
			return providers[i].url;
	return NULL;
}

/* ------------------------------------------------------------ resolution */

/* NULL and "" both mean "not set", wherever a value comes from. */
static const char *
set(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* The chain shared by all three settings: a preferred fallback, the
 * environment, the file, the fallback. NULL when none of them is set. */
static const char *
resolve(const char *env, const char *env2, const char *file,
        const char *fallback, int prefer_fallback)
{
	const char *v;

	if (prefer_fallback && set(fallback))
		return fallback;
	if ((v = set(getenv(env))) != NULL)
		return v;
	/* OPENAI_BASE_URL and OPENAI_API_KEY, which most OpenAI-compatible
	 * tools read, come after our own variables. */
	if (env2 != NULL && (v = set(getenv(env2))) != NULL)
		return v;
	if ((v = set(file)) != NULL)
		return v;
	return set(fallback);
}

/* see openagent.h */
const char *
oa_config_base_url(const oa_config *cfg, const char *fallback,
                   const char *provider, int prefer_fallback)
{
	const char *v;

	v = resolve("OPEN_AGENT_BASE_URL", "OPENAI_BASE_URL",
	            cfg ? cfg->base_url : NULL, fallback, prefer_fallback);
	if (v == NULL)
		v = oa_provider_url(provider);
	return v ? v : providers[0].url;
}

/* see openagent.h */
const char *
oa_config_model(const oa_config *cfg, const char *fallback,
                int prefer_fallback)
{
	return resolve("OPEN_AGENT_MODEL", NULL, cfg ? cfg->model : NULL,
	               fallback, prefer_fallback);
}

/* see openagent.h */
const char *
oa_config_api_key(const oa_config *cfg, const char *fallback,
                  int prefer_fallback)
{
	return resolve("OPEN_AGENT_API_KEY", "OPENAI_API_KEY",
	               cfg ? cfg->api_key : NULL, fallback, prefer_fallback);
}

/* ------------------------------------------------------------ the file */

static int
blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Read one line into line[0..LINE_MAX_BYTES], without its LF. Returns 1
 * for a line, 0 at the end of the file, or a negative code with *why set:
 * -1 too long, -2 a NUL byte, -3 a read error (errno says which). */
static int
read_line(FILE *f, char *line, const char **why)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (n == LINE_MAX_BYTES) {
			*why = "line longer than 4096 bytes";
			return -1;
		}
		if (ch == '\0') {
			*why = "NUL byte in line";
			return -2;
		}
		line[n++] = (char)ch;
	}
	line[n] = '\0';
	if (ch == EOF && ferror(f)) {
		*why = strerror(errno);
		return -3;
	}
	return ch != EOF || n > 0;
}

/*
 * Cut the value out of the text after a key's ':' in place; *out points to
 * it, NUL-terminated. Returns NULL, or what is wrong with it.
 */
static const char *
parse_value(char *s, char **out)
{
	char *p, *w, q;

	while (blank(*s))
		s++;
	if (*s == '"' || *s == '\'') {
		/* Quoted: copy down over the escapes as they are undone, so
		 * the value is unescaped in place. */
		q = *s++;
		for (p = w = s; *p != q; p++) {
			if (*p == '\0')
				return "unterminated quote";
			if (q == '"' && *p == '\\' &&
			    (p[1] == '"' || p[1] == '\\'))
				p++;
			*w++ = *p;
		}
		for (p++; blank(*p); p++)
			;
		if (*p != '\0' && !(*p == '#' && blank(p[-1])))
			return "text after the closing quote";
		*w = '\0';
		*out = s;
		return NULL;
	}
	/* Unquoted: a '#' starts a comment only after a blank, as in YAML,
	 * so "key: a#b" keeps its '#'. p[-1] is at worst the ':'. */
	for (p = s; *p != '\0'; p++)
		if (*p == '#' && blank(p[-1]))
			break;
	while (p > s && blank(p[-1]))
		p--;
	*p = '\0';
	*out = s;
	return NULL;
}

/* Copy v into a fixed field; NULL, or what is wrong. */
static const char *
put_string(char *field, size_t size, const char *v)
{
	size_t n = strlen(v);

	if (n >= size)
		return "value too long";
	memcpy(field, v, n + 1);
	return NULL;
}

/* A plain decimal: no sign, hex, inf or nan, which strtod() alone would
 * take. strtod() reads '.' as the decimal point in the "C" locale, which
 * is in force unless the program calls setlocale(). */
static const char *
put_temperature(oa_config *cfg, const char *v)
{
	char *end;
	double t;

	if (!((*v >= '0' && *v <= '9') || *v == '.') ||
	    v[strspn(v, "0123456789.eE+-")] != '\0')
		return "temperature must be a number from 0 to 2";
	errno = 0;
	t = strtod(v, &end);
	if (*end != '\0' || errno != 0 || !(t >= 0.0 && t <= 2.0))
		return "temperature must be a number from 0 to 2";
	cfg->temperature = t;
	cfg->has_temperature = 1;
	return NULL;
}

static const char *
put_max_tokens(oa_config *cfg, const char *v)
{
	long n = 0;
	const char *p;

	for (p = v; *p >= '0' && *p <= '9'; p++)
		if ((n = n * 10 + (*p - '0')) > 0x7fffffffL)
			break;
	if (p == v || *p != '\0' || n > 0x7fffffffL)
		return "max_tokens must be an integer >= 0 (0: send no limit)";
	cfg->max_tokens = (int)n;
	cfg->has_max_tokens = 1;
	return NULL;
}

#define KNOWN_KEYS "base_url, model, api_key, temperature, max_tokens"

static int
known_key(const char *key)
{
	static const char *const keys[] = {
		"base_url", "model", "api_key", "temperature", "max_tokens"
	};
	size_t i;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(key, keys[i]) == 0)
			return 1;
	return 0;
}

/* One line: NULL when it is fine, else what is wrong. */
static const char *
parse_line(oa_config *cfg, char *line)
{
	char *key, *colon, *end, *v;
	const char *why;

	for (key = line; blank(*key); key++)
		;
	if (*key == '\0' || *key == '#')
		return NULL;
	colon = strchr(key, ':');
	if (colon == NULL)
		return "expected \"key: value\"";
	for (end = colon; end > key && blank(end[-1]); end--)
		;
	*end = '\0';
	if (end == key)
		return "missing key before ':'";
	/* A key is one word: "base_url http://x" (the ':' forgotten) would
	 * otherwise read as the key "base_url http". */
	if (key[strspn(key, "abcdefghijklmnopqrstuvwxyz_")] != '\0')
		return "not a key (known keys: " KNOWN_KEYS "); is the ':' "
		       "after the key missing?";
	if (!known_key(key))
		return "unknown key (known keys: " KNOWN_KEYS ")";
	if ((why = parse_value(colon + 1, &v)) != NULL)
		return why;
	if (*v == '\0') /* "key:" with nothing: unset, as in YAML */
		return NULL;
	if (strcmp(key, "base_url") == 0)
		return put_string(cfg->base_url, sizeof cfg->base_url, v);
	if (strcmp(key, "model") == 0)
		return put_string(cfg->model, sizeof cfg->model, v);
	if (strcmp(key, "api_key") == 0)
		return put_string(cfg->api_key, sizeof cfg->api_key, v);
	if (strcmp(key, "temperature") == 0)
		return put_temperature(cfg, v);
	if (strcmp(key, "max_tokens") == 0)
		return put_max_tokens(cfg, v);
	return "unknown key";
}

static int
load_file(oa_config *cfg, FILE *f)
{
	char line[LINE_MAX_BYTES + 1];
	const char *why = NULL;
	long lineno = 0;
	int r;

	while ((r = read_line(f, line, &why)) > 0) {
		lineno++;
		if ((why = parse_line(cfg, line)) != NULL)
			break;
	}
	if (r < 0)
		lineno++;
	if (why == NULL)
		return 0;
	return oa__fail(cfg->error, OA_ERR_CONFIG, "%s:%ld: %s", cfg->path,
	                lineno, why);
}

/* Open path if it exists. 1 opened, 0 does not exist (only when may_miss),
 * or OA_ERR_CONFIG. */
static int
open_file(oa_config *cfg, const char *path, int may_miss, FILE **f)
{
	if (strlen(path) >= sizeof cfg->path)
		return oa__fail(cfg->error, OA_ERR_CONFIG, "%.200s...: path "
		                "too long", path);
	*f = fopen(path, "r");
	if (*f == NULL) {
		if (may_miss && (errno == ENOENT || errno == ENOTDIR))
			return 0;
		return oa__fail(cfg->error, OA_ERR_CONFIG, "%s: %s", path,
		                strerror(errno));
	}
	strcpy(cfg->path, path);
	return 1;
}

/* see openagent.h */
int
oa_config_load(oa_config *cfg, const char *path)
{
	static const char *const under_home[] = {
		"/.config/open-agent/config.yaml",
		"/.open-agent.yaml",
		NULL
	};
	char candidate[sizeof cfg->path];
	const char *home;
	FILE *f = NULL;
	size_t i;
	int r;

	if (cfg == NULL)
		return OA_ERR_INVALID;
	memset(cfg, 0, sizeof *cfg);
	if (path != NULL) {
		r = open_file(cfg, path, 0, &f);
	} else {
		r = open_file(cfg, "./open-agent.yaml", 1, &f);
		home = set(getenv("HOME"));
		for (i = 0; r == 0 && home && under_home[i]; i++) {
			if (strlen(home) + strlen(under_home[i]) >=
			    sizeof candidate)
				return oa__fail(cfg->error, OA_ERR_CONFIG,
				                "$HOME is too long");
			strcpy(candidate, home);
			strcat(candidate, under_home[i]);
			r = open_file(cfg, candidate, 1, &f);
		}
	}
	if (r <= 0)
		return r;
	r = load_file(cfg, f);
	fclose(f);
	return r;
}
