/*
 * context.c -- the conversation as a whole: how many tokens it will take,
 * cutting it down, and keeping it in a file between processes; and
 * oa_ask(), a whole reply's text in one call.
 *
 * Nothing here runs by itself. The client never measures, cuts or saves
 * behind the caller's back; these functions act only when called, and
 * only between turns (oa__client_idle), when the history is complete.
 *
 * Estimating. There is no tokenizer here, only a count of what tokenizers
 * tend to do. cl100k-style pre-tokenizers cut text into words (one
 * leading space or punctuation byte joins the word), digit groups of at
 * most three, punctuation runs and whitespace runs; byte-pair merges
 * then make most English words one token, leave long or rare words in
 * two or three, and spend about one token per CJK character, more than
 * one per emoji, and about half a token per Cyrillic or Arabic letter.
 * estimate() walks the text once, adding a weight per piece in
 * hundredths of a token. The weights were fitted against cl100k_base on
 * the texts in test/fixtures/tokens.json; README.md gives the error per
 * kind of text.
 *
 * Saving writes the whole file into one buffer, then to a temporary file
 * in the same directory, fsync, rename over the old one and fsync the
 * directory: at every moment the path names either the old file or the
 * new one, whole. Loading reads the file into one buffer, parses it where
 * it lies and checks every message before the history is touched; the new
 * messages are appended after the old ones and the old ones removed only
 * once every append succeeded, so a failure leaves the history as it was.
 * The tool_calls arrays are copied out of the text before their strings
 * are unescaped in place (see oa__json_raw), so they come back byte for
 * byte as they were saved.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oa_modules.h"

/* The file format: {"format":FORMAT,"version":VERSION,"messages":[...]}. */
#define FORMAT "openagent-history"
#define VERSION 1
/* Loading refuses, before reading a byte, a file larger than the
 * client's max_history_bytes: such a history could not be sent anyway
 * (its messages alone would fill the request), and the option raises
 * both. */
/* ... and at most this many JSON values (objects, keys, strings): about
 * 150,000 messages, 21 MB of parser tokens at most. */
#define FILE_TOKENS ((size_t)1024 * 1024)

/* What a request adds around each message (role markers, separators) and
 * once around all of them (the start of the reply), in tokens. */
#define PER_MESSAGE 4
#define PER_REQUEST 3

/* ================================================================ history */

static const char *const roles[] = {"user", "assistant", "tool"};

/* see oa_modules.h */
OA_PRIVATE int
oa__client_idle(const oa_client *c)
{
	const struct oa__client *p = c ? c->p : NULL;

	return p && p->ready && !p->busy &&
	       (p->state == OA__IDLE || p->state == OA__DONE);
}

/* see oa_modules.h */
OA_PRIVATE void
oa__history_remove(oa_client *c, size_t from, size_t n)
{
	struct oa__client *p = c->p;
	size_t i;

	if (from > p->nmsgs)
		return;
	if (n > p->nmsgs - from)
		n = p->nmsgs - from;
	for (i = from; i < from + n; i++)
		oa__message_free(p, &p->msgs[i]);
	memmove(p->msgs + from, p->msgs + from + n,
	        (p->nmsgs - from - n) * sizeof *p->msgs);
	p->nmsgs -= n;
}

/* see oa_modules.h */
OA_PRIVATE int
oa__history_append(oa_client *c, const char *role, const char *content,
                   size_t len, const char *tool_calls,
                   const char *tool_call_id, const char *parts)
{
	struct oa__client *p = c->p;
	char *q = NULL;
	int r;

	for (r = 0; r < 3 && strcmp(role, roles[r]) != 0; r++)
		;
	if (r == 3 || (r == OA__TOOL) != (tool_call_id != NULL) ||
	    (tool_calls != NULL && r != OA__ASSISTANT) ||
	    (parts != NULL && r != OA__USER))
		return OA_ERR_INVALID;
	if (parts && (q = oa__strndup(&p->alloc, parts, strlen(parts))) == NULL)
		return OA_ERR_NOMEM;
	if ((r = oa__push(p, r, content, len,
	                  r == OA__TOOL ? tool_call_id : tool_calls)) != 0) {
		oa__free(&p->alloc, q);
		return r;
	}
	p->msgs[p->nmsgs - 1].parts = q;
	return 0;
}

