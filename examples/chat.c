/*
 * chat.c -- a conversation with a model on a local server, one line at
 * a time, with a tool the model may use along the way.
 *
 *     chat [BASE_URL [MODEL]]
 *
 * Each line read from standard input is one turn of the same
 * conversation: the client keeps the history, so the model sees every
 * earlier question and answer. "/history" says how long the conversation
 * has grown; "/quit" or the end of input ends it. The steps:
 *
 *   1. Declare one tool, count_letters, with a handler: a job models are
 *      famously bad at by themselves. Auto mode runs it inside the turn.
 *   2. Set up one client for the whole conversation.
 *   3. For each line, oa_query() and oa_next() to the end of the turn,
 *      printing every kind of block as it arrives: text, the model's
 *      reasoning (Ollama sends it as "reasoning"), and the tool-use and
 *      tool-result blocks of the calls the library runs.
 *   4. A turn that fails is reported and the chat goes on: after any
 *      error the client is ready for the next query, with a consistent
 *      history.
 *
 * Any server with a model that can call tools will do. With Ollama,
 * whose OpenAI-compatible API is at http://localhost:11434/v1:
 * `ollama pull llama3.2`, then `chat http://localhost:11434/v1 llama3.2`.
 * BASE_URL, MODEL and the API key not given come from
 * OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL and OPEN_AGENT_API_KEY, then the
 * configuration file, then (the URL) LM Studio's
 * http://localhost:1234/v1, as in every example.
 *
 * Output: replies on standard output, reasoning on standard error. Exit
 * status 0 when every turn ended cleanly, 1 when one failed, 2 on a
 * usage error.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openagent.h"

#define USAGE "usage: chat [BASE_URL [MODEL]]\n"
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
		fputs(USAGE "One turn per line of standard input, with a "
		      "count_letters tool;\n/history shows the size of the "
		      "conversation, /quit ends it.\n" SETTINGS, stdout);
		return 0;
	}
	fprintf(stderr, "chat: %s%s\n" USAGE, why, arg);
	return 2;
}

/* 1a. The handler. The library has checked the arguments against the
 * schema "word:string letter:string" before calling, so both are there
 * and are strings; what is left to check is that letter is one letter. A
 * non-zero return hands the model "error: " and our text as the result,
 * so it can try again. */
static int
count_letters(void *ctx, oa_args *args, oa_result *out)
{
	const char *word, *letter;
	size_t nword, nletter, i, n = 0;
	int want;

	(void)ctx;
	if (oa_args_string(args, "word", &word, &nword) != 0 ||
	    oa_args_string(args, "letter", &letter, &nletter) != 0)
		return oa_result_puts(out, "word and letter are required"), 1;
	if (nletter != 1)
		return oa_result_puts(out, "letter must be one character"), 1;
	want = tolower((unsigned char)letter[0]); /* either case */
	for (i = 0; i < nword; i++)
		n += tolower((unsigned char)word[i]) == want;
	return oa_result_printf(out, "%zu", n) != 0;
}

/* 3a. Text streams to standard output and reasoning to standard error;
 * every other block gets a line of its own. open_line remembers which
 * stream has a line still waiting for its end (0 none, 1 text, 2
 * reasoning). */
static void
end_line(int *open_line)
{
	if (*open_line)
		fputc('\n', *open_line == 1 ? stdout : stderr);
	*open_line = 0;
}

static void
print_block(const oa_block *b, int *open_line)
{
	if (b->type == OA_BLOCK_TEXT || b->type == OA_BLOCK_THINKING) {
		int mine = b->type == OA_BLOCK_TEXT ? 1 : 2;
		FILE *f = mine == 1 ? stdout : stderr;
		if (*open_line != mine)
			end_line(open_line);
		fwrite(b->text, 1, b->text_len, f);
		fflush(f);
		if (b->text_len > 0 && b->text[b->text_len - 1] == '\n')
			*open_line = 0;
		else if (b->text_len > 0)
			*open_line = mine;
		return;
	}
	end_line(open_line);
	switch (b->type) {
	case OA_BLOCK_TOOL_USE:
		/* input is the arguments as a JSON object text */
		printf("[tool_use %s] %s %s\n", b->id, b->name, b->input);
		break;
	case OA_BLOCK_TOOL_USE_ERROR:
		/* not run (unknown tool, bad arguments); the model is told */
		printf("[tool_use_error %s] %s: %s\n", b->id, b->name,
		       b->text);
		break;
	case OA_BLOCK_TOOL_RESULT:
		printf("[tool_result %s] %s\n", b->id, b->text);
		break;
	case OA_BLOCK_TURN_END:
		/* "stop" is the usual end; say so only when it is not */
		if (strcmp(b->finish_reason, "stop") != 0)
			printf("[%s]\n", b->finish_reason);
		break;
	default:
		break;
	}
}

int
main(int argc, char **argv)
{
	/* 1b. The tool table: name, description, schema, handler, ctx. */
	static const oa_tool tools[1] = {
		{"count_letters", "Count how often a letter occurs in a word.",
		 "word:string letter:string", count_letters, NULL},
	};
	int tty = isatty(STDIN_FILENO), status = 0, r, i, npos = 0, open_line;
	const char *pos[2] = {NULL, NULL};
	oa_options opt = {0};
	oa_config cfg;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	oa_client c;
	oa_block b;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return usage(NULL, NULL);
		if (argv[i][0] == '-')
			return usage("unknown option ", argv[i]);
		if (npos == 2)
			return usage("too many arguments: ", argv[i]);
		pos[npos++] = argv[i];
	}

	/* 2. The client, for the whole conversation. */
	if ((r = oa_config_load(&cfg, NULL)) != 0) {
		fprintf(stderr, "chat: %s: %s\n", oa_strerror(r),
		        cfg.error);
		return 1;
	}
	opt.base_url = oa_config_base_url(&cfg, pos[0], NULL, pos[0] != NULL);
	opt.model = oa_config_model(&cfg, pos[1], pos[1] != NULL);
	opt.api_key = oa_config_api_key(&cfg, NULL, 0);
	opt.system_prompt = "You are a friendly assistant. To count letters, "
	                    "always use the count_letters tool.";
	opt.tools = tools;
	opt.ntools = 1;
	opt.auto_execute_tools = 1;
	if ((r = oa_init(&c, &opt)) != 0) {
		fprintf(stderr, "chat: %s: %s\n", oa_strerror(r),
		        oa_errmsg(&c));
		oa_free(&c);
		return 1;
	}

	/* 3. One turn per line. The prompt is shown only to a person. */
	for (;;) {
		if (tty)
			fputs("you> ", stdout), fflush(stdout);
		if ((len = getline(&line, &cap, stdin)) < 0)
			break;
		while (len > 0 && (line[len - 1] == '\n' ||
		                   line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (strcmp(line, "/quit") == 0)
			break;
		if (strcmp(line, "/history") == 0) {
			printf("[history: %zu messages, about %zu tokens]\n",
			       oa_history_count(&c), oa_estimate_tokens(&c));
			continue;
		}
		open_line = 0;
		r = oa_query(&c, line);
		while (r >= 0 && (r = oa_next(&c, &b)) > 0)
			print_block(&b, &open_line);
		end_line(&open_line);
		/* 4. r == 0: the turn ended cleanly. r < 0: report it and
		 * read the next line; the client is ready for it. */
		if (r < 0) {
			fflush(stdout);
			fprintf(stderr, "chat: %s: %s\n", oa_strerror(r),
			        oa_errmsg(&c));
			status = 1;
		}
	}
	if (tty)
		putchar('\n');
	free(line);
	oa_free(&c);
	return status;
}
