/*
 * log_analyzer_agent.c -- summarise log files, then ask a model what they
 * mean.
 *
 *     log_analyzer_agent [--base-url URL] [--model NAME] [--since TIME]
 *                        [--until TIME] [--top N] [--summary-only]
 *                        [--interactive] [FILE...]
 *
 * The program does the counting itself and leaves only the judgement to
 * the model, in four steps:
 *
 *   1. Read every FILE ("-" or no FILE at all: standard input) line by
 *      line through one fixed buffer, so memory stays the same whether a
 *      file holds a kilobyte or a terabyte. A line longer than LINE_CAP
 *      bytes is cut there (the rest is skipped) and counted.
 *   2. Parse each line; the first format that matches wins:
 *        JSON lines   {"timestamp"|"time"|"ts"|"datetime": ...,
 *                      "level"|"severity"|"log_level": ...,
 *                      "message"|"msg"|"event": ...}; a numeric time is
 *                      seconds (or milliseconds) since 1970, a numeric
 *                      level is bunyan's (50 error, 40 warning)
 *        ISO          2024-03-05T10:00:00.123+01:00 [ERROR] message, or
 *                      a bare level, or the level after a logger name
 *        access log   Apache and nginx common or combined lines; a 5xx
 *                      status is an error, a 4xx a warning
 *        syslog       RFC 3164 "<PRI>Mar  5 10:00:00 host tag: message"
 *                      (PRI optional) and RFC 5424
 *                      "<PRI>1 2024-03-05T10:00:00Z host app pid id - msg";
 *                      the PRI's severity gives the level
 *        time only    10:00:00 [ERROR] message
 *        plain        anything else: the whole line is the message, with a
 *                      level only when its first word is one (ERROR: ...)
 *      Every time is turned into UTC: Z, +hh:mm, +hhmm and +hh offsets
 *      are applied, and a time without a zone is taken as UTC already.
 *      Two formats carry no year or no date at all, so the file supplies
 *      it. An RFC 3164 stamp takes the year that puts it nearest to the
 *      last full time seen earlier in the same file (so "Dec 31" then
 *      "Jan  1" moves on to the next year); before any, it takes the
 *      current year, or the year before when the current one would put
 *      it more than a day in the future (December's log read in January).
 *      A time-only line takes the date of the line before it, moved a day
 *      on when the clock went back more than twelve hours (midnight).
 *      A line with no time at all (a stack trace under its error) gets
 *      the time of the line before it, so --since and --until keep or
 *      drop it together with its entry.
 *   3. Count: entries per level and format, the time range, the hour with
 *      the most errors, and error messages grouped into patterns (numbers,
 *      hex ids, UUIDs, IP addresses and paths replaced by <N>, <HEX>,
 *      <UUID>, <IP>, <PATH>). Tables are fixed in size; what does not fit
 *      is counted and said in the summary, never dropped silently.
 *   4. Print the summary, and send it to the model for a prioritised
 *      analysis, printed as it streams. With --interactive, follow-up
 *      questions are read from standard input, one per line, in the same
 *      conversation: "summary" prints the summary again, "quit" ends, and
 *      a question that mentions errors gets one sample line per top error
 *      pattern attached.
 *
 * --since and --until take ISO 8601 times (a date alone is its midnight,
 * UTC) and keep the entries in between, both ends included. The URL, the
 * model and the API key not given come from OPEN_AGENT_BASE_URL,
 * OPEN_AGENT_MODEL and OPEN_AGENT_API_KEY, then the configuration file,
 * then (the URL) LM Studio's http://localhost:1234/v1, as in every
 * example. Exit status 0, 1 on an error (a file
 * that cannot be read, a failed request), 2 on a usage error.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "openagent.h"

#define LINE_CAP (64 * 1024)  /* longer lines are cut to this */
#define PAT_CAP 160           /* one normalised error pattern */
#define SAMPLE_CAP 300        /* one sample error line */
#define MAX_PATTERNS 1000     /* distinct error patterns kept */
#define PAT_SLOTS 2048        /* hash slots for them: a power of two */
#define HOUR_SLOTS 8192       /* hash slots for error hours */
#define MAX_HOURS (HOUR_SLOTS * 3 / 4) /* hours kept: probes stay short */
#define SUMMARY_CAP (32 * 1024)
#define QUESTION_CAP 4096
#define DEFAULT_TOP 10
#define MAX_TOP 50
#define HALF_YEAR (183LL * 86400)

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_HEX(c) (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || \
                   ((c) >= 'A' && (c) <= 'F'))
#define IS_ALNUM(c) (isalnum((unsigned char)(c)))
#define IS_BLANK(c) ((c) == ' ' || (c) == '\t')

enum { LVL_ERROR, LVL_WARNING, LVL_INFO, LVL_DEBUG, LVL_OTHER, NLEVELS };
enum { FMT_JSON, FMT_ISO, FMT_ACCESS, FMT_SYSLOG, FMT_SYSLOG5424,
       FMT_TIME, FMT_PLAIN, NFORMATS };

/* One parsed line. msg points into the line or into buf. */
struct entry {
	int format, level;
	int dated;                 /* t is valid */
	long long t;               /* seconds since 1970, UTC */
	const char *msg;
	size_t keep;               /* leading bytes of msg kept verbatim */
	char buf[LINE_CAP + 32];   /* messages unescaped (JSON) or rebuilt */
};

/* What one file has told us so far: the context for stamps without year
 * or date, and for lines without a time. */
struct file {
	const char *name;
	unsigned long long line;
	int dated;
	long long last;            /* the last time seen in this file */
};

struct pattern {
	char text[PAT_CAP];        /* the normalised message */
	char sample[SAMPLE_CAP];   /* the first line that had it */
	const char *src;           /* and where it was */
	unsigned long long line, count;
};

struct hour {
	long long hour;            /* hours since 1970 */
	unsigned long long errors; /* 0: the slot is free */
};

/* Everything counted, in fixed-size tables: one allocation in total. */
struct stats {
	long long now, since, until;
	int has_since, has_until;
	unsigned long long lines, blank, cut, entries, filtered;
	unsigned long long level[NLEVELS], format[NFORMATS];
	unsigned long long ungrouped;  /* errors past MAX_PATTERNS patterns */
	unsigned long long unhoured;   /* errors past MAX_HOURS hours */
	int dated;
	long long first, last;
	size_t npatterns, nhours;
	unsigned short slot[PAT_SLOTS];  /* pattern index + 1; 0: free */
	struct pattern pattern[MAX_PATTERNS];
	struct hour hour[HOUR_SLOTS];
	const struct pattern *order[MAX_PATTERNS]; /* for sorting */
	struct entry entry;
};