/* ================================================================ helpers */

/* OA_ERR_STATE with a message, when the client has a message buffer. */
static int
not_idle(const oa_client *c)
{
	if (c->p == NULL)
		return OA_ERR_STATE;
	return oa__fail(c->p->errmsg, OA_ERR_STATE, "%s",
	                "the history can be changed or saved only between "
	                "turns: read the turn to its end, or send the tool "
	                "results first");
}

/* The client's message buffer, emptied for a new message. */
static char *
fresh_errmsg(const oa_client *c)
{
	char *err = c->p->errmsg;

	err[0] = '\0';
	return err;
}

/* ================================================================ estimating */

/* Weights, in hundredths of a token. */
enum {
	W_WORD = 100,       /* an ASCII word (or one camelCase part) */
	W_LONG = 24,        /* each letter of it beyond LONG_WORD */
	LONG_WORD = 7,
	W_DIGITS = 100,     /* each group of up to three digits */
	W_PUNCT = 100,      /* a run of ASCII punctuation ... */
	W_PUNCT_MORE = 15,  /* ... and each byte of it after the first */
	W_PUNCT_JOIN = 25,  /* one mark right before a word */
	W_SPACE = 100,      /* a line break run, or an indentation */
	W_HAN = 120,        /* a CJK ideograph */
	W_KANA = 105,       /* hiragana, katakana, hangul, CJK punctuation */
	W_CYRILLIC = 53,    /* a Cyrillic, Greek, Armenian letter */
	W_ARABIC = 85,      /* an Arabic or Hebrew letter */
	W_LATIN = 80,       /* an accented Latin letter */
	W_SYMBOL = 130,     /* U+2000..U+2BFF: arrows, dingbats, ... */
	W_JOINER = 100,     /* ZWJ, variation selectors, skin tones */
	W_EMOJI = 280,      /* other four-byte characters */
	W_OTHER = 100,      /* any other character, and bad UTF-8 bytes */
	W_MIN_RUN = 100     /* a run of non-Latin letters is at least this */
};

static int
is_alpha(unsigned char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
context_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	       c == '\v' || c == '\f';
}

/* Decode the UTF-8 character at s[0..n): its code point and length, or
 * -1 with length 1 for a bad byte. */
static long
decode(const unsigned char *s, size_t n, size_t *len)
{
	size_t k, i;
	long cp;

	*len = 1;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return -1;
	k = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	if (k > n)
		return -1;
	cp = s[0] & (0x3f >> (k - 1));
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
	    cp > 0x10ffff)
		return -1;
	*len = k;
	return cp;
}

/* The weight of one character outside ASCII; *run says whether it is a
 * letter of an alphabet that words are made of. */
static unsigned
weight(long cp, size_t len, int *run)
{
	*run = 0;
	if (cp < 0)
		return W_OTHER;
	if ((cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
	    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x20000 && cp <= 0x3ffff))
		return W_HAN;
	if ((cp >= 0x3000 && cp <= 0x30ff) || (cp >= 0xac00 && cp <= 0xd7af) ||
	    (cp >= 0xff00 && cp <= 0xffef))
		return W_KANA;
	if (cp == 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f) ||
	    (cp >= 0x1f3fb && cp <= 0x1f3ff))
		return W_JOINER;
	*run = 1;
	if (cp >= 0xc0 && cp <= 0x24f)
		return W_LATIN;
	if (cp >= 0x370 && cp <= 0x58f)
		return W_CYRILLIC;
	if (cp >= 0x590 && cp <= 0x6ff)
		return W_ARABIC;
	*run = 0;
	if (cp >= 0x2000 && cp <= 0x2bff)
		return W_SYMBOL;
	return len == 4 ? W_EMOJI : W_OTHER;
}

