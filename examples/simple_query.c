/*
 * simple_query.c -- the smallest whole program: one question to the model
 * LM Studio has loaded, the answer streamed to standard output.
 *
 *     simple_query [BASE_URL [MODEL [PROMPT]]]
 *
 * LM Studio serves its OpenAI-compatible API at http://localhost:1234/v1
 * once its local server is started (Developer tab, or `lms server start`).
 * The program takes four steps, the same in every openagent program:
 *
 *   1. Fill an oa_options: zero means "the default" for every field, so
 *      only the server, the model, the key and a system prompt are set.
 *      What the command line leaves out comes from OPEN_AGENT_BASE_URL,
 *      OPEN_AGENT_MODEL and OPEN_AGENT_API_KEY, then the configuration
 *      file, then LM Studio's URL, as in every example and in oa. With
 *      no model named, none is sent and LM Studio answers with the model
 *      it has loaded.
 *   2. oa_init() a client, which copies the options and connects to
 *      nothing yet.
 *   3. oa_query() the question, then oa_next() block by block until it
 *      returns 0 (the turn is over) or a negative oa_err (it failed).
 *   4. Tell a clean end from an error, and free the client.
 *
 * The answer goes to standard output as it arrives; a closing line with
 * the finish reason and the token counts goes to standard error, so
 * `simple_query > answer.txt` keeps only the answer. Exit status 0 when
 * the reply was complete, 1 on an error, 2 on a usage error.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "openagent.h"

#define USAGE "usage: simple_query [BASE_URL [MODEL [PROMPT]]]\n"
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
		fputs(USAGE "Ask PROMPT (a question about English usage by "
		      "default) and stream the answer.\n" SETTINGS, stdout);
		return 0;
	}
	fprintf(stderr, "simple_query: %s%s\n" USAGE, why, arg);
	return 2;
}

int
main(int argc, char **argv)
{
	const char *pos[3] = {NULL, NULL, NULL};
	oa_options opt = {0};
	oa_config cfg;
	oa_client c;
	oa_block b;
	int r, i, npos = 0, text_open = 0;

	/* A reader that goes away (simple_query | head -1) makes our writes
	 * fail with EPIPE instead of killing the process mid-turn. */
	signal(SIGPIPE, SIG_IGN);

	/* 1. The options: the command line first, then the environment
	 * and the configuration file. A broken file is an error, not
	 * something to guess around. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return usage(NULL, NULL);
		if (argv[i][0] == '-')
			return usage("unknown option ", argv[i]);
		if (npos == 3)
			return usage("too many arguments: ", argv[i]);
		pos[npos++] = argv[i];
	}
	if ((r = oa_config_load(&cfg, NULL)) != 0) {
		fprintf(stderr, "simple_query: %s: %s\n", oa_strerror(r),
		        cfg.error);
		return 1;
	}
	opt.base_url = oa_config_base_url(&cfg, pos[0], NULL, pos[0] != NULL);
	opt.model = oa_config_model(&cfg, pos[1], pos[1] != NULL);
	opt.api_key = oa_config_api_key(&cfg, NULL, 0);
	opt.system_prompt = "You are a professional copy editor. Answer in "
	                    "one short paragraph.";

	/* 2. The client. Even a failed oa_init() must be paired with
	 * oa_free(), and oa_errmsg() says what was wrong (here, most likely
	 * a malformed BASE_URL). */
	if ((r = oa_init(&c, &opt)) != 0) {
		fprintf(stderr, "simple_query: %s: %s\n", oa_strerror(r),
		        oa_errmsg(&c));
		oa_free(&c);
		return 1;
	}

	/* 3. The canonical loop. Each block's strings belong to the client
	 * and stay valid only until the next call on it: print them now or
	 * copy them. Thinking blocks (a reasoning model's thoughts) and the
	 * tool blocks cannot occur without tools and are skipped. */
	r = oa_query(&c, pos[2] ? pos[2]
	                        : "Is \"less\" or \"fewer\" right in "
	                          "'ten items or less'?");
	while (r >= 0 && (r = oa_next(&c, &b)) > 0) {
		if (b.type == OA_BLOCK_TEXT) {
			fwrite(b.text, 1, b.text_len, stdout);
			fflush(stdout); /* show each piece as it comes */
			if (b.text_len > 0)
				text_open = b.text[b.text_len - 1] != '\n';
		} else if (b.type == OA_BLOCK_TURN_END) {
			if (text_open)
				putchar('\n');
			text_open = 0;
			fprintf(stderr, "[%s", b.finish_reason);
			if (b.usage.present)
				fprintf(stderr, ", %lld prompt + %lld "
				        "completion tokens",
				        b.usage.prompt_tokens,
				        b.usage.completion_tokens);
			fputs("]\n", stderr);
		}
	}

	/* 4. r == 0: the turn ended after its turn-end block. r < 0: the
	 * kind of failure, with the detail (the server's own message, the
	 * limit hit, ...) in oa_errmsg(). Connection refused usually means
	 * LM Studio's server is not started. */
	if (text_open)
		putchar('\n'); /* the partial answer ends its line */
	if (r < 0)
		fprintf(stderr, "simple_query: %s: %s\n", oa_strerror(r),
		        oa_errmsg(&c));
	oa_free(&c);
	return r < 0;
}
