/*
 * oa_out.c -- everything oa prints, apart from the reply text itself, and
 * what it reads besides (standard input, files named by options).
 *
 * Two rules. The reply text (and thinking) is written byte for byte: it
 * is what the user asked for. Everything else that came from the server
 * (tool names, ids, arguments, results, error messages) is escaped in
 * plain mode, so a name holding "\n[tool_result ...]" cannot forge a line
 * and an ESC or CSI (U+009B) cannot drive the terminal. In --jsonl every
 * line is one JSON object in valid UTF-8 whatever the server sent: each
 * invalid UTF-8 sequence becomes U+FFFD (as a \ufffd escape), so strict
 * parsers (jq, Go, Python on bytes) read every line.
 */
/* poll, fstat, access: POSIX. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include <sys/stat.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oa.h"

/* ------------------------------------------------------------- UTF-8 */

/*
 * The sequence at s[0..n): its length (1 to 4) when it is valid UTF-8
 * (shortest form, no surrogate, at most U+10FFFF), else minus the length
 * of its longest valid-looking start (at least 1): the "maximal subpart"
 * of Unicode 15, 3.9, which counts a cut-off sequence as one error.
 */
static int
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return -1;
	/* The second byte's range rules out overlong forms (E0, F0),
	 * surrogates (ED) and code points past U+10FFFF (F4). */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (i = 1; i < len; i++, lo = 0x80, hi = 0xbf)
		if (i >= n || s[i] < lo || s[i] > hi)
			return -(int)i;
	return (int)len;
}

/* ---------------------------------------------------------- messages */

int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("oa: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'oa --help' for more information.\n", stderr);
	return 2;
}

void
put_safe(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	int k;

	while (i < n) {
		unsigned ch = p[i];
		if (ch == '\n' || ch == '\t' || ch == '\r') {
			fprintf(f, "\\%c", ch == '\n' ? 'n' : ch == '\t' ? 't'
			                                                 : 'r');
			i++;
		} else if (ch < 0x20 || ch == 0x7f) {
			fprintf(f, "\\x%02x", ch);
			i++;
		} else if ((k = utf8_seq(p + i, n - i)) < 0) {
			fprintf(f, "\\x%02x", ch); /* not UTF-8: show the byte */
			i++;
		} else if (k == 2 && ch == 0xc2 && p[i + 1] < 0xa0) {
			fprintf(f, "\\u%04x", p[i + 1]); /* C1, e.g. CSI */
			i += 2;
		} else {
			fwrite(p + i, 1, (size_t)k, f);
			i += (size_t)k;
		}
	}
}

/* Every failure is one line, "oa: <kind>: <detail>", so a script can read
 * it; a detail that only repeats the kind is left out. */
void
report_at(int err, const char *detail, const char *where, const char *hint)
{
	const char *url = where ? strchr(where, ' ') : NULL;

	/* "POST URL" is left out when the detail names the URL already */
	if (url != NULL && detail != NULL && strstr(detail, url + 1) != NULL)
		where = NULL;
	fprintf(stderr, "oa: %s", oa_strerror(err));
	if (where != NULL || hint != NULL)
		fprintf(stderr, " (%s%s%s)", where ? where : "",
		        where && hint ? "; " : "", hint ? hint : "");
	if (detail != NULL && detail[0] != '\0' &&
	    strcmp(detail, oa_strerror(err)) != 0) {
		fputs(": ", stderr);
		put_safe(stderr, detail, strlen(detail));
	}
	putc('\n', stderr);
}

void
report(int err, const char *detail)
{
	report_at(err, detail, NULL, NULL);
}

/* ------------------------------------------------------------ JSON out */

/* One string's bytes, escaped, without the quotes. C1 and DEL are escaped
 * too: valid JSON either way, and safe on a terminal. */
static void
put_json_chars(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	int k;

	while (i < n) {
		unsigned ch = p[i];
		switch (ch) {
		case '"': fputs("\\\"", f); i++; continue;
		case '\\': fputs("\\\\", f); i++; continue;
		case '\n': fputs("\\n", f); i++; continue;
		case '\r': fputs("\\r", f); i++; continue;
		case '\t': fputs("\\t", f); i++; continue;
		case '\b': fputs("\\b", f); i++; continue;
		case '\f': fputs("\\f", f); i++; continue;
		default: break;
		}
		if (ch < 0x20 || ch == 0x7f) {
			fprintf(f, "\\u%04x", ch);
			i++;
		} else if ((k = utf8_seq(p + i, n - i)) < 0) {
			fputs("\\ufffd", f);
			i += (size_t)-k;
		} else if (k == 2 && ch == 0xc2 && p[i + 1] < 0xa0) {
			fprintf(f, "\\u%04x", p[i + 1]);
			i += 2;
		} else {
			fwrite(p + i, 1, (size_t)k, f);
			i += (size_t)k;
		}
	}
}

