/*
 * context.c -- keep a long conversation inside the model's context
 * window, and carry it from one run of the program to the next.
 *
 *     context [--budget TOKENS] [--state FILE] [--base-url URL]
 *             [--model NAME] PROMPT...
 *
 * Every PROMPT is one turn of the same conversation. The library never
 * cuts or saves anything by itself; the program decides, in four steps:
 *
 *   1. Resume: when FILE exists, oa_history_load() puts the saved
 *      conversation back, as if it had never stopped. A corrupt or foreign
 *      file is an error and the program starts nothing.
 *   2. Monitor: before each turn, oa_estimate_tokens() says roughly how
 *      many tokens the request will take; after it, the server's own
 *      count (usage.prompt_tokens) is printed beside it when sent.
 *   3. Truncate at a natural breakpoint: when the estimate is over the
 *      budget, whole exchanges are dropped from the oldest end. The cut is
 *      made at a user message, so an answer never loses its question, and
 *      oa_truncate() never separates a tool call from its result anyway.
 *   4. Save: at the end oa_history_save() writes the conversation to FILE
 *      atomically: a crash during the save leaves the previous file whole.
 *
 * Output: the reply text of each turn, and bracketed lines saying what
 * the program did. Exit status 0 when every turn ended cleanly, 1 on an
 * error, 2 on a usage error. The URL, the model and the API key not
 * given come from OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL and
 * OPEN_AGENT_API_KEY, then the configuration file, then (the URL) LM
 * Studio's http://localhost:1234/v1, as in every example.
 */
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openagent.h"

#define USAGE "usage: context [--budget TOKENS] [--state FILE] " \
	"[--base-url URL] [--model NAME]\n               PROMPT...\n"
#define SETTINGS \
	"The URL, the model and the API key not given here come from\n" \
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
		fputs(USAGE "Each PROMPT is one turn of the same conversation; "
		      "--state FILE resumes it\nfrom FILE and saves it "
		      "there, --budget drops the oldest exchanges to\nkeep "
		      "the request under TOKENS.\n" SETTINGS, stdout);
		return 0;
	}
	fprintf(stderr, "context: %s%s\n" USAGE, why, arg);
	return 2;
}

static int
fail(oa_client *c, int err)
{
	fprintf(stderr, "context: %s: %s\n", oa_strerror(err), oa_errmsg(c));
	return 1;
}

/* Step 3. Drop the oldest exchange until the estimate, with the next
 * prompt, fits the budget; everything goes when even the last exchange
 * is too large. Returns how many messages were dropped. */
static size_t
trim(oa_client *c, const char *prompt, size_t budget)
{
	size_t n, i, dropped = 0;
	oa_message m;

	/* the prompt will be one more message: about 4 tokens around it */
	while ((n = oa_history_count(c)) > 0 &&
	       oa_estimate_tokens(c) + 4 +
	       oa_estimate_text_tokens(prompt, strlen(prompt)) > budget) {
		/* the next exchange starts at the next user message */
		for (i = 1; i < n; i++)
			if (oa_history_get(c, i, &m) == 0 &&
			    strcmp(m.role, "user") == 0)
				break;
		if (oa_truncate(c, n - i) != 0)
			break;
		dropped += n - oa_history_count(c);
	}
	return dropped;
}

/* One turn: the reply text to stdout; the estimate of the request (taken
 * once the prompt is in the history) and the usage the server sent.
 * Returns 0 or an oa_err. */
static int
turn(oa_client *c, const char *prompt, size_t *estimate, oa_usage *usage)
{
	oa_block b;
	int r;

	if ((r = oa_query(c, prompt)) != 0)
		return r;
	*estimate = oa_estimate_tokens(c);
	while ((r = oa_next(c, &b)) > 0) {
		if (b.type == OA_BLOCK_TEXT)
			fwrite(b.text, 1, b.text_len, stdout);
		else if (b.type == OA_BLOCK_TURN_END)
			*usage = b.usage;
	}
	putchar('\n');
	return r;
}

int
main(int argc, char **argv)
{
	const char *state = NULL, *url = NULL, *model = NULL, **dst;
	char *end;
	size_t budget = 0, dropped, estimate;
	oa_options opt;
	oa_config cfg;
	oa_client c;
	oa_usage counted;
	struct stat st;
	int i, r;

	signal(SIGPIPE, SIG_IGN);
	/* Options first; the prompts are everything after them. */
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return usage(NULL, NULL);
		dst = strcmp(argv[i], "--state") == 0 ? &state :
		      strcmp(argv[i], "--base-url") == 0 ? &url :
		      strcmp(argv[i], "--model") == 0 ? &model : NULL;
		if (dst == NULL && strcmp(argv[i], "--budget") != 0)
			return usage("unknown option ", argv[i]);
		if (i + 1 == argc)
			return usage("a value is missing after ", argv[i]);
		if (dst != NULL) {
			*dst = argv[++i];
			continue;
		}
		budget = strtoul(argv[++i], &end, 10);
		if (*end != '\0' || budget == 0 || argv[i][0] == '-')
			return usage("--budget wants a number of tokens "
			             "above 0, not ", argv[i]);
	}
	if (i == argc)
		return usage("no PROMPT given", "");

	if ((r = oa_config_load(&cfg, NULL)) != 0) {
		fprintf(stderr, "context: %s: %s\n", oa_strerror(r),
		        cfg.error);
		return 1;
	}
	memset(&opt, 0, sizeof opt);
	opt.base_url = oa_config_base_url(&cfg, url, NULL, url != NULL);
	opt.model = oa_config_model(&cfg, model, model != NULL);
	opt.api_key = oa_config_api_key(&cfg, NULL, 0);
	if ((r = oa_init(&c, &opt)) != 0) {
		r = fail(&c, r);
		oa_free(&c);
		return r;
	}

	/* 1. Resume. */
	if (state != NULL && stat(state, &st) == 0) {
		if ((r = oa_history_load(&c, state)) != 0)
			goto out;
		printf("[resumed %zu messages from %s]\n",
		       oa_history_count(&c), state);
	}

	for (; i < argc; i++) {
		/* 3. Truncate before the request would overflow. */
		if (budget && (dropped = trim(&c, argv[i], budget)) > 0)
			printf("[dropped the oldest %zu messages: ~%zu tokens "
			       "left]\n", dropped, oa_estimate_tokens(&c));
		printf("> %s\n", argv[i]);
		memset(&counted, 0, sizeof counted);
		if ((r = turn(&c, argv[i], &estimate, &counted)) != 0)
			goto out;
		/* 2. Monitor: what we guessed against what the server
		 * counted. */
		if (counted.present)
			printf("[context: ~%zu tokens estimated, %lld counted "
			       "by the server]\n", estimate,
			       counted.prompt_tokens);
		else
			printf("[context: ~%zu tokens estimated]\n", estimate);
	}

	/* 4. Save. */
	if (state != NULL) {
		if ((r = oa_history_save(&c, state)) != 0)
			goto out;
		printf("[saved %zu messages to %s]\n", oa_history_count(&c),
		       state);
	}
out:
	if (r != 0)
		r = fail(&c, r);
	oa_free(&c);
	return r;
}
