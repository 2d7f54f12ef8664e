/*
 * oa.h -- what the parts of the oa command share. oa is one program in
 * four files: oa.c (the command line, one-shot runs, the turn loop),
 * oa_out.c (everything printed: messages, JSON lines, escaped server
 * text; and the input read: standard input, files of options),
 * oa_tools.c (--tools-json, --demo-tools, --models parsing),
 * oa_chat.c (the interactive chat) and oa_mcp.c (--mcp, --mcp-url,
 * --mcp-list). Only the public API of openagent.h
 * is used.
 */
#ifndef OA_CLI_H
#define OA_CLI_H

#include <signal.h>
#include <stdio.h>

#include "openagent.h"

/* ------------------------------------------------------------ oa_out.c */

/* A usage error: "oa: <what>" and a pointer at --help; returns 2. */
int usage_error(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;
/* "oa: <kind>[ (<where>; <hint>)]: <detail>" as one line on stderr, the
 * detail escaped; where and hint may be NULL. */
void report_at(int err, const char *detail, const char *where,
               const char *hint);
void report(int err, const char *detail);
/* Text that came from the server, for a terminal or a log: valid UTF-8
 * passes; control characters (C0, DEL, C1), and bytes that are not UTF-8,
 * become visible escapes (\n, \x1b, \u009b), so it stays on one line and
 * cannot drive the terminal. */
void put_safe(FILE *f, const char *s, size_t n);
/* A JSON string literal of s[0..n), valid UTF-8 whatever s holds: each
 * invalid sequence becomes \ufffd. */
void put_json(FILE *f, const char *s, size_t n);
/* JSON text s[0..n) (already checked JSON), on one line: the blanks
 * between tokens dropped, strings made valid UTF-8 as in put_json. */
void put_json_text(FILE *f, const char *s, size_t n);
/* One block as one line of --jsonl; as a line of its own in plain mode
 * (tool blocks only). */
void put_block_json(const oa_block *b);
void put_block_text(const oa_block *b);
/* All of f, NUL-terminated, *len its length; NULL with errno set on
 * failure, E2BIG when it holds more than max bytes. */
char *read_all(FILE *f, size_t max, size_t *len);
/* A file named by an option, whole (at most 16 MiB); NULL with the error
 * printed. */
char *slurp(const char *path);
/* What standard input adds to a PROMPT (see oa_out.c); 0, or the exit
 * status of the error printed. */
int read_stdin(size_t max, char **out, size_t *len);
/* Whether --save can write to path's directory; 0, or -1 printed. */
int check_save(const char *path);

/* ----------------------------------------------------------- oa_tools.c */

/* The tools of a --tools-json file, and the memory they point into. */
struct toolfile {
	char *buf;
	oa_tool *v;
	char **end;
	size_t n;
};
int toolfile_load(struct toolfile *tf, const char *path);
void toolfile_free(struct toolfile *tf);
extern const oa_tool demo_tools[];
extern const size_t demo_ntools;
/* Print the model list of a GET /models body: one id a line, or with
 * jsonl each object as one line. 0, or -1 with a message printed. */
int print_models(const char *json, size_t n, int jsonl);

/* ------------------------------------------------------------------ oa.c */

/* How a turn is shown. */
struct view {
	int jsonl;
	int dim;        /* thinking to stderr, dimmed (a terminal) */
	int color;      /* escape codes allowed (NO_COLOR unset) */
	int usage;      /* --usage: tokens and speed on stderr */
	int chat;       /* a chat: the length note names /tokens too */
	const char *url; /* the chat-completions URL, for messages */
	const char *save; /* --save FILE: saved after every clean turn */
};

/* The client lives at file scope so that the SIGINT handler can reach
 * it; in_turn says whether a Ctrl-C interrupts a reply or leaves. */
extern oa_client client;
extern volatile sig_atomic_t interrupted;
extern volatile sig_atomic_t in_turn;

/* One turn: send prompt (with images), print the blocks as they come.
 * Returns 0, an oa_err, or 1 when standard output failed (*out_errno
 * says why). *last gets the turn-end usage. */
int run_turn(const struct view *v, const char *prompt,
             const char *const *images, size_t nimages, oa_usage *last,
             int *out_errno);
/* The error line for a failed request (NULL: the turn's POST), with a
 * hint where one is known. */
void report_turn(int r, const char *request);
/* Re-create the client with opt, keeping the history; 0 or an oa_err. */
int reinit(const oa_options *opt);

/* ------------------------------------------------------------ oa_chat.c */

/* The interactive chat; returns the exit status. opt may be changed by
 * /system and /model; first is a prompt to send first, or NULL. */
int chat(const struct view *v, oa_options *opt, const char *first);

/* ------------------------------------------------------------ oa_mcp.c */

/* One of --mcp, --mcp-url, --mcp-list at argv[*i] (a value may follow):
 * 1 taken, 0 not one of them, -1 a usage error (reported). */
int mcp_flag(int argc, char **argv, int *i);
/* --mcp-list was given: no PROMPT is needed. */
int mcp_listing(void);
/* Connect every server and add their tools to opt's (the demo tools, if
 * any), in auto mode. Returns -1 to go on, or the exit status: 0 after
 * --mcp-list, 1 for a server that failed, 2 for a usage error. */
int mcp_start(oa_options *opt);
/* Ctrl-C (oa_interrupt on c) reaches a call a server is working on. */
void mcp_watch(const oa_client *c);

/* ------------------------------------------------------------ oa_mcp.c */

/* One of --mcp, --mcp-url, --mcp-list at argv[*i] (a value may follow):
 * 1 taken, 0 not one of them, -1 a usage error (reported). */
int mcp_flag(int argc, char **argv, int *i);
/* --mcp-list was given: no PROMPT is needed. */
int mcp_listing(void);
/* Connect every server and add their tools to opt's (the demo tools, if
 * any), in auto mode. Returns -1 to go on, or the exit status: 0 after
 * --mcp-list, 1 for a server that failed, 2 for a usage error. */
int mcp_start(oa_options *opt);
/* Ctrl-C (oa_interrupt on c) reaches a call a server is working on. */
void mcp_watch(const oa_client *c);

#endif