/* A bounded text: appends past the end are cut, never overflow. */
struct text {
	char *s;
	size_t len, cap;
};

static void
add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->len + 1 >= t->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n < t->cap - t->len ? (size_t)n :
		          t->cap - t->len - 1;
}

/* ------------------------------------------------------------------ time */

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian, any year: shift the
 * year to start in March so the leap day comes last, then count 400-year
 * eras, years, and days by the 153-day five-month cycle. */
static long long
days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static long long
stamp(long long y, int mo, int d, int h, int mi, int s)
{
	return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* Days in month m; February 29 is checked only when y is known (y > 0). */
static int
mdays(int y, int m)
{
	static const char n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	                         31};

	return m == 2 && (y <= 0 || (y % 4 == 0 && (y % 100 || y % 400 == 0))) ?
	       29 : n[m - 1];
}

static int
year_of(long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	return gmtime_r(&tt, &tm) ? tm.tm_year + 1900 : 1970;
}

/* t as 2024-03-05T10:00:00Z (fmt "%Y-%m-%dT%H:%M:%SZ") or any strftime
 * format. */
static const char *
show_time(long long t, const char *fmt, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(out, n, fmt, &tm) == 0)
		snprintf(out, n, "?");
	return out;
}

/* Exactly n decimal digits at p. Stops at the first non-digit, so it never
 * reads past a NUL. */
static int
num(const char *p, int n, int *v)
{
	int i;

	for (*v = 0, i = 0; i < n; i++) {
		if (!IS_DIGIT(p[i]))
			return 0;
		*v = *v * 10 + (p[i] - '0');
	}
	return 1;
}

static int
month(const char *p)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int i;

	for (i = 0; i < 12; i++)
		if (strncmp(p, names + 3 * i, 3) == 0)
			return i + 1;
	return 0;
}

/* "hh:mm:ss", then an optional fraction (dropped: we count seconds). */
static const char *
parse_clock(const char *p, int *h, int *mi, int *s)
{
	if (!num(p, 2, h) || p[2] != ':' || !num(p + 3, 2, mi) ||
	    p[5] != ':' || !num(p + 6, 2, s) || *h > 23 || *mi > 59 ||
	    *s > 60)
		return NULL;
	p += 8;
	if ((*p == '.' || *p == ',') && IS_DIGIT(p[1]))
		for (p++; IS_DIGIT(*p); p++)
			;
	return p;
}

/* "Z", "+hh:mm", "+hhmm" or "+hh" (or '-'): *off is seconds east of UTC.
 * No zone at all returns p itself with *off 0; a malformed one NULL. */
static const char *
parse_zone(const char *p, int *off)
{
	int h, m = 0, sign = *p == '-' ? -1 : 1;

	*off = 0;
	if (*p == 'Z' || *p == 'z')
		return p + 1;
	if ((*p != '+' && *p != '-') || !num(p + 1, 2, &h))
		return p;
	p += 3;
	if (*p == ':' && num(p + 1, 2, &m))
		p += 3;
	else if (num(p, 2, &m))
		p += 2;
	if (h > 23 || m > 59)
		return NULL;
	*off = sign * (h * 3600 + m * 60);
	return p;
}

/* An ISO 8601 time, "2024-03-05T10:00:00.5+01:00" ('/' or '-' in the date,
 * 'T' or ' ' before the clock, a blank allowed before a numeric zone).
 * need_time: log lines need the clock; --since accepts a date alone.
 * Returns the end, or NULL. */
static const char *
parse_iso(const char *p, int need_time, long long *t)
{
	int y, mo, d, h = 0, mi = 0, s = 0, off = 0;
	const char *q, *z;

	if (!num(p, 4, &y) || (p[4] != '-' && p[4] != '/') ||
	    !num(p + 5, 2, &mo) || p[7] != p[4] || !num(p + 8, 2, &d) ||
	    mo < 1 || mo > 12 || d < 1 || d > mdays(y, mo))
		return NULL;
	p += 10;
	if ((*p == 'T' || *p == ' ') &&
	    (q = parse_clock(p + 1, &h, &mi, &s)) != NULL) {
		p = q;
		if (*q == ' ' && (q[1] == '+' || q[1] == '-') && IS_DIGIT(q[2]))
			q++;
		if (!(z = parse_zone(q, &off)))
			return NULL;
		if (z != q)
			p = z;
	} else if (need_time) {
		return NULL;
	}
	*t = stamp(y, mo, d, h, mi, s) - off;
	return p;
}

/* ---------------------------------------------------------------- levels */

static int
level_of(const char *w, size_t n)
{
	static const struct {
		const char *word;
		int level;
	} words[] = {
		{"error", LVL_ERROR}, {"err", LVL_ERROR}, {"fatal", LVL_ERROR},
		{"critical", LVL_ERROR}, {"crit", LVL_ERROR},
		{"severe", LVL_ERROR}, {"alert", LVL_ERROR},
		{"emerg", LVL_ERROR}, {"emergency", LVL_ERROR},
		{"panic", LVL_ERROR}, {"warning", LVL_WARNING},
		{"warn", LVL_WARNING}, {"info", LVL_INFO},
		{"notice", LVL_INFO}, {"debug", LVL_DEBUG},
		{"trace", LVL_DEBUG},
	};
	size_t i;

	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i].word) == n &&
		    strncasecmp(w, words[i].word, n) == 0)
			return words[i].level;
	return LVL_OTHER;
}

/* Look for a level among the first ntok words of p. A word counts as a
 * level when it is the first one, or is bracketed ("[error]", "<warn>"),
 * or is in capitals (after a logger or thread name: "main ERROR"), so
 * that prose ("connection error") is not mistaken for one. Returns where
 * the message starts: after the level word when there is one. */
static const char *
find_level(const char *p, int ntok, int *level)
{
	const char *w, *e, *a, *b, *c;
	int i, caps;

	*level = LVL_OTHER;
	while (IS_BLANK(*p))
		p++;
	for (w = p, i = 0; i < ntok && *w; i++) {
		for (e = w; *e && !IS_BLANK(*e); e++)
			;
		for (a = w; a < e && strchr("[(<", *a); a++)
			;
		for (b = e; b > a && strchr("])>:,", b[-1]); b--)
			;
		for (caps = 1, c = a; c < b; c++)
			caps &= !islower((unsigned char)*c);
		if ((i == 0 || a > w || caps) &&
		    (*level = level_of(a, (size_t)(b - a))) != LVL_OTHER) {
			while (IS_BLANK(*e) || *e == '-' || *e == ':')
				e++;
			return e;
		}
		for (w = e; IS_BLANK(*w); w++)
			;
	}
	return p;
}