/* see openagent.h */
size_t
oa_estimate_text_tokens(const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, j, k, len, cost = 0, run;
	int brk, letter, punct = 0;
	long cp;

	if (s == NULL)
		return 0;
	while (i < n) {
		if (is_alpha(s[i])) {
			/* a word, cut where a lower-case letter meets an
			 * upper-case one, as BPE vocabularies tend to */
			for (j = i + 1; j < n && is_alpha(s[j]) &&
			     !(s[j] <= 'Z' && s[j - 1] >= 'a'); j++)
				;
			cost += W_WORD;
			if (j - i > LONG_WORD)
				cost += (j - i - LONG_WORD) * W_LONG;
			i = j;
		} else if (is_digit(s[i])) {
			/* a blank never joins a number */
			for (j = i; j < n && is_digit(s[j]); j++)
				;
			cost += (j - i + 2) / 3 * W_DIGITS;
			cost += i > 0 && s[i - 1] == ' ' ? W_SPACE : 0;
			i = j;
		} else if (context_is_space(s[i])) {
			/* one blank joins the next word; line breaks are a
			 * token, unless they end a punctuation run, and so is
			 * the indentation after them but for its last blank */
			brk = 0;
			for (j = k = i; j < n && context_is_space(s[j]); j++)
				if (s[j] == '\n' || s[j] == '\r') {
					brk |= j > k || !punct;
					k = j + 1;
				}
			cost += brk ? W_SPACE : 0;
			cost += j - k >= 2 ? W_SPACE : 0;
			i = j;
		} else if (s[i] < 0x80) {
			for (j = i + 1; j < n && s[j] < 0x80 && !is_alpha(s[j]) &&
			     !is_digit(s[j]) && !context_is_space(s[j]); j++)
				;
			/* one mark before a word tends to merge with it,
			 * unless a blank took it first */
			if (j == i + 1 && j < n && is_alpha(s[j]) &&
			    (i == 0 || s[i - 1] != ' '))
				cost += W_PUNCT_JOIN;
			else
				cost += W_PUNCT + (j - i - 1) * W_PUNCT_MORE;
			i = j;
			punct = 1;
			continue;
		} else {
			/* a run of characters outside ASCII: letters of one
			 * word cost at least a whole token between them */
			run = 0;
			do {
				cp = decode(s + i, n - i, &len);
				run += weight(cp, len, &letter);
				i += len;
			} while (letter && i < n && s[i] >= 0x80);
			cost += letter && run < W_MIN_RUN ? W_MIN_RUN : run;
		}
		punct = 0;
	}
	return (cost + 50) / 100;
}

/* see openagent.h */
size_t
oa_estimate_tokens(const oa_client *c)
{
	const char *sys;
	oa_message m;
	size_t i, n, total = PER_REQUEST;

	if (c == NULL || c->p == NULL)
		return 0;
	if ((sys = c->p->system_prompt) != NULL)
		total += PER_MESSAGE + oa_estimate_text_tokens(sys, strlen(sys));
	n = oa_history_count(c);
	for (i = 0; i < n && oa_history_get(c, i, &m) == 0; i++) {
		total += PER_MESSAGE;
		total += oa_estimate_text_tokens(m.content, m.content_len);
		if (m.tool_calls)
			total += oa_estimate_text_tokens(m.tool_calls,
			                                 strlen(m.tool_calls));
		if (m.tool_call_id)
			total += oa_estimate_text_tokens(m.tool_call_id,
			                                 strlen(m.tool_call_id));
	}
	return total;
}

/* ================================================================ truncating */

static int
is_tool(const oa_client *c, size_t i)
{
	oa_message m;

	return oa_history_get(c, i, &m) == 0 && strcmp(m.role, "tool") == 0;
}

