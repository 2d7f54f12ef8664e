/*
 * oa_tools.c -- the tools of oa, and the one JSON reader it needs.
 *
 * --tools-json FILE offers the tools of an OpenAI-format tools array;
 * --demo-tools offers three built-in tools and runs them; --models prints
 * the ids of a GET /models reply. The public API has no JSON parser, so oa
 * carries a small one of its own (below).
 */
/* realpath(), for read_file of --demo-tools, is an X/Open function. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oa.h"

/* --------------------------------------------------------- --tools-json */

/*
 * The public API has no JSON parser, so oa carries a small one of its
 * own: it checks the whole file is well-formed JSON, decodes the names
 * and descriptions, and hands each "parameters" object on as its text
 * (the library sends a schema that starts with '{' as given). Strings are
 * decoded in place, which is safe because a decoded string is never longer
 * than its JSON form; the tools point into the file's buffer.
 */
#define TOOLS_FILE_MAX (1024 * 1024)
#define JSON_DEPTH_MAX 64

struct reader {
	char *s;          /* the whole text, NUL-terminated */
	char *p;          /* the next byte to read */
	const char *err;  /* what is wrong, once a function returned -1 */
};

static int
fail(struct reader *r, const char *what)
{
	r->err = what;
	return -1;
}

static void
skip_ws(struct reader *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
		r->p++;
}

static int
hex4(const char *p, unsigned *v)
{
	int i;

	for (*v = 0, i = 0; i < 4; i++, p++) {
		*v <<= 4;
		if (*p >= '0' && *p <= '9')
			*v |= (unsigned)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			*v |= (unsigned)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			*v |= (unsigned)(*p - 'A' + 10);
		else
			return -1; /* the NUL at the end stops here too */
	}
	return 0;
}

/* Code point u as UTF-8 at w; returns the byte after it. */
static char *
put_utf8(char *w, unsigned u)
{
	static const unsigned char lead[4] = {0x00, 0xc0, 0xe0, 0xf0};
	int n = u < 0x80 ? 0 : u < 0x800 ? 1 : u < 0x10000 ? 2 : 3;

	*w++ = (char)(lead[n] | u >> (6 * n));
	while (n-- > 0)
		*w++ = (char)(0x80 | (u >> (6 * n) & 0x3f));
	return w;
}

/* The string at r->p (its opening quote). With out, it is decoded in
 * place to UTF-8 and *out points at it; without, it is only checked. */
static int
read_string(struct reader *r, char **out)
{
	char *start = ++r->p, *w = start;
	unsigned u, lo;
	unsigned char ch;

	while ((ch = (unsigned char)*r->p++) != '"') {
		if (ch == '\0')
			return fail(r, "a string without its closing quote");
		if (ch < 0x20)
			return fail(r, "a control character in a string");
		if (ch == '\\') {
			switch (ch = (unsigned char)*r->p++) {
			case '"': case '\\': case '/': break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			case 'u':
				if (hex4(r->p, &u) != 0 || u == 0)
					return fail(r, "a bad \\u escape");
				r->p += 4;
				if (u >= 0xdc00 && u <= 0xdfff)
					return fail(r, "a lone \\u surrogate");
				if (u >= 0xd800 && u <= 0xdbff) {
					if (r->p[0] != '\\' || r->p[1] != 'u' ||
					    hex4(r->p + 2, &lo) != 0 ||
					    lo < 0xdc00 || lo > 0xdfff)
						return fail(r, "a lone \\u "
						            "surrogate");
					r->p += 6;
					u = 0x10000 + ((u - 0xd800) << 10) +
					    (lo - 0xdc00);
				}
				if (out != NULL)
					w = put_utf8(w, u);
				continue;
			default:
				return fail(r, "a bad escape in a string");
			}
		}
		if (out != NULL)
			*w++ = (char)ch;
	}
	if (out != NULL) {
		*w = '\0';
		*out = start;
	}
	return 0;
}

/*
 * Step through an object ('{') or array ('['): each call moves to the next
 * member (an object's key is checked, and decoded into *key when key is
 * not NULL) and leaves r->p at its value. *first starts at 1. Returns 1
 * for a member, 0 after the closing bracket, -1 on an error.
 */
