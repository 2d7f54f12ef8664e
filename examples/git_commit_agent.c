/*
 * git_commit_agent.c -- a commit message for the staged change, written
 * by the model in the Conventional Commits format.
 *
 *     git_commit_agent [--print | --commit | --interactive] [--no-schema]
 *                      [BASE_URL [MODEL]]
 *
 * Run it inside a git repository after `git add`. It works in five steps:
 *
 *   1. Read the staged change: `git diff --cached`. A diff larger than
 *      DIFF_CAP is cut at a line end and preceded by the summary of every
 *      file (`git diff --cached --stat`), so a huge change still fits the
 *      model's context and no file goes unmentioned.
 *   2. Ask the model for a JSON object {type, scope, subject, body,
 *      breaking}. By default the request carries that object's JSON Schema
 *      as response_format, so a server with structured output (llama.cpp,
 *      vLLM, Ollama, LM Studio) can only produce such an object;
 *      --no-schema leaves it out for servers that reject the field.
 *   3. Read the object from the reply. Models without structured output
 *      wrap it in prose or a ```json fence, so the first '{' that starts a
 *      usable object wins. When there is none, the reply is shown as it
 *      came (and never committed without a human looking at it).
 *   4. Format the message: "type(scope)!: subject" under 72 characters, a
 *      blank line, one "- " bullet per point, and a "BREAKING CHANGE:"
 *      section when something breaks.
 *   5. Print it, then, depending on the mode:
 *        --print        nothing more (the default when stdin is not a
 *                       terminal): `git_commit_agent > msg` works;
 *        --commit       commit with it, without asking;
 *        --interactive  ask (the default on a terminal): [a]ccept commits
 *                       with `git commit -F` from a temporary file, [e]dit
 *                       opens $EDITOR (default vi) on that file,
 *                       [r]egenerate asks the model again, [q]uit.
 *      The last mode flag given wins.
 *
 * git and the editor run through fork() and execvp() with argument
 * vectors: no shell ever sees the diff or the model's text. $EDITOR is
 * split at blanks ("code --wait" works; quoting does not).
 *
 * BASE_URL, MODEL and the API key not given come from
 * OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL and OPEN_AGENT_API_KEY, then the
 * configuration file, then (the URL) LM Studio's
 * http://localhost:1234/v1, as in every example.
 *
 * Exit status: 0 the message was printed, or the commit was made; 1 an
 * error (not a git repository, git or the editor failed, the server
 * failed, or --commit with a reply that is not a commit message); 2 a
 * usage error; 3 nothing is staged; 4 the user quit (or stdin ended)
 * without committing.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openagent.h"

/* jsmn (header-only, as the library uses it) reads the model's object.
 * JSMN_STATIC keeps its functions private to this program; JSMN_STRICT
 * makes it check escapes and literals. */
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#define PROG "git_commit_agent"
#define DIFF_CAP (24 * 1024)     /* diff bytes sent to the model */
#define STAT_CAP (8 * 1024)      /* --stat bytes sent with a cut diff */
#define EDIT_CAP (1024 * 1024)   /* largest message read back from $EDITOR */
#define HEADER_MAX 72            /* the first line stays under this */
#define SCOPE_MAX 30             /* bytes; a longer scope is left out */
#define MAX_TOKENS 512           /* JSON tokens in the model's object */
#define MAX_CANDIDATES 32        /* '{' tried before giving up */
#define MAX_EDITOR_WORDS 32

enum { PRINT, COMMIT, INTERACTIVE };

static const char SYSTEM_PROMPT[] =
	"You write git commit messages in the Conventional Commits format. "
	"Answer with one JSON object and nothing else:\n"
	"{\"type\": one of feat, fix, docs, style, refactor, perf, test, "
	"chore, ci, build;\n"
	" \"scope\": the part of the code changed, one short word, or \"\";\n"
	" \"subject\": what the change does, imperative mood, lower case, no "
	"final period, under 60 characters;\n"
	" \"body\": a list of short points saying what changed and why;\n"
	" \"breaking\": what breaks for users and how to migrate, or \"\" "
	"when nothing breaks}";