/* see openagent.h */
int
oa_truncate(oa_client *c, size_t keep)
{
	size_t n, cut;

	if (c == NULL)
		return OA_ERR_INVALID;
	if (!oa__client_idle(c))
		return not_idle(c);
	n = oa_history_count(c);
	if (keep >= n)
		return 0;
	/* the first message kept; a tool result there would lose the call
	 * it answers, so the cut moves back to that assistant message */
	for (cut = n - keep; cut > 0 && is_tool(c, cut); cut--)
		;
	oa__history_remove(c, 0, cut);
	return 0;
}

/* ================================================================ saving */

/* The history as the file's text. */
static void
put_history(const oa_client *c, oa__buf *b)
{
	oa_message m;
	size_t i, n = oa_history_count(c);

	oa__buf_puts(b, "{\"format\":\"" FORMAT "\",\"version\":");
	oa__buf_printf(b, "%d,\"messages\":[", VERSION);
	for (i = 0; i < n && oa_history_get(c, i, &m) == 0; i++) {
		oa__buf_puts(b, i ? ",\n{\"role\":" : "\n{\"role\":");
		oa__json_put_str(b, m.role, strlen(m.role));
		if (m.tool_call_id) {
			oa__buf_puts(b, ",\"tool_call_id\":");
			oa__json_put_str(b, m.tool_call_id,
			                 strlen(m.tool_call_id));
		}
		oa__buf_puts(b, ",\"content\":");
		oa__json_put_str(b, m.content, m.content_len);
		if (m.tool_calls) {
			/* a JSON array already: it goes in as it is */
			oa__buf_puts(b, ",\"tool_calls\":");
			oa__buf_puts(b, m.tool_calls);
		}
		if (m.parts) {
			/* a message with images: its parts as sent */
			oa__buf_puts(b, ",\"parts\":");
			oa__buf_puts(b, m.parts);
		}
		oa__buf_puts(b, "}");
	}
	oa__buf_puts(b, "\n]}\n");
}

/* Flush the directory holding path, so the rename survives a power cut.
 * Best effort: some file systems refuse fsync on a directory, and by now
 * the new file is in place either way. */
