/*
 * oa_chat.c -- oa as a chat: a prompt marker, the reply streamed, the
 * history kept across turns.
 *
 * Plain line input, no readline: the terminal's own line editing
 * (canonical mode) is enough for a prompt, and it adds no dependency.
 * A line ending in '\' continues on the next. Ctrl-C during a reply
 * interrupts it (the history keeps what arrived) and returns to the
 * prompt; Ctrl-C or Ctrl-D at the prompt leaves. Lines starting with '/'
 * are commands (/help lists them).
 *
 * Ctrl-C reaches the prompt through poll(), which a signal always
 * interrupts (even with SA_RESTART), so the handler can stay SA_RESTART
 * for the writes of a reply.
 */
/* sigaction, poll, clock_gettime, strdup, realpath: POSIX and X/Open. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oa.h"

static const char help[] =
	"  /help          this list\n"
	"  /save FILE     save the conversation to FILE\n"
	"  /load FILE     replace the conversation with the one in FILE\n"
	"  /reset         forget the conversation\n"
	"  /system TEXT   set the system prompt (no TEXT: show it)\n"
	"  /model NAME    talk to model NAME (no NAME: show it)\n"
	"  /tokens        the conversation's size estimate and the last "
	"usage\n"
	"  /exit          leave (also Ctrl-D, or Ctrl-C at the prompt)\n"
	"A line ending in \\ continues on the next. Ctrl-C stops a reply.\n";

/* The most one message may hold, as for piped input. */
#define MESSAGE_MAX (1024 * 1024)

/* Standard input, read with read(2) so that Ctrl-C can end a wait. */
static struct {
	char buf[4096];
	size_t len, off;
	int eof;
} in;

/* Append one line (without its '\n') to *msg. Returns 1 for a line, 0 at
 * the end of input with nothing read, -1 when Ctrl-C came, -2 on an error
 * or a message over MESSAGE_MAX. */