/* --------------------------------------------------------------- formats */

/* Four hex digits. */
static int
hex4(const char *p, unsigned long *v)
{
	int i;

	for (*v = 0, i = 0; i < 4; i++) {
		if (!IS_HEX(p[i]))
			return 0;
		*v = *v * 16 + (unsigned long)(IS_DIGIT(p[i]) ? p[i] - '0' :
		                               (p[i] | 0x20) - 'a' + 10);
	}
	return 1;
}

/* A JSON string at p (on its opening quote), unescaped into out (cap
 * bytes, cut to fit; out may be NULL to skip). Returns the end, or NULL
 * when the string is malformed. */
static const char *
json_string(const char *p, char *out, size_t cap)
{
	size_t o = 0, n;
	unsigned long c, lo;
	char u[4];
	size_t i;

	for (p++; *p != '"'; p++) {
		if (!*p)
			return NULL;
		n = 1;
		u[0] = *p;
		if (*p == '\\') {
			switch (*++p) {
			case 'n': u[0] = '\n'; break;
			case 't': u[0] = '\t'; break;
			case 'r': u[0] = '\r'; break;
			case 'b': u[0] = '\b'; break;
			case 'f': u[0] = '\f'; break;
			case '"': case '\\': case '/': u[0] = *p; break;
			case 'u':
				if (!hex4(p + 1, &c))
					return NULL;
				p += 4;
				/* a surrogate pair makes one character;
				 * half of one is not a character */
				if (c >= 0xd800 && c < 0xdc00 && p[1] == '\\' &&
				    p[2] == 'u' && hex4(p + 3, &lo) &&
				    lo >= 0xdc00 && lo < 0xe000) {
					c = 0x10000 + ((c - 0xd800) << 10) +
					    (lo - 0xdc00);
					p += 6;
				} else if (c >= 0xd800 && c < 0xe000) {
					c = '?';
				}
				if (c < 0x80) {
					u[0] = (char)c;
				} else if (c < 0x800) {
					u[0] = (char)(0xc0 | c >> 6);
					n = 2;
				} else if (c < 0x10000) {
					u[0] = (char)(0xe0 | c >> 12);
					n = 3;
				} else {
					u[0] = (char)(0xf0 | c >> 18);
					n = 4;
				}
				for (i = n - 1; i > 0; i--, c >>= 6)
					u[i] = (char)(0x80 | (c & 0x3f));
				break;
			default:
				return NULL;
			}
		}
		if (out && o + n < cap) {
			memcpy(out + o, u, n);
			o += n;
		}
	}
	if (out && cap)
		out[o] = '\0';
	return p + 1;
}