static void
sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	int fd;

	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else if ((size_t)(slash - path) < sizeof dir)
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	else
		return;
	if ((fd = open(dir, O_RDONLY)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

#ifdef OA_TEST_FAULTS
/* Test builds only: OA_TEST_FAULT=rename fails the save once the
 * temporary file is written and synced; OA_TEST_FAULT=crash ends the
 * process right there, as a crash or power cut would. */
static int
fault_before_rename(void)
{
	const char *f = getenv("OA_TEST_FAULT");

	if (f != NULL && strcmp(f, "crash") == 0)
		_exit(99);
	if (f != NULL && strcmp(f, "rename") == 0) {
		errno = EIO;
		return -1;
	}
	return 0;
}
#else
#define fault_before_rename() 0
#endif

/* Write data to path atomically; on failure the temporary file is gone
 * and path untouched. */
static int
write_atomic(const char *path, const char *data, size_t len,
             const oa_allocator *a, char *err)
{
	const char *what = "cannot create a temporary file for";
	size_t n = strlen(path), off = 0;
	char *tmp;
	ssize_t w;
	int fd, e;

	if ((tmp = oa__malloc(a, n + 8)) == NULL)
		return oa__fail(err, OA_ERR_NOMEM, "%s", "out of memory");
	memcpy(tmp, path, n);
	memcpy(tmp + n, ".XXXXXX", 8);
	if ((fd = mkstemp(tmp)) < 0) {
		e = errno;
		oa__free(a, tmp);
		return oa__fail(err, OA_ERR_FILE, "%s %s: %s", what, path,
		                strerror(e));
	}
	what = "cannot write";
	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	e = close(fd);
	fd = -1;
	if (e != 0)
		goto fail;
	what = "cannot replace";
	if (fault_before_rename() != 0 || rename(tmp, path) != 0)
		goto fail;
	oa__free(a, tmp);
	sync_dir(path);
	return 0;
fail:
	e = errno ? errno : EIO;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	oa__free(a, tmp);
	return oa__fail(err, OA_ERR_FILE, "%s %s: %s", what, path,
	                strerror(e));
}

/* see openagent.h */
int
oa_history_save(const oa_client *c, const char *path)
{
	oa__buf b;
	char *err;
	int r;

	if (c == NULL || path == NULL)
		return OA_ERR_INVALID;
	if (!oa__client_idle(c))
		return not_idle(c);
	err = fresh_errmsg(c);
	if (path[0] == '\0')
		return oa__fail(err, OA_ERR_FILE, "%s", "an empty file name");
	memset(&b, 0, sizeof b);
	b.alloc = &c->p->alloc;
	put_history(c, &b);
	if (b.err)
		r = oa__fail(err, b.err, "%s", "out of memory");
	else
		r = write_atomic(path, b.p, b.len, b.alloc, err);
	oa__buf_free(&b);
	return r;
}

/* ================================================================ loading */

/* A history file over the limit: the limit, and what raises it. */
static int
too_large(const char *path, uintmax_t size, size_t max, char *err)
{
	return oa__fail(err, OA_ERR_FILE, "%s: %ju bytes, more than "
	                "max_history_bytes (%zu); raise that option to load "
	                "it", path, size, max);
}

/* The whole file, into b: at most max bytes, the size checked first. */
static int
read_all(const char *path, oa__buf *b, size_t max, char *err)
{
	struct stat st;
	ssize_t got;
	size_t room;
	int fd, e;

	if ((fd = open(path, O_RDONLY)) < 0)
		return oa__fail(err, OA_ERR_FILE, "%s: %s", path,
		                strerror(errno));
	e = fstat(fd, &st) != 0 ? errno : S_ISREG(st.st_mode) ? 0 : EISDIR;
	if (e) {
		close(fd);
		return oa__fail(err, OA_ERR_FILE, "%s: %s", path,
		                e == EISDIR ? "not a regular file" : strerror(e));
	}
	/* Refused before anything is read or allocated; a file that grows
	 * while it is read is caught by the loop's bound. */
	if ((uintmax_t)st.st_size > (uintmax_t)max) {
		close(fd);
		return too_large(path, (uintmax_t)st.st_size, max, err);
	}
	/* one byte past max is enough to know it is too large */
	for (e = 0; b->len <= max;) {
		room = max + 1 - b->len;
		room = room < 65536 ? room : 65536;
		if (oa__buf_reserve(b, room) != 0)
			break;
		got = read(fd, b->p + b->len, room);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			e = got < 0 ? errno : 0;
			break;
		}
		b->len += (size_t)got;
		b->p[b->len] = '\0';
	}
	close(fd);
	if (b->err)
		return oa__fail(err, b->err, "%s", "out of memory");
	if (e)
		return oa__fail(err, OA_ERR_FILE, "%s: %s", path, strerror(e));
	if (b->len > max)
		return too_large(path, (uintmax_t)b->len, max, err);
	return 0;
}

/* A string member's value with no NUL inside (ids, roles), or NULL. */
static const char *
name(oa__json *j, int t)
{
	size_t n;
	const char *s = oa__json_str(j, t, &n);

	return s != NULL && strlen(s) == n ? s : NULL;
}

/* Whether t is a tool_calls array: calls with an id, a function name and
 * arguments text. */
static int
calls_ok(oa__json *j, int t)
{
	const char *id;
	int k, f;

	if (oa__json_type(j, t) != OA__JSON_ARRAY || oa__json_count(j, t) < 1)
		return 0;
	for (k = oa__json_first(j, t); k >= 0; k = oa__json_next(j, k)) {
		id = name(j, oa__json_get(j, k, "id"));
		f = oa__json_get(j, k, "function");
		if (oa__json_type(j, k) != OA__JSON_OBJECT || id == NULL ||
		    id[0] == '\0' ||
		    oa__json_type(j, oa__json_get(j, f, "name")) !=
		    OA__JSON_STRING ||
		    oa__json_type(j, oa__json_get(j, f, "arguments")) !=
		    OA__JSON_STRING)
			return 0;
	}
	return 1;
}

/* Whether the calls array t has a call with that id. */
static int
has_call(oa__json *j, int t, const char *id)
{
	int k;

	for (k = oa__json_first(j, t); k >= 0; k = oa__json_next(j, k)) {
		const char *s = name(j, oa__json_get(j, k, "id"));
		if (s != NULL && strcmp(s, id) == 0)
			return 1;
	}
	return 0;
}

/*
 * Check every message of the parsed file j. The tool_calls arrays are
 * copied into calls, each followed by a NUL, before anything inside them
 * is unescaped. Returns 0, or OA_ERR_FILE with what is wrong in err.
 */
static int
check_file(oa__json *j, const char *path, oa__buf *calls, char *err)
{
	int msgs = oa__json_get(j, 0, "messages"), v = oa__json_get(j, 0,
	                                                          "version");
	int m, t, pt, group = -1, i = 0;
	const char *role, *s, *what;
	long long version;
	size_t n;

	if (oa__json_type(j, 0) != OA__JSON_OBJECT ||
	    !oa__json_eq(j, oa__json_get(j, 0, "format"), FORMAT))
		return oa__fail(err, OA_ERR_FILE, "%s: not an openagent "
		                "history (no \"format\":\"" FORMAT "\")", path);
	if (oa__json_int(j, v, &version) != 0 || version < 1)
		return oa__fail(err, OA_ERR_FILE, "%s: no valid \"version\"",
		                path);
	if (version > VERSION)
		return oa__fail(err, OA_ERR_FILE, "%s: version %lld is newer "
		                "than this library reads (%d)", path, version,
		                VERSION);
	if (oa__json_type(j, msgs) != OA__JSON_ARRAY)
		return oa__fail(err, OA_ERR_FILE, "%s: no \"messages\" array",
		                path);
	for (m = oa__json_first(j, msgs); m >= 0; m = oa__json_next(j, m), i++) {
		what = "is not an object with a role and a content string";
		role = name(j, oa__json_get(j, m, "role"));
		if (oa__json_type(j, m) != OA__JSON_OBJECT || role == NULL ||
		    oa__json_type(j, oa__json_get(j, m, "content")) !=
		    OA__JSON_STRING)
			goto bad;
		t = oa__json_get(j, m, "tool_calls");
		s = oa__json_raw(j, t, &n);
		if (t >= 0 && strcmp(role, "assistant") != 0) {
			what = "has tool_calls but is not from the assistant";
			goto bad;
		}
		if (t >= 0) {
			oa__buf_append(calls, s, n);
			oa__buf_append(calls, "", 1);
			what = "has a malformed tool_calls array";
			if (!calls_ok(j, t))
				goto bad;
		}
		pt = oa__json_get(j, m, "parts");
		if (pt >= 0) {
			what = "has parts but is not a user message with an "
			       "array of them";
			if (strcmp(role, "user") != 0 ||
			    oa__json_type(j, pt) != OA__JSON_ARRAY)
				goto bad;
			s = oa__json_raw(j, pt, &n);
			oa__buf_append(calls, s, n);
			oa__buf_append(calls, "", 1);
		}
		if (strcmp(role, "user") == 0 ||
		    strcmp(role, "assistant") == 0) {
			what = "has a tool_call_id but is not a tool result";
			if (oa__json_get(j, m, "tool_call_id") >= 0)
				goto bad;
			group = t;
			continue;
		}
		what = "has an unknown role";
		if (strcmp(role, "tool") != 0)
			goto bad;
		what = "answers no tool call of the assistant message before "
		       "it";
		s = name(j, oa__json_get(j, m, "tool_call_id"));
		if (s == NULL || group < 0 || !has_call(j, group, s))
			goto bad;
	}
	if (calls->err)
		return oa__fail(err, calls->err, "%s", "out of memory");
	return 0;
bad:
	return oa__fail(err, OA_ERR_FILE, "%s: message %d %s", path, i, what);
}

/* Append the checked messages of j to the history. */
static int
append_all(oa_client *c, oa__json *j, const char *calls)
{
	int m, msgs = oa__json_get(j, 0, "messages"), r;
	const char *content, *tc;
	size_t n;

	for (m = oa__json_first(j, msgs); m >= 0; m = oa__json_next(j, m)) {
		tc = NULL;
		if (oa__json_get(j, m, "tool_calls") >= 0) {
			tc = calls;
			calls += strlen(calls) + 1;
		}
		content = oa__json_str(j, oa__json_get(j, m, "content"), &n);
		if (oa__json_get(j, m, "parts") >= 0) {
			r = oa__history_append(c, "user", content, n, NULL,
			                       NULL, calls);
			calls += strlen(calls) + 1;
			if (r != 0)
				return r;
			continue;
		}
		r = oa__history_append(c, name(j, oa__json_get(j, m, "role")),
		                       content, n, tc,
		                       name(j, oa__json_get(j, m,
		                                            "tool_call_id")),
		                       NULL);
		if (r != 0)
			return r;
	}
	return 0;
}

/* see openagent.h */
int
oa_history_load(oa_client *c, const char *path)
{
	oa__buf text, calls;
	oa__json j;
	char *err, detail[OA__ERRLEN] = "";
	size_t old;
	int r;

	if (c == NULL || path == NULL)
		return OA_ERR_INVALID;
	if (!oa__client_idle(c))
		return not_idle(c);
	err = fresh_errmsg(c);
	memset(&text, 0, sizeof text);
	memset(&calls, 0, sizeof calls);
	memset(&j, 0, sizeof j);
	text.alloc = calls.alloc = j.alloc = &c->p->alloc;
	j.max_tokens = FILE_TOKENS;
	if ((r = read_all(path, &text, c->p->body.limit, err)) != 0)
		goto out;
	if ((r = oa__json_parse(&j, text.p, text.len, detail)) != 0) {
		r = r == OA_ERR_NOMEM ? r : OA_ERR_FILE;
		oa__fail(err, r, "%s: %s", path, detail);
		goto out;
	}
	if ((r = check_file(&j, path, &calls, err)) != 0)
		goto out;
	old = oa_history_count(c);
	if ((r = append_all(c, &j, calls.p)) != 0) {
		oa__history_remove(c, old, oa_history_count(c) - old);
		oa__fail(err, r, "%s", "out of memory");
		goto out;
	}
	oa__history_remove(c, 0, old);
out:
	oa__json_free(&j);
	oa__buf_free(&text);
	oa__buf_free(&calls);
	return r;
}

/* ================================================================ asking */

/* see openagent.h */
int
oa_ask(oa_client *c, const char *prompt, const char **text, size_t *len)
{
	struct oa__client *p;
	oa_block b;
	int r;

	if (text == NULL)
		return OA_ERR_INVALID;
	*text = NULL;
	if ((r = oa_query(c, prompt)) != 0)
		return r;
	p = c->p;
	oa__buf_reset(&p->ask);
	while ((r = oa_next(c, &b)) > 0)
		if (b.type == OA_BLOCK_TEXT &&
		    oa__buf_append(&p->ask, b.text, b.text_len)) {
			snprintf(p->errmsg, sizeof p->errmsg, "out of memory");
			return p->ask.err;
		}
	if (r < 0)
		return r;
	*text = p->ask.p ? p->ask.p : "";
	if (len)
		*len = p->ask.len;
	return 0;
}