static int
next_member(struct reader *r, int *first, char open, char **key)
{
	char close = open == '{' ? '}' : ']';

	skip_ws(r);
	if (*first) {
		if (*r->p != open)
			return fail(r, open == '{' ? "expected an object"
			                           : "expected an array");
		r->p++;
		skip_ws(r);
		*first = 0;
		if (*r->p == close) {
			r->p++;
			return 0;
		}
	} else if (*r->p == close) {
		r->p++;
		return 0;
	} else if (*r->p++ != ',') {
		return fail(r, open == '{' ? "expected ',' or '}'"
		                           : "expected ',' or ']'");
	} else {
		skip_ws(r);
	}
	if (open == '{') {
		if (*r->p != '"')
			return fail(r, "expected a member name in quotes");
		if (read_string(r, key) != 0)
			return -1;
		skip_ws(r);
		if (*r->p++ != ':')
			return fail(r, "expected ':'");
		skip_ws(r);
	}
	return 1;
}

/* Check one value of any kind and step over it. */
static int
skip_value(struct reader *r, int depth)
{
	const char *q;
	int first = 1, k;

	skip_ws(r);
	if (depth > JSON_DEPTH_MAX)
		return fail(r, "nested too deeply");
	if (*r->p == '"')
		return read_string(r, NULL);
	if (*r->p == '{' || *r->p == '[') {
		char open = *r->p;
		while ((k = next_member(r, &first, open, NULL)) == 1)
			if (skip_value(r, depth + 1) != 0)
				return -1;
		return k;
	}
	if (strncmp(r->p, "true", 4) == 0 || strncmp(r->p, "null", 4) == 0) {
		r->p += 4;
		return 0;
	}
	if (strncmp(r->p, "false", 5) == 0) {
		r->p += 5;
		return 0;
	}
	/* A number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
	q = r->p + (*r->p == '-');
	if (*q < '0' || *q > '9')
		return fail(r, "expected a value");
	if (*q == '0')
		q++;
	else
		while (*q >= '0' && *q <= '9')
			q++;
	if (*q == '.') {
		if (*++q < '0' || *q > '9')
			return fail(r, "a bad number");
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if (*q == 'e' || *q == 'E') {
		q += q[1] == '+' || q[1] == '-';
		if (*++q < '0' || *q > '9')
			return fail(r, "a bad number");
		while (*q >= '0' && *q <= '9')
			q++;
	}
	r->p += q - r->p;
	return 0;
}

/* One element of the tools array into t; *end is where its parameters
 * text ends (NULL when it has none). */
static int
read_tool(struct reader *r, oa_tool *t, char **end)
{
	int first = 1, inner, k, j;
	char *key, *s;

	while ((k = next_member(r, &first, '{', &key)) == 1) {
		if (strcmp(key, "type") == 0) {
			if (*r->p != '"' || read_string(r, &s) != 0 ||
			    strcmp(s, "function") != 0)
				return fail(r, "\"type\" must be \"function\"");
			continue;
		}
		if (strcmp(key, "function") != 0) {
			if (skip_value(r, 1) != 0)
				return -1;
			continue;
		}
		inner = 1;
		while ((j = next_member(r, &inner, '{', &key)) == 1) {
			if (strcmp(key, "name") == 0 ||
			    strcmp(key, "description") == 0) {
				if (*r->p != '"')
					return fail(r, "name and description "
					            "must be strings");
				if (read_string(r, &s) != 0)
					return -1;
				if (key[0] == 'n')
					t->name = s;
				else
					t->description = s;
			} else if (strcmp(key, "parameters") == 0) {
				if (*r->p != '{')
					return fail(r, "\"parameters\" must be "
					            "a JSON Schema object");
				t->parameters = r->p;
				if (skip_value(r, 2) != 0)
					return -1;
				*end = r->p;
			} else if (skip_value(r, 2) != 0) {
				return -1;
			}
		}
		if (j < 0)
			return -1;
	}
	if (k < 0)
		return -1;
	if (t->name == NULL)
		return fail(r, "a tool without \"function\":{\"name\":...}");
	return 0;
}

void
toolfile_free(struct toolfile *tf)
{
	free(tf->buf);
	free(tf->v);
	free(tf->end);
	memset(tf, 0, sizeof *tf);
}

/* Read path into tf. Returns 0, or -1 with a one-line message printed. */
int
toolfile_load(struct toolfile *tf, const char *path)
{
	struct reader r;
	size_t n, cap = 0, i;
	int first = 1, k;
	FILE *f;
	void *v, *e;

	memset(tf, 0, sizeof *tf);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "oa: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((tf->buf = malloc(TOOLS_FILE_MAX + 2)) == NULL) {
		fclose(f);
		fprintf(stderr, "oa: %s: out of memory\n", path);
		return -1;
	}
	n = fread(tf->buf, 1, TOOLS_FILE_MAX + 1, f);
	k = ferror(f) ? errno : 0;
	fclose(f);
	r.err = NULL;
	if (k != 0)
		r.err = strerror(k);
	else if (n > TOOLS_FILE_MAX)
		r.err = "larger than 1 MB";
	else if (memchr(tf->buf, '\0', n) != NULL)
		r.err = "holds a NUL byte";
	if (r.err != NULL) {
		fprintf(stderr, "oa: %s: %s\n", path, r.err);
		toolfile_free(tf);
		return -1;
	}
	tf->buf[n] = '\0';

	r.s = r.p = tf->buf;
	while ((k = next_member(&r, &first, '[', NULL)) == 1) {
		if (tf->n == cap) {
			cap = cap ? cap * 2 : 8;
			v = realloc(tf->v, cap * sizeof *tf->v);
			if (v != NULL)
				tf->v = v;
			e = realloc(tf->end, cap * sizeof *tf->end);
			if (e != NULL)
				tf->end = e;
			if (v == NULL || e == NULL) {
				r.err = "out of memory";
				break;
			}
		}
		memset(&tf->v[tf->n], 0, sizeof tf->v[tf->n]);
		tf->end[tf->n] = NULL;
		if ((k = read_tool(&r, &tf->v[tf->n], &tf->end[tf->n])) != 0)
			break;
		tf->n++;
	}
	if (k == 0) {
		skip_ws(&r);
		if (*r.p != '\0')
			k = fail(&r, "text after the tools array");
	}
	if (k != 0 || r.err != NULL) {
		fprintf(stderr, "oa: %s: at byte %ld: %s\n", path,
		        (long)(r.p - r.s), r.err);
		toolfile_free(tf);
		return -1;
	}
	/* Only now, with the parse done, end each parameters text. */
	for (i = 0; i < tf->n; i++)
		if (tf->end[i] != NULL)
			*tf->end[i] = '\0';
	return 0;
}