static const char *
skip_blanks(const char *p)
{
	while (IS_BLANK(*p) || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Skip one JSON value; objects and arrays by counting brackets outside
 * strings, which is all a flat log record needs. NULL when malformed. */
static const char *
skip_value(const char *p)
{
	const char *start = p;
	int depth = 0;

	if (*p == '"')
		return json_string(p, NULL, 0);
	if (*p == '{' || *p == '[') {
		do {
			if (*p == '"') {
				if (!(p = json_string(p, NULL, 0)))
					return NULL;
				continue;
			}
			if (!*p)
				return NULL;
			depth += (*p == '{' || *p == '[') -
			         (*p == '}' || *p == ']');
			p++;
		} while (depth > 0);
		return p;
	}
	while (*p && !strchr(",}] \t", *p))
		p++;
	return p == start ? NULL : p;
}

/* Which of the names a key is: its index, or -1. */
static int
key_index(const char *key, const char *const *names)
{
	int i;

	for (i = 0; names[i]; i++)
		if (strcmp(key, names[i]) == 0)
			return i;
	return -1;
}

/* A JSON object per line. The first name of each list that is present
 * wins over the later ones, wherever it stands in the object. */
static int
parse_json(const char *line, struct entry *e)
{
	static const char *const tnames[] = {"timestamp", "time", "ts",
	                                     "datetime", NULL};
	static const char *const lnames[] = {"level", "severity", "log_level",
	                                     NULL};
	static const char *const mnames[] = {"message", "msg", "event", NULL};
	const char *p = skip_blanks(line), *v[3] = {NULL, NULL, NULL}, *q;
	int best[3] = {99, 99, 99}, k, i;
	char key[16], word[32], ts[64], *end;
	double d;

	if (*p != '{')
		return 0;
	for (p = skip_blanks(p + 1); *p != '}'; ) {
		if (*p != '"' || !(p = json_string(p, key, sizeof key)))
			return 0;
		p = skip_blanks(p);
		if (*p != ':')
			return 0;
		q = skip_blanks(p + 1);
		if (!(p = skip_value(q)))
			return 0;
		for (k = 0; k < 3; k++) {
			i = key_index(key, k == 0 ? tnames : k == 1 ? lnames :
			              mnames);
			if (i >= 0 && i < best[k]) {
				best[k] = i;
				v[k] = q;
			}
		}
		p = skip_blanks(p);
		if (*p == ',')
			p = skip_blanks(p + 1);
		else if (*p != '}')
			return 0;
	}
	if (*skip_blanks(p + 1))
		return 0;

	e->dated = 0;
	if (v[0] && *v[0] == '"') {
		json_string(v[0], ts, sizeof ts);
		q = parse_iso(ts, 1, &e->t);
		e->dated = q && !*q;
	} else if (v[0] && (IS_DIGIT(*v[0]) || *v[0] == '-')) {
		d = strtod(v[0], &end);
		if (d > 1e11 || d < -1e11)
			d /= 1000; /* milliseconds */
		/* NaN and infinities fail the range test too */
		if ((e->dated = end != v[0] && d > -1e11 && d < 1e11))
			e->t = (long long)d;
	}
	e->level = LVL_OTHER;
	if (v[1] && *v[1] == '"') {
		json_string(v[1], word, sizeof word);
		e->level = level_of(word, strlen(word));
	} else if (v[1] && IS_DIGIT(*v[1])) {
		i = atoi(v[1]);
		e->level = i >= 50 ? LVL_ERROR : i >= 40 ? LVL_WARNING :
		           i >= 30 ? LVL_INFO : LVL_DEBUG;
	}
	e->msg = line;
	if (v[2] && *v[2] == '"') {
		json_string(v[2], e->buf, sizeof e->buf);
		e->msg = e->buf;
	}
	e->keep = 0;
	return 1;
}

/* [2024-03-05 10:00:00,123] app.db ERROR message */
static int
parse_iso_line(const char *line, struct entry *e)
{
	const char *p = line + (*line == '[');

	if (!(p = parse_iso(p, 1, &e->t)))
		return 0;
	if (*p == ']')
		p++;
	if (*p && !IS_BLANK(*p))
		return 0;
	e->dated = 1;
	e->msg = find_level(p, 5, &e->level);
	e->keep = 0;
	return 1;
}

/* 10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.1" 500 12
 * The message is "500 GET /a", its status kept out of the normalising. */
static int
parse_access(const char *line, struct entry *e)
{
	const char *p = line, *q, *req, *sp;
	int i, d, mo, y, h, mi, s, off, status;

	for (i = 0; i < 3; i++) {
		for (q = p; *p && *p != ' '; p++)
			;
		if (p == q || *p++ != ' ')
			return 0;
	}
	if (*p != '[' || !num(p + 1, 2, &d) || p[3] != '/' ||
	    !(mo = month(p + 4)) || p[7] != '/' || !num(p + 8, 4, &y) ||
	    d < 1 || d > mdays(y, mo) ||
	    p[12] != ':' || !(q = parse_clock(p + 13, &h, &mi, &s)) ||
	    *q != ' ' || !(p = parse_zone(q + 1, &off)) || p == q + 1 ||
	    strncmp(p, "] \"", 3) != 0)
		return 0;
	for (req = q = p + 3; *q && *q != '"'; q++)
		if (*q == '\\' && q[1])
			q++;
	if (*q != '"' || q[1] != ' ' || !num(q + 2, 3, &status) ||
	    (q[5] && q[5] != ' '))
		return 0;
	/* "GET /a HTTP/1.1": the protocol says nothing about the error */
	for (sp = q; sp > req && sp[-1] != ' '; sp--)
		;
	if (sp > req && strncmp(sp, "HTTP/", 5) == 0)
		q = sp - 1;
	snprintf(e->buf, sizeof e->buf, "%d %.*s", status, (int)(q - req),
	         req);
	e->msg = e->buf;
	e->keep = 4;
	e->dated = 1;
	e->t = stamp(y, mo, d, h, mi, s) - off;
	e->level = status >= 500 ? LVL_ERROR : status >= 400 ? LVL_WARNING :
	           LVL_INFO;
	return 1;
}

/* The year of an RFC 3164 stamp, by the rule in the comment at the top. */
static long long
syslog_time(const struct file *f, long long now, int mo, int d, int h,
            int mi, int s)
{
	long long ref = f->dated ? f->last : now, t;
	int y = year_of(ref);

	t = stamp(y, mo, d, h, mi, s);
	if (!f->dated)
		return t > now + 86400 ? stamp(y - 1, mo, d, h, mi, s) : t;
	if (t > ref + HALF_YEAR)
		return stamp(y - 1, mo, d, h, mi, s);
	if (t < ref - HALF_YEAR)
		return stamp(y + 1, mo, d, h, mi, s);
	return t;
}

/* RFC 5424: <PRI>1 TIME HOST APP PROCID MSGID [SD...]|- MSG
 * RFC 3164: [<PRI>]Mmm dd hh:mm:ss HOST MSG */
static int
parse_syslog(const char *line, const struct file *f, long long now,
             struct entry *e)
{
	const char *p = line, *q;
	int pri = -1, i, mo, d, h, mi, s;

	if (*p == '<') {
		for (pri = 0, q = p + 1; IS_DIGIT(*q) && q - p < 4; q++)
			pri = pri * 10 + (*q - '0');
		if (q == p + 1 || *q != '>' || pri > 191)
			return 0;
		p = q + 1;
	}
	if (pri >= 0 && p[0] >= '1' && p[0] <= '9' && p[1] == ' ') {
		p += 2;
		e->dated = !(p[0] == '-' && p[1] == ' ');
		if (!e->dated)
			q = p + 1;
		else if (!(q = parse_iso(p, 1, &e->t)) || *q != ' ')
			return 0;
		for (i = 0; i < 4; i++) { /* host, app, procid, msgid */
			for (q++; *q && *q != ' '; q++)
				;
			if (*q != ' ')
				return 0;
		}
		q++;
		if (*q == '-') {
			q++;
		} else {
			/* [id name="v\"]"] ...: ']' ends an element only
			 * outside its quoted values */
			while (*q == '[') {
				for (q++; *q && *q != ']'; q++) {
					if (*q != '"')
						continue;
					for (q++; *q && *q != '"'; q++)
						if (*q == '\\' && q[1])
							q++;
					if (!*q)
						return 0;
				}
				if (*q++ != ']')
					return 0;
			}
		}
		if (*q == ' ')
			q++;
		if (strncmp(q, "\xef\xbb\xbf", 3) == 0)
			q += 3; /* the BOM RFC 5424 puts before UTF-8 text */
		e->format = FMT_SYSLOG5424;
	} else {
		if (!(mo = month(p)) || p[3] != ' ' ||
		    (p[4] != ' ' && !IS_DIGIT(p[4])) || !IS_DIGIT(p[5]) ||
		    p[6] != ' ' ||
		    !(q = parse_clock(p + 7, &h, &mi, &s)) || *q != ' ')
			return 0;
		d = (p[4] == ' ' ? 0 : p[4] - '0') * 10 + (p[5] - '0');
		if (d < 1 || d > mdays(0, mo))
			return 0;
		e->dated = 1;
		e->t = syslog_time(f, now, mo, d, h, mi, s);
		for (q++; *q && *q != ' '; q++) /* the host */
			;
		if (*q)
			q++;
		e->format = FMT_SYSLOG;
	}
	e->msg = q;
	e->keep = 0;
	if (pri >= 0) {
		pri %= 8; /* the severity: 0-3 emergency to error */
		e->level = pri <= 3 ? LVL_ERROR : pri == 4 ? LVL_WARNING :
		           pri <= 6 ? LVL_INFO : LVL_DEBUG;
	} else {
		/* no PRI: a level word may follow the tag ("sshd[7]:") */
		for (p = q; *p && !IS_BLANK(*p); p++)
			;
		find_level(p > q && p[-1] == ':' ? p : q, 1, &e->level);
	}
	return 1;
}

/* 10:00:00 ERROR message: the date comes from the line before. */
static int
parse_time_only(const char *line, const struct file *f, struct entry *e)
{
	const char *p;
	int h, mi, s;
	long long day;

	if (!(p = parse_clock(line, &h, &mi, &s)) || (*p && !IS_BLANK(*p)))
		return 0;
	e->dated = f->dated;
	if (f->dated) {
		day = f->last >= 0 ? f->last / 86400 :
		      -((-f->last + 86399) / 86400);
		e->t = day * 86400 + h * 3600 + mi * 60 + s;
		if (e->t < f->last - 43200)
			e->t += 86400;
		else if (e->t > f->last + 43200)
			e->t -= 86400;
	}
	e->msg = find_level(p, 5, &e->level);
	e->keep = 0;
	return 1;
}

static void
parse_line(const char *line, const struct file *f, long long now,
           struct entry *e)
{
	if (parse_json(line, e))
		e->format = FMT_JSON;
	else if (parse_iso_line(line, e))
		e->format = FMT_ISO;
	else if (parse_access(line, e))
		e->format = FMT_ACCESS;
	else if (parse_syslog(line, f, now, e))
		; /* it says which syslog */
	else if (parse_time_only(line, f, e))
		e->format = FMT_TIME;
	else {
		e->format = FMT_PLAIN;
		e->dated = 0;
		e->keep = 0;
		e->msg = line;
		find_level(line, 1, &e->level);
	}
}

/* -------------------------------------------------------------- patterns */

/* Copy n bytes of s as printable UTF-8: control characters become
 * blanks, bytes that are not UTF-8 become '?', and a character that does
 * not fit whole is left out. What we send must be valid JSON text. */
static void
clean(char *d, size_t cap, const char *s, size_t n)
{
	size_t i = 0, o = 0, len, k;
	unsigned char c, lo, hi;

	while (i < n && o + 1 < cap) {
		c = (unsigned char)s[i];
		if (c < 0x80) {
			d[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
			i++;
			continue;
		}
		len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
		      c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		/* no overlong forms, no surrogates, nothing past U+10FFFF */
		lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
		for (k = 1; k < len; k++, lo = 0x80, hi = 0xbf)
			if (i + k >= n || (unsigned char)s[i + k] < lo ||
			    (unsigned char)s[i + k] > hi)
				break;
		if (len == 0 || k < len) {
			d[o++] = '?';
			i++;
		} else if (o + len < cap) {
			memcpy(d + o, s + i, len);
			o += len;
			i += len;
		} else {
			break;
		}
	}
	d[o] = '\0';
}

static size_t
uuid_len(const char *p)
{
	static const int group[] = {8, 4, 4, 4, 12};
	size_t n = 0;
	int g, i;

	for (g = 0; g < 5; g++) {
		for (i = 0; i < group[g]; i++, n++)
			if (!IS_HEX(p[n]))
				return 0;
		if (g < 4 && p[n++] != '-')
			return 0;
	}
	return IS_ALNUM(p[n]) ? 0 : n;
}

/* a.b.c.d, with a :port if there is one */
static size_t
ipv4_len(const char *p)
{
	size_t n = 0;
	int g, i;

	for (g = 0; g < 4; g++) {
		for (i = 0; i < 3 && IS_DIGIT(p[n]); i++)
			n++;
		if (i == 0 || (g < 3 && p[n++] != '.'))
			return 0;
	}
	if (IS_ALNUM(p[n]) || (p[n] == '.' && IS_DIGIT(p[n + 1])))
		return 0;
	if (p[n] == ':' && IS_DIGIT(p[n + 1]))
		for (n++; IS_DIGIT(p[n]); n++)
			;
	return n;
}

/* hex groups and colons with a "::" or all eight groups; a clock
 * (10:00:00) has neither */
static size_t
ipv6_len(const char *p)
{
	size_t n, colons = 0, hex = 0;
	int twice = 0;

	for (n = 0; IS_HEX(p[n]) || p[n] == ':'; n++) {
		if (p[n] != ':') {
			hex++;
		} else {
			colons++;
			twice |= p[n + 1] == ':';
		}
	}
	return hex && (twice || colons == 7) && !IS_ALNUM(p[n]) ? n : 0;
}

/* 0x1f, or six or more hex digits with a digit and a letter among them
 * (a pure number is a number; a pure word like "facade" a word) */
static size_t
hex_len(const char *p)
{
	size_t n = 0;
	int digit = 0, letter = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && IS_HEX(p[2])) {
		for (n = 2; IS_HEX(p[n]); n++)
			;
		return n;
	}
	for (; IS_HEX(p[n]); n++) {
		digit |= IS_DIGIT(p[n]);
		letter |= !IS_DIGIT(p[n]);
	}
	return n >= 6 && digit && letter && !IS_ALNUM(p[n]) ? n : 0;
}

/* /var/log/x, ./x, ../x, ~/x or C:\x, to a blank, quote or bracket */
static size_t
path_len(const char *p)
{
	size_t n;

	if (!((p[0] == '/' && p[1] && !IS_BLANK(p[1])) ||
	      strncmp(p, "./", 2) == 0 || strncmp(p, "../", 3) == 0 ||
	      strncmp(p, "~/", 2) == 0 ||
	      (isalpha((unsigned char)p[0]) && p[1] == ':' && p[2] == '\\')))
		return 0;
	/* a drive's colon is part of it; any other ends it */
	for (n = p[1] == ':' ? 2 : 0; p[n] && !IS_BLANK(p[n]) &&
	     !strchr("\"'`,;:()[]{}<>", p[n]); n++)
		;
	return n;
}

/* The message with its variable parts replaced, so that errors that
 * differ only in an id, an address or a count fall together. */
static void
normalise(const char *msg, size_t keep, char *out, size_t cap)
{
	const char *m = msg, *tok;
	size_t o = 0, n = 0, t;
	int start;

	for (; *m && o + 1 < cap; m++)
		if ((size_t)(m - msg) < keep)
			out[o++] = *m;
		else
			break;
	while (*m && o + 1 < cap) {
		/* ids and addresses start a word; paths follow a separator */
		start = m == msg || !IS_ALNUM(m[-1]);
		tok = NULL;
		if (start && (n = uuid_len(m)) != 0)
			tok = "<UUID>";
		else if (start && (n = ipv4_len(m)) != 0)
			tok = "<IP>";
		else if (start && (n = ipv6_len(m)) != 0)
			tok = "<IP>";
		else if (start && (n = hex_len(m)) != 0)
			tok = "<HEX>";
		else if ((m == msg || strchr(" \t\"'=([", m[-1])) &&
		         (n = path_len(m)) != 0)
			tok = "<PATH>";
		else if (IS_DIGIT(*m)) {
			for (n = 0; IS_DIGIT(m[n]) ||
			     (m[n] == '.' && IS_DIGIT(m[n + 1])); n++)
				;
			tok = "<N>";
		}
		if (!tok) {
			out[o++] = *m++;
			continue;
		}
		if (o + (t = strlen(tok)) >= cap)
			break;
		memcpy(out + o, tok, t);
		o += t;
		m += n;
	}
	out[o] = '\0';
}

static void
add_error(struct stats *st, const struct entry *e, const char *line,
          size_t len, const struct file *f)
{
	char norm[PAT_CAP], key[PAT_CAP];
	unsigned long h = 2166136261u;
	const char *k;
	struct pattern *p;
	unsigned i;

	normalise(e->msg, e->keep, norm, sizeof norm);
	clean(key, sizeof key, norm, strlen(norm));
	for (k = key; *k; k++) /* FNV-1a */
		h = ((h ^ (unsigned char)*k) * 16777619u) & 0xffffffffu;
	for (h &= PAT_SLOTS - 1; (i = st->slot[h]) != 0;
	     h = (h + 1) & (PAT_SLOTS - 1))
		if (strcmp(st->pattern[i - 1].text, key) == 0)
			break;
	if (i == 0) {
		if (st->npatterns == MAX_PATTERNS) {
			st->ungrouped++;
			return;
		}
		p = &st->pattern[st->npatterns++];
		st->slot[h] = (unsigned short)st->npatterns;
		memcpy(p->text, key, sizeof key);
		clean(p->sample, sizeof p->sample, line, len);
		p->src = f->name;
		p->line = f->line;
	} else {
		p = &st->pattern[i - 1];
	}
	p->count++;
}

static void
add_hour(struct stats *st, long long t)
{
	long long hr = t >= 0 ? t / 3600 : -((-t + 3599) / 3600);
	size_t h = (size_t)(((hr % HOUR_SLOTS) + HOUR_SLOTS) % HOUR_SLOTS);

	/* consecutive hours take consecutive slots: a free slot ends the
	 * search, and a quarter of them always stays free */
	for (; st->hour[h].errors != 0; h = (h + 1) % HOUR_SLOTS)
		if (st->hour[h].hour == hr) {
			st->hour[h].errors++;
			return;
		}
	if (st->nhours == MAX_HOURS) {
		st->unhoured++;
		return;
	}
	st->nhours++;
	st->hour[h].hour = hr;
	st->hour[h].errors = 1;
}

/* --------------------------------------------------------------- reading */

/* One fixed buffer per file. A line is complete when its newline is in
 * the buffer; a buffer full of one line without a newline means the line
 * is longer than LINE_CAP: it is handed out cut, and the rest skipped. */
struct reader {
	FILE *f;
	size_t start, end;
	int eof, skip;
	char buf[LINE_CAP + 2];
};

/* The next line, without its newline, NUL-terminated in the buffer.
 * Returns its length, -1 at the end, -2 on a read error (errno set). */
static long
read_line(struct reader *r, char **line, int *cut)
{
	char *nl;
	size_t n;

	*cut = 0;
	for (;;) {
		nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (r->skip) {
			r->start = nl ? (size_t)(nl + 1 - r->buf) : r->end;
			r->skip = !nl;
			if (nl)
				continue;
		} else if (nl || (r->start == 0 && r->end == LINE_CAP + 1) ||
		           (r->eof && r->start < r->end)) {
			*line = r->buf + r->start;
			if (nl) {
				n = (size_t)(nl - *line);
				r->start += n + 1;
			} else if (!r->eof) {
				n = LINE_CAP;
				r->start = r->end;
				*cut = r->skip = 1;
			} else {
				n = r->end - r->start;
				r->start = r->end;
			}
			(*line)[n] = '\0';
			return (long)n;
		}
		if (r->eof)
			return -1;
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
		n = fread(r->buf + r->end, 1, LINE_CAP + 1 - r->end, r->f);
		if (n == 0) {
			if (ferror(r->f))
				return -2;
			r->eof = 1;
		}
		r->end += n;
	}
}

static void
count_line(struct stats *st, struct file *f, char *line, size_t len)
{
	struct entry *e = &st->entry;
	const char *p;

	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	for (p = line; IS_BLANK(*p); p++)
		;
	if (!*p) {
		st->blank++;
		return;
	}
	parse_line(line, f, st->now, e);
	if (e->dated) {
		f->dated = 1;
		f->last = e->t;
	} else if (f->dated) {
		e->dated = 1; /* a line with no time goes with the one before */
		e->t = f->last;
	}
	if (e->dated && ((st->has_since && e->t < st->since) ||
	                 (st->has_until && e->t > st->until))) {
		st->filtered++;
		return;
	}
	st->entries++;
	st->level[e->level]++;
	st->format[e->format]++;
	if (e->dated) {
		if (!st->dated || e->t < st->first)
			st->first = e->t;
		if (!st->dated || e->t > st->last)
			st->last = e->t;
		st->dated = 1;
	}
	if (e->level == LVL_ERROR) {
		add_error(st, e, line, len, f);
		if (e->dated)
			add_hour(st, e->t);
	}
}

/* Count one file ("-": standard input). Returns 0, or -1 with the reason
 * on stderr. */
static int
count_file(struct stats *st, struct reader *r, const char *path)
{
	struct file f = {0};
	char *line;
	long n;
	int cut;

	f.name = strcmp(path, "-") == 0 ? "stdin" : path;
	memset(r, 0, offsetof(struct reader, buf));
	r->f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!r->f) {
		fprintf(stderr, "log_analyzer_agent: %s: %s\n", path,
		        strerror(errno));
		return -1;
	}
	while ((n = read_line(r, &line, &cut)) >= 0) {
		f.line++;
		st->lines++;
		st->cut += cut;
		count_line(st, &f, line, (size_t)n);
	}
	if (n == -2)
		fprintf(stderr, "log_analyzer_agent: %s: %s\n", f.name,
		        strerror(errno));
	if (r->f != stdin)
		fclose(r->f);
	return n == -2 ? -1 : 0;
}

/* --------------------------------------------------------------- summary */

static int
by_count(const void *a, const void *b)
{
	const struct pattern *x = *(const struct pattern *const *)a;
	const struct pattern *y = *(const struct pattern *const *)b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x < y ? -1 : x > y; /* ties: the one seen first */
}

/* The top patterns, most frequent first; returns how many. */
static size_t
top_patterns(struct stats *st, const struct pattern **top, size_t n)
{
	size_t i;

	for (i = 0; i < st->npatterns; i++)
		st->order[i] = &st->pattern[i];
	qsort(st->order, st->npatterns, sizeof st->order[0], by_count);
	for (i = 0; i < n && i < st->npatterns; i++)
		top[i] = st->order[i];
	return i;
}

static void
summarise(struct stats *st, char **files, int nfiles, size_t ntop,
          struct text *t)
{
	static const char *const lnames[NLEVELS] = {"error", "warning",
	                                             "info", "debug", "other"};
	static const char *const fnames[NFORMATS] = {"JSON", "ISO timestamp",
	    "access log", "syslog (RFC 3164)", "syslog (RFC 5424)",
	    "time only", "plain"};
	const struct pattern *top[MAX_TOP];
	const struct hour *peak = NULL;
	char a[32], b[32];
	size_t i, n;
	int k;

	add(t, "Log summary\nInput:");
	for (k = 0; k < nfiles; k++)
		add(t, "%s %s", k ? "," : "",
		    strcmp(files[k], "-") == 0 ? "stdin" : files[k]);
	add(t, "%s\nLines: %llu read, %llu blank, %llu cut to %d bytes\n",
	    nfiles ? "" : " stdin", st->lines, st->blank, st->cut, LINE_CAP);
	add(t, "Entries: %llu", st->entries);
	if (st->has_since || st->has_until) {
		add(t, " (%llu more outside", st->filtered);
		if (st->has_since)
			add(t, " --since %s", show_time(st->since,
			    "%Y-%m-%dT%H:%M:%SZ", a, sizeof a));
		if (st->has_until)
			add(t, " --until %s", show_time(st->until,
			    "%Y-%m-%dT%H:%M:%SZ", a, sizeof a));
		add(t, ")");
	}
	add(t, "\nLevels:");
	for (k = 0; k < NLEVELS; k++)
		add(t, "%s %llu %s", k ? "," : "", st->level[k], lnames[k]);
	add(t, "\nFormats:");
	for (k = 0; k < NFORMATS; k++)
		add(t, "%s %llu %s", k ? "," : "", st->format[k], fnames[k]);
	if (st->dated)
		add(t, "\nTime range: %s to %s (UTC)\n",
		    show_time(st->first, "%Y-%m-%dT%H:%M:%SZ", a, sizeof a),
		    show_time(st->last, "%Y-%m-%dT%H:%M:%SZ", b, sizeof b));
	else
		add(t, "\nTime range: none (no timestamps)\n");

	for (i = 0; i < HOUR_SLOTS; i++)
		if (st->hour[i].errors && (!peak ||
		    st->hour[i].errors > peak->errors ||
		    (st->hour[i].errors == peak->errors &&
		     st->hour[i].hour < peak->hour)))
			peak = &st->hour[i];
	if (peak)
		add(t, "Peak error hour: %s (%llu errors)\n",
		    show_time(peak->hour * 3600, "%Y-%m-%dT%H:00Z", a,
		              sizeof a),
		    peak->errors);
	else
		add(t, "Peak error hour: none\n");
	if (st->unhoured)
		add(t, "(%llu errors in hours past the first %d not placed)\n",
		    st->unhoured, MAX_HOURS);

	n = top_patterns(st, top, ntop);
	add(t, "Top error patterns (%zu of %zu):\n", n, st->npatterns);
	for (i = 0; i < n; i++)
		add(t, "%8llu  %s\n", top[i]->count, top[i]->text);
	if (st->ungrouped)
		add(t, "(%llu errors past the first %d patterns not grouped)\n",
		    st->ungrouped, MAX_PATTERNS);
}

/* One sample line per top pattern, for questions about errors. */
static void
samples(struct stats *st, size_t ntop, struct text *t)
{
	const struct pattern *top[MAX_TOP];
	size_t i, n = top_patterns(st, top, ntop);

	if (n == 0)
		return;
	add(t, "\n\nSample error lines, the first of each top pattern:\n");
	for (i = 0; i < n; i++)
		add(t, "%s:%llu: %s\n", top[i]->src, top[i]->line,
		    top[i]->sample);
}

/* ------------------------------------------------------------- the model */

/* One turn: the reply streams to stdout. Returns 0 or an oa_err, which is
 * reported. */
static int
ask(oa_client *c, const char *prompt)
{
	oa_block b;
	int r, text_open = 0;

	r = oa_query(c, prompt);
	while (r >= 0 && (r = oa_next(c, &b)) > 0) {
		if (b.type == OA_BLOCK_TEXT && b.text_len > 0) {
			fwrite(b.text, 1, b.text_len, stdout);
			text_open = b.text[b.text_len - 1] != '\n';
			fflush(stdout);
		}
	}
	if (text_open)
		putchar('\n');
	if (r < 0)
		fprintf(stderr, "log_analyzer_agent: %s: %s\n", oa_strerror(r),
		        oa_errmsg(c));
	return r;
}

static int
mentions_errors(const char *q)
{
	static const char *const words[] = {"error", "fail", "exception",
	                                    "crash"};
	size_t i, n;
	const char *p;

	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		for (n = strlen(words[i]), p = q; *p; p++)
			if (strncasecmp(p, words[i], n) == 0)
				return 1;
	return 0;
}

/* Follow-up questions from standard input until "quit" or its end. */
static void
follow_up(oa_client *c, struct stats *st, const struct text *summary,
          size_t ntop)
{
	static char q[QUESTION_CAP], buf[QUESTION_CAP + MAX_TOP * 400];
	struct text prompt = {buf, 0, sizeof buf};
	const char *s;
	size_t n;
	int ch;

	for (;;) {
		fputs("\n> ", stdout);
		fflush(stdout);
		if (!fgets(q, sizeof q, stdin))
			break;
		n = strlen(q);
		if (n == sizeof q - 1 && q[n - 1] != '\n') {
			while ((ch = getchar()) != EOF && ch != '\n')
				;
			fprintf(stderr, "log_analyzer_agent: question longer "
			        "than %d bytes; ask a shorter one\n",
			        QUESTION_CAP - 2);
			continue;
		}
		while (n > 0 && isspace((unsigned char)q[n - 1]))
			q[--n] = '\0';
		for (s = q; isspace((unsigned char)*s); s++)
			;
		if (!*s)
			continue;
		if (strcmp(s, "quit") == 0 || strcmp(s, "exit") == 0)
			break;
		if (strcmp(s, "summary") == 0) {
			fputs(summary->s, stdout);
			continue;
		}
		prompt.len = 0;
		add(&prompt, "%s", s);
		if (mentions_errors(s))
			samples(st, ntop, &prompt);
		ask(c, prompt.s);
	}
	putchar('\n');
}

/* ------------------------------------------------------------------ main */

#define SETTINGS \
	"The URL, the model and the API key not given here come from\n" \
	"OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL, OPEN_AGENT_API_KEY,\n" \
	"then the first of ./open-agent.yaml, " \
	"~/.config/open-agent/config.yaml,\n" \
	"~/.open-agent.yaml; the URL defaults to LM Studio's\n" \
	"http://localhost:1234/v1.\n"

static int
usage(const char *why, const char *arg)
{
	if (why)
		fprintf(stderr, "log_analyzer_agent: %s%s\n", why, arg);
	fputs("usage: log_analyzer_agent [--base-url URL] [--model NAME] "
	      "[--since TIME]\n"
	      "       [--until TIME] [--top N] [--summary-only] "
	      "[--interactive] [FILE...]\n", why ? stderr : stdout);
	if (why == NULL)
		fputs(SETTINGS, stdout);
	return why ? 2 : 0;
}

static int
time_arg(const char *opt, const char *arg, long long *t)
{
	const char *end = parse_iso(arg, 0, t);

	if (end && !*end)
		return 0;
	fprintf(stderr, "log_analyzer_agent: %s: not an ISO 8601 time: "
	        "\"%s\" (e.g. 2024-03-05 or 2024-03-05T10:00:00Z)\n", opt, arg);
	return -1;
}

int
main(int argc, char **argv)
{
	static const char *const valued[] = {"--base-url", "--model",
	                                     "--top", "--since", "--until",
	                                     NULL};
	static char summary_buf[SUMMARY_CAP];
	static char prompt_buf[SUMMARY_CAP + 512];
	struct text summary = {summary_buf, 0, sizeof summary_buf};
	struct text prompt = {prompt_buf, 0, sizeof prompt_buf};
	const char *base_url = NULL, *model = NULL;
	int interactive = 0, summary_only = 0, i, r, status = 0;
	long top = DEFAULT_TOP;
	char *end;
	struct stats *st;
	struct reader *rd;
	oa_options opt = {0};
	oa_config cfg;
	oa_client c;

	signal(SIGPIPE, SIG_IGN);

	/* 1. The command line. Options come before the files. */
	st = calloc(1, sizeof *st);
	rd = malloc(sizeof *rd);
	if (!st || !rd) {
		fprintf(stderr, "log_analyzer_agent: out of memory\n");
		status = 1;
		goto done;
	}
	st->now = (long long)time(NULL);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *o = argv[i], *v = NULL;

		if (strcmp(o, "--") == 0) {
			i++;
			break;
		}
		if (key_index(o, valued) >= 0) {
			if (i + 1 == argc) {
				status = usage("an option lacks its value", "");
				goto done;
			}
			v = argv[++i];
		}
		if (strcmp(o, "--interactive") == 0) {
			interactive = 1;
		} else if (strcmp(o, "--summary-only") == 0) {
			summary_only = 1;
		} else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
			status = usage(NULL, NULL);
			goto done;
		} else if (strcmp(o, "--base-url") == 0) {
			base_url = v;
		} else if (strcmp(o, "--model") == 0) {
			model = v;
		} else if (strcmp(o, "--top") == 0) {
			errno = 0;
			top = strtol(v, &end, 10);
			if (errno || *end || end == v || top < 1 ||
			    top > MAX_TOP) {
				status = usage("--top takes a number from 1 "
				               "to 50", "");
				goto done;
			}
		} else if (strcmp(o, "--since") == 0) {
			if (time_arg(o, v, &st->since) != 0) {
				status = 2;
				goto done;
			}
			st->has_since = 1;
		} else if (strcmp(o, "--until") == 0) {
			if (time_arg(o, v, &st->until) != 0) {
				status = 2;
				goto done;
			}
			st->has_until = 1;
		} else {
			status = usage("unknown option ", o);
			goto done;
		}
	}
	for (r = i; interactive && r <= argc; r++)
		if (r == argc ? i == argc : strcmp(argv[r], "-") == 0) {
			status = usage("--interactive reads questions from "
			               "standard input; give the logs as "
			               "files", "");
			goto done;
		}

	/* 2 and 3. Count every file (none: standard input), then print
	 * what we found. */
	for (r = i; r < argc; r++)
		if (count_file(st, rd, argv[r]) != 0) {
			status = 1;
			goto done;
		}
	if (i == argc && count_file(st, rd, "-") != 0) {
		status = 1;
		goto done;
	}
	summarise(st, argv + i, argc - i, (size_t)top, &summary);
	fputs(summary.s, stdout);
	if (summary_only)
		goto done;

	/* 4. The model gets the summary, never the raw logs: a summary of a
	 * gigabyte fits its context, and the counts are exact. */
	if ((r = oa_config_load(&cfg, NULL)) != 0) {
		fprintf(stderr, "log_analyzer_agent: %s: %s\n",
		        oa_strerror(r), cfg.error);
		status = 1;
		goto done;
	}
	opt.base_url = oa_config_base_url(&cfg, base_url, NULL,
	                                  base_url != NULL);
	opt.model = oa_config_model(&cfg, model, model != NULL);
	opt.api_key = oa_config_api_key(&cfg, NULL, 0);
	opt.system_prompt = "You are an experienced site reliability engineer. "
	    "You read summaries of log files and explain them concisely.";
	if ((r = oa_init(&c, &opt)) != 0) {
		fprintf(stderr, "log_analyzer_agent: %s: %s\n", oa_strerror(r),
		        oa_errmsg(&c));
		oa_free(&c);
		status = 1;
		goto done;
	}
	add(&prompt, "Analyse these logs from their summary below. Give a "
	    "prioritised analysis: the main issues, most severe first; their "
	    "likely root causes; and concrete recommendations.\n\n%s",
	    summary.s);
	printf("\nAnalysis:\n");
	fflush(stdout);
	if (ask(&c, prompt.s) < 0)
		status = 1;
	else if (interactive)
		follow_up(&c, st, &summary, (size_t)top);
	oa_free(&c);
done:
	free(rd);
	free(st);
	return status;
}
