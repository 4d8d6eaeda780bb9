/*
 * The one progress line of a long `publish` or `replay`: on a terminal (stderr a tty, no -q)
 * a single line redrawn in place, "<cmd>: N events, R/s, D delivered, F failed"; nothing at
 * all when stderr is a file or a pipe, so logs stay clean.
 *
 * One per process, hence global state: error lines (evbus_cli_err, from any thread) must take
 * the line off the screen before they print, and delivery callbacks count from librdkafka's
 * threads.  The mutex orders the drawing with those error lines.
 */
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"

#define REDRAW_US 200000 /* a human reads no faster; a terminal need not redraw more often */

static struct {
    pthread_mutex_t mu;
    int on;           /* started on a terminal */
    int shown;        /* a progress line is on the screen now */
    const char *what; /* the subcommand's name */
    int64_t start_us, last_us;
    uint64_t events;
    _Atomic uint64_t delivered, failed; /* counted from delivery callbacks */
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

void evbus_cli_progress_start(const evbus_cli_t *cli, const char *what) {
    pthread_mutex_lock(&g.mu);
    g.on = !cli->quiet && isatty(STDERR_FILENO) && !evbus_cli_json_logs(); /* JSON lines only */
    g.shown = 0;
    g.what = what;
    g.start_us = evbus_cli_now_us();
    g.last_us = 0;
    g.events = 0;
    atomic_store_explicit(&g.delivered, 0, memory_order_relaxed);
    atomic_store_explicit(&g.failed, 0, memory_order_relaxed);
    pthread_mutex_unlock(&g.mu);
}

void evbus_cli_progress_delivery(int ok) {
    atomic_fetch_add_explicit(ok ? &g.delivered : &g.failed, 1, memory_order_relaxed);
}

/* Caller holds g.mu. */
static void draw(int64_t now) {
    double secs = (double)(now - g.start_us) / 1e6;
    double rate = secs > 0.001 ? (double)g.events / secs : 0.0;
    fprintf(stderr, "\r\033[K%s: %llu events, %.0f/s, %llu delivered, %llu failed", g.what,
            (unsigned long long)g.events, rate,
            (unsigned long long)atomic_load_explicit(&g.delivered, memory_order_relaxed),
            (unsigned long long)atomic_load_explicit(&g.failed, memory_order_relaxed));
    fflush(stderr);
    g.shown = 1;
    g.last_us = now;
}

void evbus_cli_progress_events(uint64_t events) {
    if (!g.on) /* changes only in start/stop, on the thread that calls this */
        return;
    int64_t now = evbus_cli_now_us();
    pthread_mutex_lock(&g.mu);
    g.events = events;
    /* The first call draws at once, so even a short run shows that it is under way. */
    if (g.last_us == 0 || now - g.last_us >= REDRAW_US)
        draw(now);
    pthread_mutex_unlock(&g.mu);
}

void evbus_cli_progress_stop(uint64_t events) {
    pthread_mutex_lock(&g.mu);
    if (g.on) {
        g.events = events;
        draw(evbus_cli_now_us()); /* the final counts, then the summary line takes its place */
        fputs("\r\033[K", stderr);
        fflush(stderr);
        g.shown = 0;
    }
    g.on = 0;
    pthread_mutex_unlock(&g.mu);
}

void evbus_cli_progress_pause(void) {
    pthread_mutex_lock(&g.mu);
    if (g.shown) {
        fputs("\r\033[K", stderr);
        g.shown = 0;
    }
}

void evbus_cli_progress_resume(void) {
    /* The next evbus_cli_progress_events() draws the line again. */
    g.last_us = 0;
    pthread_mutex_unlock(&g.mu);
}
