/*
 * context.c -- keep a long conversation inside the model's context
 * window, and carry it from one run of the program to the next.
 *
 *     context [--budget TOKENS] [--state FILE] BASE_URL MODEL PROMPT...
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
 * error, 2 on a usage error.
 */
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openagent.h"

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
	const char *state = NULL;
	char *end;
	size_t budget = 0, dropped, estimate;
	oa_options opt;
	oa_client c;
	oa_usage usage;
	struct stat st;
	int i = 1, r;

	signal(SIGPIPE, SIG_IGN);
	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--state") == 0) {
			state = argv[i + 1];
		} else if (strcmp(argv[i], "--budget") == 0) {
			budget = strtoul(argv[i + 1], &end, 10);
			if (*end != '\0' || budget == 0)
				break;
		} else {
			break;
		}
	}
	if (i + 1 < argc && strncmp(argv[i], "--", 2) == 0) {
		fprintf(stderr, "context: bad option %s\n", argv[i]);
		return 2;
	}
	if (argc - i < 3) {
		fprintf(stderr, "usage: context [--budget TOKENS] "
		        "[--state FILE] BASE_URL MODEL PROMPT...\n");
		return 2;
	}

	memset(&opt, 0, sizeof opt);
	opt.base_url = argv[i];
	opt.model = argv[i + 1];
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

	for (i += 2; i < argc; i++) {
		/* 3. Truncate before the request would overflow. */
		if (budget && (dropped = trim(&c, argv[i], budget)) > 0)
			printf("[dropped the oldest %zu messages: ~%zu tokens "
			       "left]\n", dropped, oa_estimate_tokens(&c));
		printf("> %s\n", argv[i]);
		memset(&usage, 0, sizeof usage);
		if ((r = turn(&c, argv[i], &estimate, &usage)) != 0)
			goto out;
		/* 2. Monitor: what we guessed against what the server
		 * counted. */
		if (usage.present)
			printf("[context: ~%zu tokens estimated, %lld counted "
			       "by the server]\n", estimate,
			       usage.prompt_tokens);
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