/* The same object as a JSON Schema, for servers with structured output. */
static const char SCHEMA[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"type\":{\"type\":\"string\",\"enum\":[\"feat\",\"fix\",\"docs\","
	"\"style\",\"refactor\",\"perf\",\"test\",\"chore\",\"ci\",\"build\"]},"
	"\"scope\":{\"type\":\"string\"},"
	"\"subject\":{\"type\":\"string\",\"maxLength\":60},"
	"\"body\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	"\"breaking\":{\"type\":\"string\"}},"
	"\"required\":[\"type\",\"scope\",\"subject\",\"body\",\"breaking\"],"
	"\"additionalProperties\":false}";

static const char *const TYPES[] = {
	"feat", "fix", "docs", "style", "refactor", "perf", "test", "chore",
	"ci", "build", NULL
};

/* ============================================================== text */

/* A growing NUL-terminated byte string. Running out of memory ends the
 * program: there is nothing sensible left to do for a command-line tool,
 * and it keeps every caller free of checks. */
struct text {
	char *p;
	size_t len, cap;
};

static void
add(struct text *t, const char *s, size_t n)
{
	size_t cap = t->cap ? t->cap : 256;
	char *p;

	if (n > (size_t)-1 / 2 - t->len)
		goto oom;
	while (cap < t->len + n + 1)
		cap *= 2;
	if (cap != t->cap) {
		if ((p = realloc(t->p, cap)) == NULL)
			goto oom;
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
	return;
oom:
	fprintf(stderr, PROG ": out of memory\n");
	exit(1);
}

static void
adds(struct text *t, const char *s)
{
	add(t, s, strlen(s));
}

static void
set(struct text *t, const char *s, size_t n)
{
	t->len = 0;
	add(t, s, n);
}

/* s[0..n) without blanks and line ends at either side; returns the new
 * length and moves *s. */
static size_t
trim(const char **s, size_t n)
{
	while (n > 0 && strchr(" \t\r\n", **s) != NULL && **s != '\0') {
		(*s)++;
		n--;
	}
	while (n > 0 && strchr(" \t\r\n", (*s)[n - 1]) != NULL &&
	       (*s)[n - 1] != '\0')
		n--;
	return n;
}

/* Make s[0..n) valid UTF-8 without NUL bytes, in place: the request must
 * be valid JSON text (a latin-1 file in the diff would make strict
 * servers reject it) and the prompt a C string. A byte that does not
 * belong to a well-formed character becomes '?'. */
static void
scrub(char *s, size_t n)
{
	size_t i = 0, k, len;
	unsigned char c, d, lo, hi;

	while (i < n) {
		c = (unsigned char)s[i];
		lo = 0x80;
		hi = 0xBF;
		len = c == 0 ? 0 : c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 :
		      c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
		/* no overlong forms, no surrogates, nothing past U+10FFFF */
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
		else if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
		for (k = 1; k < len; k++) {
			d = i + k < n ? (unsigned char)s[i + k] : 0;
			if (d < (k == 1 ? lo : 0x80) ||
			    d > (k == 1 ? hi : 0xBF))
				len = 0;
		}
		if (len == 0) {
			s[i++] = '?';
			continue;
		}
		i += len;
	}
}

/* ========================================================== processes */

/* Step 1a. Run argv[0] with the arguments argv, never through a shell.
 * With out, its standard output is read through a pipe: the first cap
 * bytes are kept in out, and *total (when not NULL) gets the whole size,
 * so a huge diff costs no more memory than cap. With quiet, its standard
 * error goes to /dev/null (we say what went wrong ourselves). Returns
 * the exit status, 127 when the program could not be started, or -1 when
 * no process could be made (the reason printed). */
static int
run(char *const argv[], struct text *out, size_t cap, size_t *total,
    int quiet)
{
	int fd[2] = {-1, -1}, status, null;
	char buf[8192];
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	/* the child inherits our stdio buffers; empty them first, or text
	 * printed before would come out after the child's */
	fflush(stdout);
	fflush(stderr);
	if (out != NULL && pipe(fd) != 0) {
		fprintf(stderr, PROG ": pipe: %s\n", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		fprintf(stderr, PROG ": fork: %s\n", strerror(errno));
		if (out != NULL) {
			close(fd[0]);
			close(fd[1]);
		}
		return -1;
	}
	if (pid == 0) {
		if (out != NULL) {
			dup2(fd[1], STDOUT_FILENO);
			close(fd[0]);
			close(fd[1]);
		}
		if (quiet && (null = open("/dev/null", O_WRONLY)) >= 0)
			dup2(null, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127); /* the shell's code for "command not found" */
	}
	if (out != NULL) {
		close(fd[1]);
		out->len = 0;
		for (;;) {
			n = read(fd[0], buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (got < cap)
				add(out, buf, (size_t)n < cap - got ?
				              (size_t)n : cap - got);
			got += (size_t)n;
		}
		close(fd[0]);
		if (total != NULL)
			*total = got;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, PROG ": waitpid: %s\n",
			        strerror(errno));
			return -1;
		}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* run() for git, saying what failed when it did. Returns 0 or -1. */
static int
git(char *const argv[], struct text *out, size_t cap, size_t *total)
{
	int st = run(argv, out, cap, total, 0);

	if (st == 127)
		fprintf(stderr, PROG ": cannot run git: is it installed?\n");
	else if (st > 0)
		fprintf(stderr, PROG ": git %s failed (exit %d)\n", argv[1],
		        st);
	return st == 0 ? 0 : -1;
}

/* Write text to a new temporary file; path gets its name. 0 or -1. */
static int
write_temp(const struct text *t, char *path, size_t size)
{
	const char *dir = getenv("TMPDIR");
	size_t off = 0;
	ssize_t n;
	int fd;

	if (dir == NULL || *dir == '\0' ||
	    (size_t)snprintf(path, size, "%s/commit-msg-XXXXXX", dir) >= size)
		snprintf(path, size, "/tmp/commit-msg-XXXXXX");
	if ((fd = mkstemp(path)) < 0) {
		fprintf(stderr, PROG ": cannot create a temporary file in %s: "
		        "%s\n", dir ? dir : "/tmp", strerror(errno));
		return -1;
	}
	while (off < t->len) {
		n = write(fd, t->p + off, t->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, PROG ": %s: %s\n", path,
			        strerror(errno));
			close(fd);
			unlink(path);
			return -1;
		}
		off += (size_t)n;
	}
	close(fd);
	return 0;
}

/* ===================================================== reading the object */

/* The index just past token i and everything inside it. Objects count
 * their keys as children and each key its value, so one walk covers
 * both. */
static int
skip(const jsmntok_t *t, int i, int ntok)
{
	int n = t[i].size;

	for (i++; n-- > 0 && i < ntok;)
		i = skip(t, i, ntok);
	return i;
}

static int
tok_is(const char *js, const jsmntok_t *t, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(t->end - t->start) == n &&
	       memcmp(js + t->start, s, n) == 0;
}

/* The token of member key's value in the object t[0], or -1. */
static int
member(const char *js, const jsmntok_t *t, int ntok, const char *key)
{
	int i = 1, k;

	for (k = 0; k < t[0].size && i + 1 < ntok; k++) {
		if (t[i].type == JSMN_STRING && tok_is(js, &t[i], key))
			return i + 1;
		i = skip(t, i, ntok);
	}
	return -1;
}

static unsigned long
hex4(const char *s)
{
	unsigned long v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v * 16 + (unsigned long)(s[i] <= '9' ? s[i] - '0' :
		                             (s[i] | 0x20) - 'a' + 10);
	return v;
}

/* Append the string token t, its escapes decoded to UTF-8. jsmn in
 * strict mode has checked them: a backslash is followed by one of
 * "\/bfnrt or by u and four hex digits. */
static void
add_string(struct text *out, const char *js, const jsmntok_t *t)
{
	const char *s = js + t->start;
	size_t i, n = (size_t)(t->end - t->start);
	unsigned long cp, lo;
	char u[4];

	for (i = 0; i < n; i++) {
		if (s[i] != '\\') {
			add(out, s + i, 1);
			continue;
		}
		switch (s[++i]) {
		case 'b': add(out, "\b", 1); continue;
		case 'f': add(out, "\f", 1); continue;
		case 'n': add(out, "\n", 1); continue;
		case 'r': add(out, "\r", 1); continue;
		case 't': add(out, "\t", 1); continue;
		case 'u': break;
		default: add(out, s + i, 1); continue; /* " \ / */
		}
		cp = hex4(s + i + 1);
		i += 4;
		/* a UTF-16 pair is one character; a lone half is not one */
		if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < n &&
		    s[i + 1] == '\\' && s[i + 2] == 'u' &&
		    (lo = hex4(s + i + 3)) >= 0xDC00 && lo < 0xE000) {
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			i += 6;
		} else if (cp >= 0xD800 && cp < 0xE000) {
			cp = 0xFFFD;
		}
		if (cp == 0)
			continue; /* would end the C string */
		if (cp < 0x80) {
			u[0] = (char)cp;
			add(out, u, 1);
		} else if (cp < 0x800) {
			u[0] = (char)(0xC0 | cp >> 6);
			u[1] = (char)(0x80 | (cp & 0x3F));
			add(out, u, 2);
		} else if (cp < 0x10000) {
			u[0] = (char)(0xE0 | cp >> 12);
			u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
			u[2] = (char)(0x80 | (cp & 0x3F));
			add(out, u, 3);
		} else {
			u[0] = (char)(0xF0 | cp >> 18);
			u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
			u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
			u[3] = (char)(0x80 | (cp & 0x3F));
			add(out, u, 4);
		}
	}
}

/* The first line of a string member, trimmed, into out; 0 when it is
 * absent, not a string, or blank. */
static size_t
first_line(struct text *out, const char *js, const jsmntok_t *t, int v)
{
	const char *s, *nl;
	size_t n;

	set(out, "", 0);
	if (v < 0 || t[v].type != JSMN_STRING)
		return 0;
	add_string(out, js, &t[v]);
	s = out->p;
	n = (nl = memchr(s, '\n', out->len)) ? (size_t)(nl - s) : out->len;
	n = trim(&s, n);
	memmove(out->p, s, n);
	out->p[out->len = n] = '\0';
	return n;
}

/* Step 4a. Each non-blank line of s as "- line", whatever bullet the
 * model used; a blank line first, to part the body from the subject. */
static void
add_bullets(struct text *m, const char *s, size_t n)
{
	const char *line, *nl;
	size_t len, k;
	int first = 1;

	while (n > 0) {
		nl = memchr(s, '\n', n);
		len = nl ? (size_t)(nl - s) : n;
		line = s;
		k = trim(&line, len);
		if (k > 1 && (line[0] == '-' || line[0] == '*') &&
		    line[1] == ' ') {
			line++;
			k = trim(&line, k - 1);
		}
		if (k > 0) {
			adds(m, first ? "\n- " : "- ");
			add(m, line, k);
			adds(m, "\n");
			first = 0;
		}
		len += nl != NULL;
		s += len;
		n -= len;
	}
}

/* Step 4b. Keep the first line of m under HEADER_MAX characters (code
 * points, not bytes), cut at the last blank of the subject that fits, or
 * else at a character boundary. The subject starts at byte from. */
static void
cut_header(struct text *m, size_t from)
{
	size_t i, chars = 0, blank = 0;

	for (i = 0; i < m->len; i++) {
		if (m->p[i] == ' ')
			blank = i;
		if (((unsigned char)m->p[i] & 0xC0) != 0x80 &&
		    ++chars == HEADER_MAX) {
			m->len = blank > from ? blank : i;
			m->p[m->len] = '\0';
			return;
		}
	}
}

/* Steps 3 and 4 for one candidate: the JSON object js[0..n) into the
 * formatted message m. Returns 0, or -1 when it is not a usable commit
 * object (not JSON, no known type, no subject). */
static int
format_object(const char *js, size_t n, struct text *m)
{
	jsmn_parser jp;
	jsmntok_t t[MAX_TOKENS];
	struct text s = {0};
	int ntok, ty, body, brk, i, k, breaking, ok = -1;
	size_t from;

	jsmn_init(&jp);
	ntok = jsmn_parse(&jp, js, n, t, MAX_TOKENS);
	if (ntok < 1 || t[0].type != JSMN_OBJECT)
		return -1;
	ty = member(js, t, ntok, "type");
	for (k = 0; ty >= 0 && TYPES[k] != NULL; k++)
		if (t[ty].type == JSMN_STRING && tok_is(js, &t[ty], TYPES[k]))
			break;
	if (ty < 0 || TYPES[k] == NULL)
		return -1;

	/* "breaking" is a text; true (no text) and "" are accepted too */
	brk = member(js, t, ntok, "breaking");
	breaking = brk >= 0 && (t[brk].type == JSMN_STRING ?
	                        t[brk].end > t[brk].start :
	                        js[t[brk].start] == 't');

	set(m, TYPES[k], strlen(TYPES[k]));
	/* a scope is a short name; anything longer would crowd out the
	 * subject, so it is left out */
	k = (int)first_line(&s, js, t, member(js, t, ntok, "scope"));
	if (k > 0 && k <= SCOPE_MAX) {
		adds(m, "(");
		add(m, s.p, s.len);
		adds(m, ")");
	}
	adds(m, breaking ? "!: " : ": ");
	from = m->len;
	first_line(&s, js, t, member(js, t, ntok, "subject"));
	while (s.len > 0 && s.p[s.len - 1] == '.')
		s.len--;
	if (s.len == 0)
		goto out;
	add(m, s.p, s.len);
	cut_header(m, from);
	adds(m, "\n");

	/* the body: a list of points, or one text of lines */
	s.len = 0;
	body = member(js, t, ntok, "body");
	if (body >= 0 && t[body].type == JSMN_STRING)
		add_string(&s, js, &t[body]);
	if (body >= 0 && t[body].type == JSMN_ARRAY)
		for (i = body + 1, k = 0; k < t[body].size && i < ntok; k++) {
			if (t[i].type == JSMN_STRING) {
				add_string(&s, js, &t[i]);
				adds(&s, "\n");
			}
			i = skip(t, i, ntok);
		}
	add_bullets(m, s.p ? s.p : "", s.len);

	if (breaking && t[brk].type == JSMN_STRING) {
		const char *b;
		size_t bn;

		s.len = 0;
		add_string(&s, js, &t[brk]);
		b = s.p;
		if ((bn = trim(&b, s.len)) > 0) {
			adds(m, "\nBREAKING CHANGE: ");
			add(m, b, bn);
			adds(m, "\n");
		}
	}
	ok = 0;
out:
	free(s.p);
	return ok;
}

/* The index just past the '}' that closes the object opening at s[0],
 * or 0 when it never closes. Strings are skipped whole, so braces inside
 * them do not count. */
static size_t
object_end(const char *s, size_t n)
{
	size_t i, depth = 0;
	int in_string = 0;

	for (i = 0; i < n; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = 0;
		} else if (s[i] == '"') {
			in_string = 1;
		} else if (s[i] == '{') {
			depth++;
		} else if (s[i] == '}' && --depth == 0) {
			return i + 1;
		}
	}
	return 0;
}

/* Step 3. The first usable object in the reply, formatted into m. A
 * reasoning model's <think> section is skipped: it may hold drafts.
 * Returns 0, or -1 when there is none. */
static int
read_reply(const char *reply, size_t n, struct text *m)
{
	const char *p = strstr(reply, "</think>"), *end = reply + n;
	size_t len;
	int tries = 0;

	if (p != NULL)
		reply = p + strlen("</think>");
	/* bounded: a reply of nothing but braces must not take n*n steps */
	while ((p = memchr(reply, '{', (size_t)(end - reply))) != NULL &&
	       tries++ < MAX_CANDIDATES) {
		len = object_end(p, (size_t)(end - p));
		if (len > 0 && format_object(p, len, m) == 0)
			return 0;
		reply = p + 1;
	}
	return -1;
}

/* ============================================================ the model */

/* Step 2. Ask for a message; m gets it formatted, or the raw reply when
 * it holds no usable object (*raw set). History is cleared first, so a
 * regenerated message is a fresh answer to the same prompt, not a
 * conversation that grows by a whole diff each time. Returns 0 or -1. */
static int
generate(oa_client *c, const char *prompt, struct text *m, int *raw)
{
	const char *reply, *s;
	size_t len;
	int r;

	oa_truncate(c, 0);
	if ((r = oa_ask(c, prompt, &reply, &len)) != 0) {
		fprintf(stderr, PROG ": %s: %s\n", oa_strerror(r),
		        oa_errmsg(c));
		return -1;
	}
	*raw = read_reply(reply, len, m) != 0;
	if (*raw) {
		fprintf(stderr, PROG ": the reply holds no commit message "
		        "object; showing it as it came\n");
		s = reply;
		len = trim(&s, len);
		set(m, s, len);
		adds(m, "\n");
	}
	return 0;
}

/* ========================================================= committing */

/* Step 5. git commit -F with the message in a temporary file, removed
 * afterwards. git's own output (the new commit's summary) is shown. */
static int
commit(const struct text *m)
{
	char path[512];
	char *argv[] = {"git", "commit", "-F", path, NULL};
	int r;

	if (write_temp(m, path, sizeof path) != 0)
		return -1;
	r = git(argv, NULL, 0, NULL);
	unlink(path);
	return r;
}

/* [e]dit: the message in a temporary file, $EDITOR on it, the file read
 * back. The editor is split at blanks into an argument vector, the file
 * name appended. m is unchanged when anything fails or the file comes
 * back blank. Returns 0 or -1. */
static int
edit(struct text *m)
{
	const char *editor = getenv("EDITOR");
	char path[512], *argv[MAX_EDITOR_WORDS + 2], buf[4096], *w;
	struct text words = {0}, got = {0};
	const char *s;
	size_t n;
	int fd, r = -1, argc = 0;
	ssize_t k = 0;

	if (editor == NULL || *editor == '\0')
		editor = "vi";
	adds(&words, editor);
	for (w = strtok(words.p, " \t"); w != NULL; w = strtok(NULL, " \t"))
		if (argc < MAX_EDITOR_WORDS)
			argv[argc++] = w;
	if (argc == 0 || argc == MAX_EDITOR_WORDS) {
		fprintf(stderr, PROG ": cannot make sense of EDITOR=%s\n",
		        editor);
		free(words.p);
		return -1;
	}
	if (write_temp(m, path, sizeof path) != 0) {
		free(words.p);
		return -1;
	}
	argv[argc++] = path;
	argv[argc] = NULL;

	if ((k = run(argv, NULL, 0, NULL, 0)) != 0) {
		fprintf(stderr, PROG ": %s %s (exit %d); the message is "
		        "unchanged\n", k == 127 ? "cannot run" : "failed:",
		        argv[0], (int)k);
		goto out;
	}
	if ((fd = open(path, O_RDONLY)) < 0) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		goto out;
	}
	set(&got, "", 0);
	while (got.len <= EDIT_CAP && (k = read(fd, buf, sizeof buf)) != 0) {
		if (k < 0 && errno != EINTR)
			break;
		if (k > 0)
			add(&got, buf, (size_t)k);
	}
	close(fd);
	s = got.p;
	n = trim(&s, got.len);
	if (k < 0 || n == 0 || got.len > EDIT_CAP) {
		fprintf(stderr, PROG ": the edited message is %s; keeping the "
		        "previous one\n", k < 0 ? "unreadable" :
		        got.len > EDIT_CAP ? "larger than 1 MB" : "empty");
		goto out;
	}
	scrub(got.p, got.len);
	set(m, s, n);
	adds(m, "\n");
	r = 0;
out:
	unlink(path);
	free(words.p);
	free(got.p);
	return r;
}

