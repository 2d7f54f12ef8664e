/*
 * config_env.c -- where the server, the model and the key come from when
 * the program does not hard-code them: the environment, a configuration
 * file, the program's own fallbacks, and the provider shortcuts.
 *
 *     config_env [--provider NAME] [--base-url URL] [--model NAME] [PROMPT]
 *
 * It prints each setting and where it came from, then, given a PROMPT,
 * asks it with those settings. The steps:
 *
 *   1. Read the configuration file, if there is one: ./open-agent.yaml,
 *      ~/.config/open-agent/config.yaml or ~/.open-agent.yaml, the first
 *      that exists. A broken file is an error, not something to guess
 *      around; no file at all is fine.
 *   2. Resolve each setting through one chain: OPEN_AGENT_BASE_URL,
 *      OPEN_AGENT_MODEL and OPEN_AGENT_API_KEY first, then the file, then
 *      the fallback the program passes, then (for the URL only) the
 *      provider's default and finally LM Studio's. Two kinds of fallback
 *      differ in one flag:
 *        - what the user typed on this command line wins over everything
 *          (prefer_fallback = 1);
 *        - a default built into the program yields to the environment and
 *          the file (prefer_fallback = 0), so one exported variable
 *          redirects every program at once.
 *      --provider lmstudio|ollama|llamacpp|vllm names a server's usual
 *      URL (:1234, :11434, :8080, :8000) as that last resort.
 *   3. Tell where each value came from. The resolvers return a pointer
 *      into the environment, the oa_config, the fallback or a static
 *      string, so comparing pointers says which one won.
 *   4. Ask, with oa_ask(): the one-call form that returns the whole reply.
 *
 * The key is never printed, only whether one is set and by whom. Exit
 * status 0 on success, 1 on an error (a broken file, the request), 2 on a
 * usage error.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openagent.h"

/* The program's built-in model: a fallback, so the environment wins. */
#define DEFAULT_MODEL "qwen2.5-7b-instruct"

#define USAGE "usage: config_env [--provider NAME] [--base-url URL] " \
	"[--model NAME] [PROMPT]\n" \
	"  NAME of a provider: lmstudio, ollama, llamacpp, vllm\n"

/* --help: the usage on standard output, status 0; a wrong argument: what
 * is wrong and the usage on standard error, status 2. */
static int
usage(const char *why, const char *arg)
{
	if (why == NULL) {
		fputs(USAGE "Print each setting and where it came from; "
		      "given a PROMPT, ask it.\n"
		      "Settings come from the flags, then OPEN_AGENT_BASE_URL,"
		      "\nOPEN_AGENT_MODEL, OPEN_AGENT_API_KEY, then the first "
		      "of ./open-agent.yaml,\n~/.config/open-agent/config.yaml,"
		      " ~/.open-agent.yaml, then the program's\ndefaults (the "
		      "model qwen2.5-7b-instruct; the URL --provider's, else\n"
		      "LM Studio's http://localhost:1234/v1).\n", stdout);
		return 0;
	}
	fprintf(stderr, "config_env: %s%s\n" USAGE, why, arg);
	return 2;
}

/* Which source a resolved value is, by its address (step 3). flag is the
 * command-line value and flag_name its option; fallback the program's own
 * default, or NULL. */
static const char *
origin(const char *v, const char *env, const char *file,
       const oa_config *cfg, const char *flag, const char *flag_name,
       const char *fallback)
{
	if (v == flag)
		return flag_name;
	if (v == getenv(env))
		return env;
	if (v == file)
		return cfg->path;
	if (v == fallback)
		return "the program's default";
	return "LM Studio's default"; /* the base URL's last resort */
}

int
main(int argc, char **argv)
{
	const char *provider = NULL, *url = NULL, *model = NULL;
	const char *prompt = NULL, *text, *from;
	oa_options opt = {0};
	oa_config cfg;
	oa_client c;
	int i, r;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], **dst =
			strcmp(a, "--provider") == 0 ? &provider :
			strcmp(a, "--base-url") == 0 ? &url :
			strcmp(a, "--model") == 0 ? &model : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return usage(NULL, NULL);
		if (dst != NULL && i + 1 < argc)
			*dst = argv[++i];
		else if (dst != NULL)
			return usage("a value is missing after ", a);
		else if (a[0] == '-')
			return usage("unknown option ", a);
		else if (prompt != NULL)
			return usage("too many arguments: ", a);
		else
			prompt = a;
	}
	if (provider != NULL && oa_provider_url(provider) == NULL) {
		fprintf(stderr, "config_env: unknown provider '%s'\n" USAGE,
		        provider);
		return 2;
	}

	/* 1. The file. cfg.path says which one was read ("" for none). */
	if ((r = oa_config_load(&cfg, NULL)) != 0) {
		fprintf(stderr, "config_env: %s: %s\n", oa_strerror(r),
		        cfg.error);
		return 1;
	}

	/* 2. The chain. A flag given on the command line is preferred; the
	 * built-in model is only a fallback. */
	opt.base_url = oa_config_base_url(&cfg, url, provider, url != NULL);
	opt.model = oa_config_model(&cfg, model ? model : DEFAULT_MODEL,
	                            model != NULL);
	opt.api_key = oa_config_api_key(&cfg, NULL, 0);
	if (cfg.has_temperature)
		opt.temperature = cfg.temperature ? cfg.temperature : OA_ZERO;
	if (cfg.has_max_tokens)
		opt.max_tokens = cfg.max_tokens;

	/* 3. Where each came from. */
	from = origin(opt.base_url, "OPEN_AGENT_BASE_URL", cfg.base_url,
	              &cfg, url, "--base-url", NULL);
	if (provider && opt.base_url == oa_provider_url(provider))
		from = "--provider";
	printf("base_url: %s (%s)\n", opt.base_url, from);
	printf("model:    %s (%s)\n", opt.model,
	       origin(opt.model, "OPEN_AGENT_MODEL", cfg.model, &cfg, model,
	              "--model", DEFAULT_MODEL));
	if (opt.api_key != NULL)
		printf("api_key:  set (%s)\n",
		       origin(opt.api_key, "OPEN_AGENT_API_KEY", cfg.api_key,
		              &cfg, NULL, NULL, NULL));
	else
		puts("api_key:  none (local servers need none)");
	if (cfg.has_temperature)
		printf("temperature: %g (%s)\n", cfg.temperature, cfg.path);
	if (cfg.has_max_tokens)
		printf("max_tokens: %d (%s)\n", cfg.max_tokens, cfg.path);
	if (prompt == NULL)
		return 0;

	/* 4. Ask. oa_ask() runs oa_query() and oa_next() to the end and
	 * joins the text; the text belongs to the client until its next
	 * call, so print it before oa_free(). */
	if ((r = oa_init(&c, &opt)) == 0 &&
	    (r = oa_ask(&c, prompt, &text, NULL)) == 0)
		printf("\n%s\n", text);
	else
		fprintf(stderr, "config_env: %s: %s\n", oa_strerror(r),
		        oa_errmsg(&c));
	oa_free(&c);
	return r != 0;
}