void
put_json(FILE *f, const char *s, size_t n)
{
	putc('"', f);
	put_json_chars(f, s, n);
	putc('"', f);
}

/*
 * JSON text on one line. Outside strings, the blanks JSON allows between
 * tokens are dropped (llama-server passes on the model's own newlines
 * inside tool arguments); a string is re-escaped by put_json_chars after
 * its escapes are copied as they are (they are already ASCII).
 */
void
put_json_text(FILE *f, const char *s, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		char ch = s[i];
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
			i++;
		} else if (ch != '"') {
			putc(ch, f);
			i++;
		} else {
			putc('"', f);
			for (i++; i < n && s[i] != '"'; i = j) {
				if (s[i] == '\\') {
					/* i + 1 < n in checked JSON; a lone
					 * '\\' at the end is left out */
					if (i + 1 < n)
						fwrite(s + i, 1, 2, f);
					j = i + 2;
					continue;
				}
				for (j = i; j < n && s[j] != '"' &&
				            s[j] != '\\'; j++)
					;
				put_json_chars(f, s + i, j - i);
			}
			putc('"', f);
			i++;
		}
	}
}

void
put_block_json(const oa_block *b)
{
	switch (b->type) {
	case OA_BLOCK_TEXT:
	case OA_BLOCK_THINKING:
		printf("{\"type\":\"%s\",\"text\":",
		       b->type == OA_BLOCK_TEXT ? "text" : "thinking");
		put_json(stdout, b->text, b->text_len);
		break;
	case OA_BLOCK_TOOL_USE:
		fputs("{\"type\":\"tool_use\",\"id\":", stdout);
		put_json(stdout, b->id, b->id_len);
		fputs(",\"name\":", stdout);
		put_json(stdout, b->name, b->name_len);
		/* The arguments were checked to be a JSON object. */
		fputs(",\"input\":", stdout);
		if (b->input_len > 0)
			put_json_text(stdout, b->input, b->input_len);
		else
			fputs("{}", stdout);
		break;
	case OA_BLOCK_TOOL_USE_ERROR:
		fputs("{\"type\":\"tool_use_error\",\"id\":", stdout);
		put_json(stdout, b->id, b->id_len);
		fputs(",\"name\":", stdout);
		put_json(stdout, b->name, b->name_len);
		fputs(",\"error\":", stdout);
		put_json(stdout, b->text, b->text_len);
		fputs(",\"raw\":", stdout);
		put_json(stdout, b->raw, b->raw_len);
		break;
	case OA_BLOCK_TOOL_RESULT:
		fputs("{\"type\":\"tool_result\",\"id\":", stdout);
		put_json(stdout, b->id, b->id_len);
		fputs(",\"content\":", stdout);
		put_json(stdout, b->text, b->text_len);
		break;
	case OA_BLOCK_TURN_END:
		fputs("{\"type\":\"turn_end\",\"finish_reason\":", stdout);
		put_json(stdout, b->finish_reason ? b->finish_reason : "",
		         b->finish_reason ? strlen(b->finish_reason) : 0);
		if (b->usage.present)
			printf(",\"usage\":{\"prompt_tokens\":%lld,"
			       "\"completion_tokens\":%lld,"
			       "\"total_tokens\":%lld}",
			       b->usage.prompt_tokens,
			       b->usage.completion_tokens,
			       b->usage.total_tokens);
		break;
	}
	fputs("}\n", stdout);
}

/* A tool block as a line of its own:
 *   [tool_use ID] NAME INPUT
 *   [tool_use_error ID] NAME: REASON
 *   [tool_result ID] RESULT
 * with everything from the server escaped and the input on one line. */
void
put_block_text(const oa_block *b)
{
	const char *kind = b->type == OA_BLOCK_TOOL_USE ? "tool_use"
	                   : b->type == OA_BLOCK_TOOL_USE_ERROR
	                   ? "tool_use_error" : "tool_result";

	printf("[%s ", kind);
	put_safe(stdout, b->id, b->id_len);
	fputs("] ", stdout);
	if (b->type == OA_BLOCK_TOOL_USE) {
		put_safe(stdout, b->name, b->name_len);
		putchar(' ');
		if (b->input_len > 0)
			put_json_text(stdout, b->input, b->input_len);
		else
			fputs("{}", stdout);
	} else if (b->type == OA_BLOCK_TOOL_USE_ERROR) {
		put_safe(stdout, b->name, b->name_len);
		fputs(": ", stdout);
		put_safe(stdout, b->text, b->text_len);
	} else {
		put_safe(stdout, b->text, b->text_len);
	}
	putchar('\n');
}

