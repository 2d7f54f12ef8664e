/*
 * oa_modules.h -- what the optional modules declare for their own tests
 * and fuzz targets. Never installed, and not part of the core:
 * the core reaches modules only through oa__modules (oa_private.h).
 */
#ifndef OA_MODULES_H
#define OA_MODULES_H

#include "oa_private.h"

/* Each section is left out with its module's -D flag (see modules.c). */

#ifndef OA_NO_CONTEXT
/* ================================================================
 * context.c -- the history as a whole
 * ================================================================ */

/* Between turns (no turn running, no tool calls waiting): the history may
 * be read and changed. */
OA_PRIVATE int oa__client_idle(const oa_client *c);
/* Remove messages [from, from + n); out-of-range parts are ignored. */
OA_PRIVATE void oa__history_remove(oa_client *c, size_t from, size_t n);
/* Append a message. role "user", "assistant" or "tool"; tool_calls (a
 * JSON array text) only for assistant; tool_call_id exactly for tool;
 * parts (content parts, a JSON array text) only for user. Everything is
 * copied. 0, OA_ERR_INVALID or OA_ERR_NOMEM. */
OA_PRIVATE int oa__history_append(oa_client *c, const char *role,
                                  const char *content, size_t len,
                                  const char *tool_calls,
                                  const char *tool_call_id,
                                  const char *parts);

#endif /* OA_NO_CONTEXT */

#ifndef OA_NO_TEXTFILTER
/* ================================================================
 * textfilter.c -- tool calls and thinking inside the reply text
 * ================================================================ */

#define OA__TF_TOOLS 1u      /* <tool_call>, [TOOL_CALLS], a lone JSON call */
#define OA__TF_THINK 2u      /* <think>...</think> at the start */
#define OA__TF_THINK_OPEN 4u /* the template opened <think> itself: the
                                reply starts inside thinking (implies
                                OA__TF_THINK) */
#define OA__TF_LENIENT 8u    /* repair almost-JSON calls */

typedef struct oa__filter oa__tf;
struct oa__filter {
	/* private */
	unsigned flags;
	int state, sub;           /* see textfilter.c */
	oa__buf hold;             /* [off, hold.len): fed, not yet released */
	size_t off;
	size_t scan;              /* first held byte not yet examined */
	size_t mark, mark2;       /* [TOOL_CALLS]: JSON or name start, args */
	int depth, esc;           /* brackets open, after a backslash */
	char quote;               /* the quote of the string being skipped */
	char saved;               /* the byte under the last segment's NUL */
	int loaned;               /* ... which sits at hold.p[loan] */
	size_t loan;
	int ticks;                /* backticks of a fence */
	int thought;              /* a think block has ended */
	int finished;             /* oa__tf_finish was called */
	int repaired;             /* the calls being handed out were repaired */
	int el;                   /* the next call's token in json, or -1 */
	int fail;                 /* sticky error */
	oa__buf work;             /* call JSON text, parsed by json */
	oa__buf out;              /* a call's arguments and name */
	oa__json json;
};

enum { OA__TF_TEXT = 1, OA__TF_THINKING, OA__TF_TOOL_CALL };

/* One piece of output. Strings are NUL-terminated, inside the filter, and
 * valid until the next feed/next/finish/reset/free call. */
typedef struct oa__tf_seg {
	int type;            /* OA__TF_TEXT, OA__TF_THINKING, OA__TF_TOOL_CALL */
	const char *text;    /* TEXT, THINKING: the bytes (never empty) */
	size_t len;
	const char *name;    /* TOOL_CALL: the tool's name; "" with error */
	size_t name_len;
	const char *args;    /* TOOL_CALL: the arguments as the model wrote
	                        them (an object's text; a string's value; "{}"
	                        when absent), still to be parsed; with error,
	                        the raw call text */
	size_t args_len;
	int repaired;        /* TOOL_CALL: the call's JSON was repaired */
	const char *error;   /* TOOL_CALL: NULL, or why the call cannot be
	                        read (a static string) */
} oa__tf_seg;

/* max bounds the bytes held (waiting for a tag to complete, a call body,
 * a possible lone JSON reply) plus one feed; each copy made of a call is
 * bounded by it too (0: OA_MAX_RESPONSE_BYTES). Allocates nothing. With no
 * flags the filter passes text through. */
OA_PRIVATE void oa__tf_init(oa__tf *f, const oa_allocator *a, unsigned flags,
                            size_t max);
/*
 * Append content bytes, then call oa__tf_next until it returns 0:
 *     oa__tf_feed(f, s, n, err);
 *     while ((r = oa__tf_next(f, &seg, err)) > 0) use seg;
 * and at the end of the reply:
 *     oa__tf_finish(f);
 *     while ((r = oa__tf_next(f, &seg, err)) > 0) use seg;
 * feed returns 0, OA_ERR_LIMIT (more than max bytes held), OA_ERR_NOMEM
 * or OA_ERR_STATE (after finish). next returns 1 with *seg, 0 when
 * nothing more can be released yet, or OA_ERR_LIMIT / OA_ERR_NOMEM. Errors
 * stick until oa__tf_reset; each writes a message into err.
 */
OA_PRIVATE int oa__tf_feed(oa__tf *f, const char *s, size_t n, char *err);
OA_PRIVATE int oa__tf_next(oa__tf *f, oa__tf_seg *seg, char *err);
OA_PRIVATE void oa__tf_finish(oa__tf *f);
/* Ready for a new reply; keeps the memory and the flags. */
OA_PRIVATE void oa__tf_reset(oa__tf *f);
OA_PRIVATE void oa__tf_free(oa__tf *f);

/*
 * Repair the almost-JSON small models write: a ``` fence around it, a
 * trailing comma before } or ], single-quoted strings, unquoted keys, raw
 * control bytes in strings, Python True/False/None, and a truncated end
 * (the string, then the open containers, closed in order; a dangling key
 * or colon gets null). out (reset first) receives the text and j its
 * parse (root 0). Returns 0 when in already was a JSON object or array
 * (out holds a copy), 1 when the repaired text is one, OA_ERR_STREAM when
 * not even that parses, OA_ERR_LIMIT (out's limit, the token limit, or
 * nesting deeper than 64) or OA_ERR_NOMEM, with a message in err. Callers
 * that need an object check the root's type.
 */
OA_PRIVATE int oa__json_repair(const char *in, size_t n, oa__buf *out,
                               oa__json *j, char *err);


#endif /* OA_NO_TEXTFILTER */

#endif