/* The first character of the user's answer, lower case; EOF at the end
 * of input. A line longer than the buffer is read to its end. */
static int
answer(void)
{
	char line[64];
	const char *s = line;

	if (fgets(line, sizeof line, stdin) == NULL)
		return EOF;
	if (strchr(line, '\n') == NULL) {
		int ch;

		while ((ch = getchar()) != EOF && ch != '\n')
			;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	return *s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s;
}

/* =================================================================== main */

#define USAGE "usage: " PROG " [--print | --commit | --interactive] " \
	"[--no-schema] [BASE_URL [MODEL]]\n"
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
		fputs(USAGE "Write a commit message for the staged change "
		      "(git add first); --print\nshows it, --commit commits "
		      "with it, --interactive asks (the default on\na "
		      "terminal); --no-schema sends no response_format.\n"
		      SETTINGS, stdout);
		return 0;
	}
	fprintf(stderr, PROG ": %s%s\n" USAGE, why, arg);
	return 2;
}

int
main(int argc, char **argv)
{
	char *rev_parse[] = {"git", "rev-parse", "--git-dir", NULL};
	char *diff_args[] = {"git", "diff", "--cached", "--no-color",
	                     "--no-ext-diff", NULL};
	char *stat_args[] = {"git", "diff", "--cached", "--no-color",
	                     "--stat", NULL};
	struct text diff = {0}, stat = {0}, prompt = {0}, msg = {0};
	const char *pos[2] = {NULL, NULL};
	char note[256];
	size_t total, shown, npos = 0, statlen;
	oa_options opt = {0};
	oa_config cfg;
	oa_client c;
	int mode = isatty(STDIN_FILENO) ? INTERACTIVE : PRINT;
	int schema = 1, raw = 0, status = 1, i, a;

	/* A reader that goes away (git_commit_agent | head -1) makes writes
	 * fail with EPIPE instead of killing us between two git commands. */
	signal(SIGPIPE, SIG_IGN);

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--print") == 0)
			mode = PRINT;
		else if (strcmp(argv[i], "--commit") == 0)
			mode = COMMIT;
		else if (strcmp(argv[i], "--interactive") == 0)
			mode = INTERACTIVE;
		else if (strcmp(argv[i], "--no-schema") == 0)
			schema = 0;
		else if (strcmp(argv[i], "--help") == 0 ||
		         strcmp(argv[i], "-h") == 0)
			return usage(NULL, NULL);
		else if (argv[i][0] == '-')
			return usage("unknown option ", argv[i]);
		else if (npos == 2)
			return usage("too many arguments: ", argv[i]);
		else
			pos[npos++] = argv[i];
	}

	/* 1. The staged change. git rev-parse tells a repository from none
	 * before anything else runs; its "fatal:" line is replaced by ours. */
	i = run(rev_parse, &diff, 0, NULL, 1);
	if (i != 0) {
		if (i == 127)
			fprintf(stderr, PROG ": cannot run git: is it "
			        "installed?\n");
		else if (i > 0)
			fprintf(stderr, PROG ": not a git repository: run "
			        "this inside one, after git add\n");
		goto out;
	}
	if (git(diff_args, &diff, DIFF_CAP, &total) != 0)
		goto out;
	if (total == 0) {
		fprintf(stderr, PROG ": nothing staged: add changes with "
		        "git add first\n");
		status = 3;
		goto out;
	}

	/* 1b. Too large: cut at the last line end that fits (a character
	 * is never split then), and send the per-file summary along. */
	adds(&prompt, "Write the commit message for the staged change "
	     "below.");
	if (total > DIFF_CAP) {
		if (git(stat_args, &stat, STAT_CAP, &statlen) != 0)
			goto out;
		while (diff.len > 0 && diff.p[diff.len - 1] != '\n')
			diff.len--;
		shown = diff.len;
		snprintf(note, sizeof note, " Its diff is %zu bytes, too "
		         "long to show whole: the summary lists every file, "
		         "and the diff is cut after %zu bytes.", total, shown);
		adds(&prompt, note);
		while (statlen > STAT_CAP && stat.len > 0 &&
		       stat.p[stat.len - 1] != '\n')
			stat.len--;
		scrub(stat.p, stat.len);
		adds(&prompt, "\n\n$ git diff --cached --stat\n");
		add(&prompt, stat.p, stat.len);
		if (statlen > STAT_CAP)
			adds(&prompt, "[... more files]\n");
		scrub(diff.p, shown);
		adds(&prompt, "\n$ git diff --cached\n");
		add(&prompt, diff.p, shown);
		snprintf(note, sizeof note, "[... %zu more bytes]\n",
		         total - shown);
		adds(&prompt, note);
	} else {
		scrub(diff.p, diff.len);
		adds(&prompt, "\n\n$ git diff --cached\n");
		add(&prompt, diff.p, diff.len);
	}

	/* 2. The client: the command line wins, then the environment, then
	 * the configuration file, then LM Studio's default URL. The schema
	 * is optional because some servers answer 400 to a response_format
	 * they do not support. */
	if ((i = oa_config_load(&cfg, NULL)) != 0) {
		fprintf(stderr, PROG ": %s: %s\n", oa_strerror(i), cfg.error);
		goto out;
	}
	opt.base_url = oa_config_base_url(&cfg, pos[0], NULL, pos[0] != NULL);
	opt.model = oa_config_model(&cfg, pos[1], pos[1] != NULL);
	opt.api_key = oa_config_api_key(&cfg, NULL, 0);
	opt.system_prompt = SYSTEM_PROMPT;
	if (schema)
		opt.response_format = SCHEMA;
	if ((i = oa_init(&c, &opt)) != 0) {
		fprintf(stderr, PROG ": %s: %s\n", oa_strerror(i),
		        oa_errmsg(&c));
		oa_free(&c);
		goto out;
	}

	/* 3, 4 and 5. Generate, print, act. */
	if (generate(&c, prompt.p, &msg, &raw) != 0)
		goto done;
	fputs(msg.p, stdout);
	if (mode == PRINT) {
		status = 0;
	} else if (mode == COMMIT) {
		if (raw)
			fprintf(stderr, PROG ": not committing a reply that is "
			        "not a commit message\n");
		else if (commit(&msg) == 0)
			status = 0;
	} else {
		for (;;) {
			printf("\n[a]ccept, [e]dit, [r]egenerate, [q]uit? ");
			fflush(stdout);
			a = answer();
			if (a == 'a') {
				status = commit(&msg) == 0 ? 0 : 1;
				break;
			}
			if (a == 'q' || a == EOF) {
				if (a == EOF)
					putchar('\n');
				status = 4;
				break;
			}
			/* after a failed edit or request the message shown
			 * last is still the one on offer */
			if (a == 'e' && edit(&msg) == 0)
				fputs(msg.p, stdout);
			else if (a == 'r' &&
			         generate(&c, prompt.p, &msg, &raw) == 0)
				fputs(msg.p, stdout);
			else if (a != 'e' && a != 'r')
				printf("please answer a, e, r or q\n");
		}
	}
done:
	oa_free(&c);
out:
	free(diff.p);
	free(stat.p);
	free(prompt.p);
	free(msg.p);
	return status;
}
