/*
 * SIGINT/SIGTERM for the long-running subcommands (tail -f, consume): the first signal asks
 * the command to finish cleanly; a second one kills as usual, for a command that is stuck.
 */
#include <signal.h>
#include <string.h>

#include <evbus/consumer.h>

#include "cli.h"

static volatile sig_atomic_t g_stop;
static evbus_consumer_t *volatile g_consumer;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
    if (g_consumer)
        evbus_consumer_stop(g_consumer); /* async-signal-safe: ends a wait for queue room */
}

void evbus_cli_catch_stop_signals(evbus_consumer_t *c) {
    g_consumer = c;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int evbus_cli_stop_requested(void) { return g_stop != 0; }
