/*
 * fuzz_config.c -- the two parsers of user-supplied settings: base URLs
 * (oa__url_parse in net.c) and configuration files (config.c).
 *
 * Input: byte 0 even: the rest, up to its first NUL, is a URL; odd: the
 * rest is a configuration file, read through fmemopen() by the same
 * line reader oa_config_load() uses. Checks: every field comes back
 * NUL-terminated inside its array, a parsed URL has a numeric port and a
 * path that is empty or starts with '/', and every failure says why.
 */
#include "../util.c"
#include "../net.c"
#include "../config.c"

#define FUZZ_NAME "config"
#include "fuzz.h"

static void
url(const char *s, size_t n)
{
	char *z = malloc(n + 1), err[OA__ERRLEN] = "";
	oa__url u;
	size_t i;

	FUZZ_CHECK(z != NULL);
	memcpy(z, s, n);
	z[n] = '\0';
	if (oa__url_parse(&u, z, err) != 0) {
		FUZZ_CHECK(err[0] != '\0' && strlen(err) < OA__ERRLEN);
	} else {
		FUZZ_CHECK(memchr(u.host, '\0', sizeof u.host) && u.host[0]);
		FUZZ_CHECK(memchr(u.path, '\0', sizeof u.path));
		FUZZ_CHECK(u.path[0] == '\0' || u.path[0] == '/');
		FUZZ_CHECK(u.port[0] != '\0' &&
		           strtol(u.port, NULL, 10) >= 1 &&
		           strtol(u.port, NULL, 10) <= 65535);
		for (i = 0; u.port[i]; i++)
			FUZZ_CHECK(u.port[i] >= '0' && u.port[i] <= '9');
	}
	free(z);
}

static void
config(const char *s, size_t n)
{
	oa_config cfg;
	FILE *f;
	int r;

	memset(&cfg, 0, sizeof cfg);
	strcpy(cfg.path, "fuzz.yaml");
	/* fmemopen needs a buffer; a zero-sized one is refused by some
	 * C libraries, so the empty file is a one-byte buffer read as "" */
	f = fmemopen((void *)(uintptr_t)(n ? s : "\n"), n ? n : 1, "r");
	FUZZ_CHECK(f != NULL);
	r = load_file(&cfg, f);
	fclose(f);
	if (r != 0) {
		FUZZ_CHECK(r == OA_ERR_CONFIG);
		FUZZ_CHECK(strncmp(cfg.error, "fuzz.yaml:", 10) == 0);
	}
	FUZZ_CHECK(memchr(cfg.base_url, '\0', sizeof cfg.base_url));
	FUZZ_CHECK(memchr(cfg.model, '\0', sizeof cfg.model));
	FUZZ_CHECK(memchr(cfg.api_key, '\0', sizeof cfg.api_key));
	FUZZ_CHECK(memchr(cfg.error, '\0', sizeof cfg.error));
	if (cfg.has_temperature)
		FUZZ_CHECK(cfg.temperature >= 0 && cfg.temperature <= 2);
	if (cfg.has_max_tokens) /* 0: leave it out, as --max-tokens 0 */
		FUZZ_CHECK(cfg.max_tokens >= 0);
	FUZZ_CHECK(oa_config_base_url(&cfg, NULL, "ollama", 0) != NULL);
	oa_config_model(&cfg, "m", 0);
	oa_config_api_key(&cfg, NULL, 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned what = fuzz_byte(&in);
	char *s = fuzz_copy(&in);
	const char *nul;

	if (what & 1) {
		config(s, in.n);
	} else {
		nul = s ? memchr(s, '\0', in.n) : NULL;
		url(s ? s : "", nul ? (size_t)(nul - s) : in.n);
	}
	free(s);
	return 0;
}