/* --------------------------------------------------------- --demo-tools */

/* The handlers oa runs itself. Whatever goes wrong is written to out and
 * returned as non-zero: the model gets "error: ..." and can try again. */

static int
demo_calculator(void *ctx, oa_args *args, oa_result *out)
{
	const char *op;
	size_t n;
	double a, b, v;

	(void)ctx;
	if (oa_args_number(args, "a", &a) != 0 ||
	    oa_args_number(args, "b", &b) != 0 ||
	    oa_args_string(args, "op", &op, &n) != 0 || n != 1 ||
	    strchr("+-*/", op[0]) == NULL) {
		oa_result_puts(out, "want numbers a and b and op one of "
		                    "+ - * /");
		return 1;
	}
	if (op[0] == '/' && b == 0) {
		oa_result_puts(out, "division by zero");
		return 1;
	}
	v = op[0] == '+' ? a + b : op[0] == '-' ? a - b :
	    op[0] == '*' ? a * b : a / b;
	return oa_result_printf(out, "%.15g", v) != 0;
}

static int
demo_current_time(void *ctx, oa_args *args, oa_result *out)
{
	char s[32];
	time_t t = time(NULL);
	struct tm tm;

	(void)ctx;
	(void)args;
	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL ||
	    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		oa_result_puts(out, "the clock is not available");
		return 1;
	}
	return oa_result_puts(out, s) != 0;
}

#define READ_FILE_MAX (64 * 1024)

/* Whether a path component is "..". */
static int
has_dotdot(const char *p)
{
	size_t n;

	for (;; p += n + 1) {
		n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		if (p[n] == '\0')
			return 0;
	}
}

/* Whether the resolved path lies under the resolved directory dir. */
static int
is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/*
 * read_file, confined to the current directory. The cheap checks on the
 * text come first (absolute, ".."); then both the directory and the file
 * are resolved with realpath(), which follows every symbolic link, and the
 * file must lie under the directory. The file is opened by its resolved
 * name, without following a link and without blocking (a FIFO would wait
 * for a writer), and must be a regular file of at most 64 KB with no NUL
 * byte. Nothing here starts a shell or any other program.
 */