static int
read_line(char **msg, size_t *len, size_t *cap)
{
	struct pollfd pfd;
	ssize_t got;
	char *nl, *q;
	size_t n, start = *len;
	int r;

	for (;;) {
		if (in.off < in.len) {
			nl = memchr(in.buf + in.off, '\n', in.len - in.off);
			n = (nl ? (size_t)(nl - in.buf) : in.len) - in.off;
			if (*len + n + 2 > MESSAGE_MAX) {
				errno = E2BIG;
				return -2;
			}
			if (*len + n + 2 > *cap) {
				*cap = (*len + n + 2) * 2;
				if ((q = realloc(*msg, *cap)) == NULL)
					return -2;
				*msg = q;
			}
			memcpy(*msg + *len, in.buf + in.off, n);
			*len += n;
			(*msg)[*len] = '\0';
			in.off += n + (nl != NULL);
			if (nl != NULL)
				return 1;
			continue;
		}
		if (in.eof)
			return *len > start ? 1 : 0;
		pfd.fd = STDIN_FILENO;
		pfd.events = POLLIN;
		if (interrupted)
			return -1;
		r = poll(&pfd, 1, -1);
		if (r < 0 && errno == EINTR && interrupted)
			return -1;
		if (r < 0 && errno != EINTR)
			return -2;
		if (r <= 0)
			continue;
		got = read(STDIN_FILENO, in.buf, sizeof in.buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -2;
		in.off = 0;
		in.len = (size_t)got;
		/* Ctrl-D: on a terminal a later read could go on, but
		 * leaving is what the user asked for. */
		in.eof = got == 0;
	}
}

/* What the user typed, with "\" line ends joined. 1, 0 (leave), -1 (an
 * input error, printed). */
static int
read_message(int tty, char **msg, size_t *cap)
{
	size_t len = 0;
	int r;

	for (;;) {
		if (tty) {
			fputs(len ? "... " : "> ", stdout);
			fflush(stdout);
		}
		interrupted = 0;
		r = read_line(msg, &len, cap);
		if (r == -1) {
			/* Ctrl-C: at the prompt it leaves; in a continued
			 * message it drops what was typed. */
			if (tty)
				fputs("\n", stdout);
			if (len == 0)
				return 0;
			len = 0;
			continue;
		}
		if (r == -2) {
			fprintf(stderr, "oa: cannot read standard input: %s\n",
			        errno == E2BIG ? "a message over 1 MiB"
			                       : strerror(errno));
			return -1;
		}
		if (r == 0) {
			if (tty)
				fputs("\n", stdout);
			return len > 0 ? 1 : 0;
		}
		if (len > 0 && (*msg)[len - 1] == '\\') {
			(*msg)[len - 1] = '\n';
			continue;
		}
		return 1;
	}
}

/* A command's argument: the text after the word and its blanks. */
static const char *
arg_of(const char *line, const char *cmd)
{
	size_t n = strlen(cmd);

	if (strncmp(line, cmd, n) != 0 || (line[n] != '\0' && line[n] != ' '))
		return NULL;
	for (line += n; *line == ' '; line++)
		;
	return line;
}

/* Copies of what /system and /model set, as oa_options only points. */
static char *own_system, *own_model;

static void
set_text(char **own, const char **field, const char *v)
{
	free(*own);
	*own = v[0] ? strdup(v) : NULL;
	*field = *own;
}

/* One command; returns 1 to leave, 0 to go on, -1 to leave on an error
 * (printed). */
static int
command(const char *line, oa_options *opt, const oa_usage *last)
{
	const char *a;
	int r;

	if ((a = arg_of(line, "/exit")) || (a = arg_of(line, "/quit")))
		return 1;
	if ((a = arg_of(line, "/help"))) {
		fputs(help, stderr);
	} else if ((a = arg_of(line, "/save")) || (a = arg_of(line, "/load"))) {
		int save = line[1] == 's';
		if (a[0] == '\0') {
			fprintf(stderr, "oa: %s FILE: which file?\n",
			        save ? "/save" : "/load");
			return 0;
		}
		r = save ? oa_history_save(&client, a)
		         : oa_history_load(&client, a);
		if (r < 0)
			report(r, oa_errmsg(&client));
		else
			fprintf(stderr, "oa: %s %s (%zu messages)\n",
			        save ? "saved to" : "loaded", a,
			        oa_history_count(&client));
	} else if ((a = arg_of(line, "/reset"))) {
		oa_truncate(&client, 0);
		fputs("oa: the conversation is empty\n", stderr);
	} else if ((a = arg_of(line, "/system")) ||
	           (a = arg_of(line, "/model"))) {
		int sys = line[1] == 's';
		const char **field = sys ? &opt->system_prompt : &opt->model;
		if (a[0] == '\0') {
			fprintf(stderr, "oa: %s: %s\n", sys ? "system prompt"
			        : "model", *field ? *field : "(none)");
			return 0;
		}
		set_text(sys ? &own_system : &own_model, field, a);
		if ((r = reinit(opt)) < 0) {
			report(r, oa_errmsg(&client));
			return -1;
		}
		fprintf(stderr, "oa: %s set\n", sys ? "system prompt" : "model");
	} else if ((a = arg_of(line, "/tokens"))) {
		fprintf(stderr, "oa: the conversation: %zu messages, about %zu "
		        "tokens (estimated)\n", oa_history_count(&client),
		        oa_estimate_tokens(&client));
		if (last->present)
			fprintf(stderr, "oa: the last reply: %lld prompt + %lld "
			        "completion = %lld tokens\n",
			        last->prompt_tokens, last->completion_tokens,
			        last->total_tokens);
		else
			fputs("oa: the last reply: no usage\n", stderr);
	} else {
		fprintf(stderr, "oa: unknown command %.*s; /help lists them\n",
		        (int)strcspn(line, " "), line);
	}
	return 0;
}

int
chat(const struct view *v, oa_options *opt, const char *first)
{
	int tty = isatty(STDIN_FILENO), status = 0, r, out_errno;
	char *msg = NULL;
	size_t cap = 0;
	oa_usage last;

	memset(&last, 0, sizeof last);
	if (tty && first == NULL)
		fprintf(stderr, "oa: chatting with %s at %s; /help for "
		        "commands, Ctrl-D to leave\n",
		        opt->model ? opt->model : "the server's model", v->url);
	for (;;) {
		const char *prompt = first;
		if (prompt == NULL) {
			r = read_message(tty, &msg, &cap);
			if (r <= 0) {
				status = r < 0;
				break;
			}
			prompt = msg;
			if (prompt[strspn(prompt, " \t\n")] == '\0')
				continue;
			if (prompt[0] == '/') {
				if ((r = command(prompt, opt, &last)) != 0) {
					status = r < 0;
					break;
				}
				continue;
			}
		}
		first = NULL;
		r = run_turn(v, prompt, NULL, 0, &last, &out_errno);
		if (out_errno != 0) {
			if (out_errno != EPIPE)
				fprintf(stderr, "oa: cannot write standard "
				        "output: %s\n", strerror(out_errno));
			status = 1;
			break;
		}
		if (r == OA_ERR_INTERRUPTED) {
			fputs("oa: interrupted; the conversation keeps what "
			      "arrived\n", stderr);
		} else if (r < 0) {
			report_turn(r, NULL);
		} else if (v->save && (r = oa_history_save(&client, v->save))
		           < 0) {
			report(r, oa_errmsg(&client));
		}
	}
	interrupted = 0;
	free(msg);
	free(own_system);
	free(own_model);
	return status;
}
