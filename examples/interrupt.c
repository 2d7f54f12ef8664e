/*
 * interrupt.c -- stop a reply early, and carry on with the same client.
 *
 *     interrupt [--timeout MS] [BASE_URL [MODEL]]
 *
 * oa_interrupt() asks the running turn to stop. It may be called from
 * another thread, from a signal handler, or between two oa_next() calls;
 * the oa_next() in progress (or the next one) returns OA_ERR_INTERRUPTED,
 * the text received so far stays in the history, and the client is ready
 * for the next oa_query(). This program shows three uses:
 *
 *   1. A watchdog: a thread that interrupts the turn when it takes longer
 *      than MS milliseconds (default 10000).
 *   2. A retry: after the watchdog fired, ask again, more briefly, on the
 *      same client; the model sees its own unfinished answer.
 *   3. A conditional stop: interrupt as soon as the reply mentions a word,
 *      here "Earth", even when the word arrives split across two blocks.
 *
 * Exit status 0 when every turn ended cleanly or was stopped on purpose,
 * 1 on any other error, 2 on a usage error. BASE_URL, MODEL and the API
 * key not given come from OPEN_AGENT_BASE_URL, OPEN_AGENT_MODEL and
 * OPEN_AGENT_API_KEY, then the configuration file, then (the URL) LM
 * Studio's http://localhost:1234/v1, as in every example.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "openagent.h"

#define USAGE "usage: interrupt [--timeout MS] [BASE_URL [MODEL]]\n"
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
		fputs(USAGE "Stop a reply after MS milliseconds (default "
		      "10000), retry it, and stop\nanother once it names a "
		      "planet.\n" SETTINGS, stdout);
		return 0;
	}
	fprintf(stderr, "interrupt: %s%s\n" USAGE, why, arg);
	return 2;
}

/* ------------------------------------------------------------ watchdog */

/*
 * The watchdog waits on a condition variable until either the turn is
 * over (done, set by the main thread) or the deadline passes. It calls
 * oa_interrupt() while holding the lock, and the main thread sets done
 * under the same lock, so an interrupt can never land after the turn it
 * was meant for has ended, on the next turn.
 */
struct watchdog {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	oa_client *client;
	int ms;
	int done;   /* the turn is over: leave without interrupting */
	int fired;  /* oa_interrupt() was called */
};

