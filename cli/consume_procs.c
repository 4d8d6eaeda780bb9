/*
 * consume --processes N: a supervisor that forks N group members and keeps them running.
 *
 * Each member is a full consumer (its own librdkafka client, partitions and plugins), forked
 * before any of those exist, so nothing is shared but the parsed configuration.  A member that
 * dies is restarted after a backoff that starts at the group's session timeout (plus a margin
 * for the rebalance, see cmd_consume.c), doubles per
 * quick death (up to 30 s or the session timeout, whichever is longer) and resets once a member
 * has lived 30 s.  Why the session timeout: the broker notices a killed member only then, and a
 * member joining earlier would just wait in a rebalance that cannot finish; after it, the dead
 * member's partitions go to the survivors at once, and the restarted member joins a settled
 * group.  A member that exits with status 2 (configuration: a plugin that will
 * not load) is not restarted: that cannot get better, so everything stops with 2.  SIGTERM/SIGINT
 * are passed to every member, which close cleanly (commit, leave the group); the supervisor
 * exits 0 when they all did.  A second signal kills them.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "consume_int.h"

#define BACKOFF_MAX_MS 30000
#define HEALTHY_MS 30000

static volatile sig_atomic_t g_signals;
static void on_signal(int sig) {
    (void)sig;
    g_signals++;
}

typedef struct member_s {
    pid_t pid;          /* 0: not running */
    int64_t started_ms; /* when it was forked */
    int64_t restart_at; /* when to fork it again (pid 0) */
    int backoff_ms;
    int runs;
} member_t;

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t spawn(evbus_cli_member_fn fn, void *arg, int idx, member_t *m, pid_t parent) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the supervisor */
        if (getppid() != parent)
            _exit(EVBUS_CLI_FAIL);
        /* Out of the terminal's process group: a ^C reaches the supervisor alone, which passes
         * one SIGTERM on (a member hit twice would take the second as "kill now"). */
        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        int rc = fn(idx, m->runs, arg);
        fflush(NULL);
        _exit(rc);
    }
    if (pid > 0) {
        m->pid = pid;
        m->started_ms = mono_ms();
        m->runs++;
    }
    return pid;
}

static void signal_all(member_t *ms, int n, int sig) {
    for (int i = 0; i < n; i++)
        if (ms[i].pid > 0)
            kill(ms[i].pid, sig);
}

int evbus_cli_supervise(const evbus_cli_t *cli, int n, int min_backoff_ms, evbus_cli_member_fn fn,
                        void *arg) {
    const int max_backoff_ms = min_backoff_ms > BACKOFF_MAX_MS ? min_backoff_ms : BACKOFF_MAX_MS;
    member_t *ms = calloc((size_t)n, sizeof(*ms));
    if (!ms) {
        evbus_cli_err("consume", "out of memory");
        return EVBUS_CLI_FAIL;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pid_t self = getpid();
    int rc = EVBUS_CLI_OK, stopping = 0, forwarded = 0, killed = 0;
    for (int i = 0; i < n; i++) {
        ms[i].backoff_ms = min_backoff_ms;
        if (spawn(fn, arg, i, &ms[i], self) < 0) {
            evbus_cli_err("consume", "fork: %s", strerror(errno));
            rc = EVBUS_CLI_FAIL;
            stopping = 1;
            break;
        }
    }
    evbus_cli_log(cli, "supervising %d member processes", n);
    for (;;) {
        if (g_signals && !stopping)
            stopping = 1;
        if (stopping && !forwarded) {
            signal_all(ms, n, SIGTERM);
            forwarded = 1;
        }
        if (g_signals > 1 && !killed) {
            signal_all(ms, n, SIGKILL);
            killed = 1;
        }
        int running = 0;
        for (int i = 0; i < n; i++)
            running += ms[i].pid > 0;
        if (stopping && running == 0)
            break;
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            int i = 0;
            while (i < n && ms[i].pid != pid)
                i++;
            if (i == n)
                continue; /* not a member (cannot happen: we fork nothing else) */
            ms[i].pid = 0;
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            if (stopping) {
                if (code != 0 && rc == EVBUS_CLI_OK)
                    rc = EVBUS_CLI_FAIL;
                continue;
            }
            if (code == EVBUS_CLI_USAGE) {
                evbus_cli_err("consume", "member %d exited with a configuration error; stopping all", i);
                rc = EVBUS_CLI_USAGE;
                stopping = 1;
                continue;
            }
            if (mono_ms() - ms[i].started_ms >= HEALTHY_MS)
                ms[i].backoff_ms = min_backoff_ms;
            if (WIFSIGNALED(status))
                evbus_cli_err("consume", "member %d (pid %d) killed by signal %d; restarting in %d ms", i,
                              (int)pid, WTERMSIG(status), ms[i].backoff_ms);
            else
                evbus_cli_err("consume", "member %d (pid %d) exited with status %d; restarting in %d ms",
                              i, (int)pid, code, ms[i].backoff_ms);
            ms[i].restart_at = mono_ms() + ms[i].backoff_ms;
            ms[i].backoff_ms = ms[i].backoff_ms * 2 > max_backoff_ms ? max_backoff_ms : ms[i].backoff_ms * 2;
            continue;
        }
        for (int i = 0; i < n && !stopping; i++)
            if (ms[i].pid == 0 && mono_ms() >= ms[i].restart_at && spawn(fn, arg, i, &ms[i], self) > 0)
                evbus_cli_log(cli, "member %d restarted as pid %d", i, (int)ms[i].pid);
        struct timespec ts = {0, 50 * 1000 * 1000}; /* a signal cuts it short */
        nanosleep(&ts, NULL);
    }
    free(ms);
    return rc;
}