static int
demo_read_file(void *ctx, oa_args *args, oa_result *out)
{
	const char *path, *why = NULL;
	char *here = NULL, *real = NULL, *buf = NULL;
	size_t len, n = 0;
	ssize_t got;
	struct stat st;
	int fd = -1;

	(void)ctx;
	if (oa_args_string(args, "path", &path, &len) != 0) {
		oa_result_puts(out, "path must be a string");
		return 1;
	}
	if (len == 0 || strlen(path) != len)
		why = "not a file name";
	else if (path[0] == '/')
		why = "absolute paths are not allowed; give a path relative "
		      "to the current directory";
	else if (has_dotdot(path))
		why = "\"..\" is not allowed";
	else if ((here = realpath(".", NULL)) == NULL ||
	         (real = realpath(path, NULL)) == NULL)
		why = strerror(errno);
	else if (!is_under(real, here))
		why = "it lies outside the current directory";
	else if ((fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)) < 0 ||
	         fstat(fd, &st) != 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_size > READ_FILE_MAX)
		why = "larger than 64 KB";
	else if ((buf = malloc(READ_FILE_MAX + 1)) == NULL)
		why = "out of memory";
	else {
		/* Read to the end, in case the file grew since fstat(). */
		while (n <= READ_FILE_MAX &&
		       ((got = read(fd, buf + n, READ_FILE_MAX + 1 - n)) > 0 ||
		        (got < 0 && errno == EINTR)))
			n += got > 0 ? (size_t)got : 0;
		if (got < 0)
			why = strerror(errno);
		else if (n > READ_FILE_MAX)
			why = "larger than 64 KB";
		else if (memchr(buf, '\0', n) != NULL)
			why = "not a text file";
	}
	if (why != NULL)
		oa_result_printf(out, "cannot read %s: %s", path, why);
	else
		oa_result_write(out, buf, n);
	if (fd >= 0)
		close(fd);
	free(buf);
	free(real);
	free(here);
	return why != NULL;
}

const oa_tool demo_tools[] = {
	{"calculator", "Arithmetic on two numbers: a op b.",
	 "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"},"
	 "\"b\":{\"type\":\"number\"},\"op\":{\"type\":\"string\","
	 "\"enum\":[\"+\",\"-\",\"*\",\"/\"]}},\"required\":[\"a\",\"b\","
	 "\"op\"]}", demo_calculator, NULL},
	{"current_time", "The current date and time in UTC, ISO 8601.", NULL,
	 demo_current_time, NULL},
	{"read_file", "Read a text file (at most 64 KB) in the current "
	 "directory.", "path:string", demo_read_file, NULL},
};

const size_t demo_ntools = sizeof demo_tools / sizeof demo_tools[0];

/* ------------------------------------------------------------- --models */

/*
 * The ids of {"data":[{"id":...},...]}, the shape all four servers share
 * (llama-server adds "models", vLLM "root" and "max_model_len", Ollama
 * and LM Studio "owned_by"; all ignored). With jsonl each element of
 * "data" is printed as it came, on one line.
 */
int
print_models(const char *json, size_t n, int jsonl)
{
	struct reader r;
	char *buf, *key, *id, *start;
	int first = 1, k, inner, j, found = 0, count = 0;

	if ((buf = malloc(n + 1)) == NULL) {
		fputs("oa: out of memory\n", stderr);
		return -1;
	}
	memcpy(buf, json, n);
	buf[n] = '\0';
	r.s = r.p = buf;
	r.err = NULL;
	if (memchr(buf, '\0', n) != NULL)
		k = fail(&r, "a NUL byte");
	else
		while ((k = next_member(&r, &first, '{', &key)) == 1) {
			if (strcmp(key, "data") != 0) {
				if (skip_value(&r, 1) != 0) {
					k = -1;
					break;
				}
				continue;
			}
			found = 1;
			inner = 1;
			while ((j = next_member(&r, &inner, '[', NULL)) == 1) {
				int f2 = 1, m;
				start = r.p;
				id = NULL;
				if (jsonl) {
					/* as sent: only checked, not decoded
					 * (that would write into the text) */
					if (skip_value(&r, 2) != 0) {
						j = -1;
						break;
					}
					count++;
					put_json_text(stdout, start,
					              (size_t)(r.p - start));
					putchar('\n');
					continue;
				}
				while ((m = next_member(&r, &f2, '{', &key)) == 1) {
					if (strcmp(key, "id") == 0 && *r.p == '"') {
						if (read_string(&r, &id) != 0)
							break;
					} else if (skip_value(&r, 3) != 0) {
						m = -1;
						break;
					}
				}
				if (m != 0) {
					j = -1;
					break;
				}
				count++;
				if (id != NULL) {
					put_safe(stdout, id, strlen(id));
					putchar('\n');
				}
			}
			if (j != 0) {
				k = -1;
				break;
			}
		}
	if (k == 0 && !found)
		k = fail(&r, "no \"data\" member");
	if (k != 0) {
		fprintf(stderr, "oa: the model list is not {\"data\":[{\"id\""
		        ":...},...]}: at byte %ld: %s\n", (long)(r.p - r.s),
		        r.err ? r.err : "bad JSON");
		free(buf);
		return -1;
	}
	if (count == 0)
		fputs("oa: the server lists no models\n", stderr);
	free(buf);
	return 0;
}