static void *
watch(void *arg)
{
	struct watchdog *w = arg;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += w->ms / 1000;
	until.tv_nsec += (long)(w->ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	while (!w->done && pthread_cond_timedwait(&w->cond, &w->lock,
	                                          &until) != ETIMEDOUT)
		; /* woken early, or spuriously: look again */
	if (!w->done) {
		w->fired = 1;
		oa_interrupt(w->client);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static int
watchdog_start(struct watchdog *w, oa_client *c, int ms)
{
	w->client = c;
	w->ms = ms;
	w->done = w->fired = 0;
	return pthread_create(&w->thread, NULL, watch, w);
}

static void
watchdog_stop(struct watchdog *w)
{
	pthread_mutex_lock(&w->lock);
	w->done = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
}

/* ------------------------------------------------------- a stop word */

/*
 * Whether the text fed so far, piece by piece, contains the word. Only
 * the last strlen(word) bytes are kept, so memory stays fixed however long
 * the reply, and a word split across two text blocks is still found.
 */
struct finder {
	const char *word;
	size_t len;        /* at most sizeof tail */
	char tail[32];
	size_t have;
};

static int
finder_feed(struct finder *f, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (f->have == f->len) {
			memmove(f->tail, f->tail + 1, f->len - 1);
			f->have--;
		}
		f->tail[f->have++] = s[i];
		if (f->have == f->len && memcmp(f->tail, f->word, f->len) == 0)
			return 1;
	}
	return 0;
}

/* -------------------------------------------------------------- a turn */

/*
 * Ask prompt and print the reply. With a finder, interrupt the turn once
 * the word appears; the turn then ends at the next oa_next(), which
 * returns OA_ERR_INTERRUPTED, and nothing after the word is printed.
 * Returns what the last oa_next() returned.
 */
static int
turn(oa_client *c, const char *prompt, struct finder *stop)
{
	int r, text_open = 0, stopped = 0;
	oa_block b;

	r = oa_query(c, prompt);
	while (r >= 0 && (r = oa_next(c, &b)) > 0) {
		if (stopped)
			continue; /* already asked to stop: print no more */
		if (b.type == OA_BLOCK_TEXT && b.text_len > 0) {
			fwrite(b.text, 1, b.text_len, stdout);
			text_open = b.text[b.text_len - 1] != '\n';
			fflush(stdout);
			if (stop != NULL &&
			    finder_feed(stop, b.text, b.text_len)) {
				oa_interrupt(c);
				stopped = 1;
			}
		} else if (b.type == OA_BLOCK_TURN_END) {
			if (text_open)
				putchar('\n');
			text_open = 0;
			printf("[turn_end] %s\n", b.finish_reason);
		}
	}
	if (text_open)
		putchar('\n');
	return r;
}

/* ---------------------------------------------------------------- main */

int
main(int argc, char **argv)
{
	struct watchdog w = {.lock = PTHREAD_MUTEX_INITIALIZER,
	                     .cond = PTHREAD_COND_INITIALIZER};
	struct finder earth = {"Earth", 5, {0}, 0};
	const char *pos[2] = {NULL, NULL};
	oa_options opt = {0};
	oa_config cfg;
	oa_client c;
	int r, i, npos = 0, timeout_ms = 10000;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return usage(NULL, NULL);
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (end == argv[i] || *end != '\0' || v <= 0 ||
			    v > INT_MAX)
				return usage("--timeout wants a number of "
				             "milliseconds above 0, not ",
				             argv[i]);
			timeout_ms = (int)v;
		} else if (argv[i][0] == '-') {
			return usage(strcmp(argv[i], "--timeout") == 0 ?
			             "a value is missing after " :
			             "unknown option ", argv[i]);
		} else if (npos == 2) {
			return usage("too many arguments: ", argv[i]);
		} else {
			pos[npos++] = argv[i];
		}
	}
	if ((r = oa_config_load(&cfg, NULL)) != 0) {
		fprintf(stderr, "interrupt: %s: %s\n", oa_strerror(r),
		        cfg.error);
		return 1;
	}
	opt.base_url = oa_config_base_url(&cfg, pos[0], NULL, pos[0] != NULL);
	opt.model = oa_config_model(&cfg, pos[1], pos[1] != NULL);
	opt.api_key = oa_config_api_key(&cfg, NULL, 0);
	if ((r = oa_init(&c, &opt)) != 0)
		goto out;

	/* 1. A turn under a watchdog. The thread is started right before
	 * the turn and stopped right after it, whichever way it ended. */
	printf("== a watchdog stops a reply after %d ms\n", timeout_ms);
	if (watchdog_start(&w, &c, timeout_ms) != 0) {
		fprintf(stderr, "interrupt: cannot start a thread\n");
		r = 1;
		goto out;
	}
	r = turn(&c, "Tell me a long story about a lighthouse keeper.", NULL);
	watchdog_stop(&w);

	/* 2. Interrupted: the partial story is in the history and the client
	 * is ready. Ask again, shorter, under the same watchdog. */
	if (r == OA_ERR_INTERRUPTED && w.fired) {
		printf("[interrupted by the watchdog]\n"
		       "== retry on the same client\n");
		if (watchdog_start(&w, &c, timeout_ms) != 0) {
			fprintf(stderr, "interrupt: cannot start a thread\n");
			r = 1;
			goto out;
		}
		r = turn(&c, "That takes too long: tell it in one sentence.",
		         NULL);
		watchdog_stop(&w);
		if (r == OA_ERR_INTERRUPTED && w.fired) {
			printf("[interrupted by the watchdog again]\n");
			r = 0; /* a slow model, not a failure */
		}
	}
	if (r < 0)
		goto out;

	/* 3. A conditional stop, from this thread, between two oa_next()
	 * calls. OA_ERR_INTERRUPTED is then the outcome we asked for. */
	printf("== stop once the reply says \"%s\"\n", earth.word);
	r = turn(&c, "Name the planets in order from the sun.", &earth);
	if (r == OA_ERR_INTERRUPTED) {
		printf("[stopped at \"%s\"]\n", earth.word);
		r = 0;
	}

out:
	/* Every other negative r is an error worth reporting. */
	if (r < 0)
		fprintf(stderr, "interrupt: %s: %s\n", oa_strerror(r),
		        oa_errmsg(&c));
	oa_free(&c);
	return r != 0;
}