/* ---------------------------------------------------------- input */

char *
read_all(FILE *f, size_t max, size_t *len)
{
	size_t n = 0, cap = 0, ncap, got;
	char *p = NULL, *q;
	int e;

	for (;;) {
		/* Room for one byte past max, to know it is too much. */
		if (cap - n < 4096 && cap < max + 2) {
			ncap = cap ? cap * 2 : 65536;
			if (ncap > max + 2)
				ncap = max + 2;
			if ((q = realloc(p, ncap)) == NULL) {
				free(p);
				errno = ENOMEM;
				return NULL;
			}
			p = q;
			cap = ncap;
		}
		if ((got = fread(p + n, 1, cap - n - 1, f)) == 0)
			break;
		n += got;
		if (n > max) {
			free(p);
			errno = E2BIG;
			return NULL;
		}
	}
	if (ferror(f)) {
		e = errno;
		free(p);
		errno = e;
		return NULL;
	}
	p[n] = '\0';
	if (len != NULL)
		*len = n;
	return p;
}

/* A pipe on stdin that says nothing for this long is either slow or not
 * meant for oa: on a terminal oa says so and waits on; otherwise (a
 * service) it stops with an error naming --no-stdin. */
#define STDIN_WAIT_MS 5000

/* A file named by an option, read whole (at most 16 MiB). */
char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	int e;

	if (f == NULL || (s = read_all(f, 16u << 20, NULL)) == NULL) {
		e = errno;
		fprintf(stderr, "oa: %s: %s\n", path,
		        e == E2BIG ? "larger than 16 MiB" : strerror(e));
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	return s;
}

/*
 * What standard input adds to a PROMPT. Read: a regular file, and a pipe
 * (git diff | oa ...). Not read: a terminal, a socket, a device (/dev/null
 * and the like), or anything with --no-stdin. A pipe that stays silent
 * would hold oa forever, so after STDIN_WAIT_MS with neither data nor its
 * end, oa says so: on a terminal it waits on (a slow producer), otherwise
 * it stops. *out is NULL when there is nothing to add. Returns 0, or the
 * exit status of the error printed.
 */
int
read_stdin(size_t max, char **out, size_t *len)
{
	struct stat st;
	struct pollfd pfd;
	int r;

	*out = NULL;
	*len = 0;
	if (isatty(STDIN_FILENO) || fstat(STDIN_FILENO, &st) != 0 ||
	    !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)))
		return 0;
	if (S_ISFIFO(st.st_mode)) {
		pfd.fd = STDIN_FILENO;
		pfd.events = POLLIN;
		while ((r = poll(&pfd, 1, STDIN_WAIT_MS)) < 0 && errno == EINTR)
			;
		if (r == 0) {
			if (!isatty(STDERR_FILENO)) {
				fprintf(stderr, "oa: standard input is a pipe "
				        "that sent nothing in %d s: give "
				        "--no-stdin when it is not meant for "
				        "oa\n", STDIN_WAIT_MS / 1000);
				return 2;
			}
			fputs("oa: waiting for standard input (a pipe); give "
			      "--no-stdin when it is not meant for oa\n",
			      stderr);
		}
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
		errno = E2BIG;
	} else if ((*out = read_all(stdin, max, len)) != NULL) {
		return 0;
	}
	if (errno == E2BIG)
		fprintf(stderr, "oa: standard input holds more than %zu bytes: "
		        "raise --stdin-max, or send less\n", max);
	else
		fprintf(stderr, "oa: cannot read standard input: %s\n",
		        strerror(errno));
	return 1;
}

/* The directory of path can take a new file (the save writes a temporary
 * file there and renames it): checked before the request is sent, so an
 * unwritable place is known before the reply is generated. */
int
check_save(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;
	size_t n;

	if (slash == NULL) {
		strcpy(dir, ".");
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof dir)
			n = sizeof dir - 1;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "oa: cannot save to %s: it is a directory\n",
		        path);
		return -1;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		fprintf(stderr, "oa: cannot save to %s: %s: %s\n", path, dir,
		        strerror(errno));
		return -1;
	}
	return 0;
}
