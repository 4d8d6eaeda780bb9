/*
 * tail's output thread: formats events (json, pretty, raw) and writes them to stdout in the
 * order the poll thread handed them over, through a bounded queue.
 */
#include <stdio.h>
#include <stdlib.h>

#include "output.h"
#include "tail_int.h"

/* Appends one event to t->out; the writer writes a whole batch at once (flush_out). */
static int emit(tail_t *t, const evbus_event_t *ev) {
    int r;
    if (t->fmt == EVBUS_CLI_FMT_PRETTY)
        r = evbus_cli_out_pretty(&t->out, ev, t->color);
    else if (t->fmt == EVBUS_CLI_FMT_RAW)
        r = evbus_cli_out_raw(&t->out, ev);
    else
        r = evbus_cli_out_json(&t->out, ev);
    if (r != 0) {
        evbus_cli_err("tail", "out of memory");
        return -1;
    }
    t->printed++;
    return 0;
}

static int flush_out(tail_t *t) {
    size_t n = t->out.len;
    int r = n && fwrite(t->out.data, 1, n, stdout) != n ? -1 : 0;
    evbus_cli_buf_reset(&t->out);
    if (r)
        evbus_cli_err("tail", "cannot write to stdout");
    return r;
}

static void *writer_main(void *arg) {
    tail_t *t = arg;
    evbus_event_t *batch[TAIL_WRITER_BATCH];
    pthread_mutex_lock(&t->qmu);
    for (;;) {
        while (t->qlen == 0 && !t->qclosing) {
            /* going idle: with -f, show what was written right away */
            if (t->follow) {
                pthread_mutex_unlock(&t->qmu);
                fflush(stdout);
                pthread_mutex_lock(&t->qmu);
                if (t->qlen || t->qclosing)
                    break;
            }
            t->writer_idle = 1;
            pthread_cond_wait(&t->qnonempty, &t->qmu);
            t->writer_idle = 0;
        }
        if (t->qlen == 0 && t->qclosing)
            break;
        size_t k = 0;
        while (t->qlen && k < TAIL_WRITER_BATCH) {
            batch[k++] = t->queue[t->qhead];
            t->qhead = (t->qhead + 1) % TAIL_OUTQ_SIZE;
            t->qlen--;
        }
        /* A full queue wakes the poll thread only once half of it is free: waking it for
         * every batch made a context switch per batch on both sides. */
        if (t->poller_waiting && t->qlen <= TAIL_OUTQ_SIZE / 2)
            pthread_cond_signal(&t->qnonfull);
        pthread_mutex_unlock(&t->qmu);
        for (size_t i = 0; i < k; i++) {
            size_t keep = t->out.len;
            if (!atomic_load(&t->write_failed) && emit(t, batch[i]) != 0) {
                /* the lines before the failed one still go out, as they did one by one */
                t->out.len = keep;
                (void)flush_out(t);
                atomic_store(&t->write_failed, 1);
            }
            evbus_event_destroy(batch[i]);
        }
        if (!atomic_load(&t->write_failed) && flush_out(t) != 0)
            atomic_store(&t->write_failed, 1);
        pthread_mutex_lock(&t->qmu);
    }
    pthread_mutex_unlock(&t->qmu);
    fflush(stdout);
    return NULL;
}

int tail_writer_start(tail_t *t) {
    pthread_mutex_init(&t->qmu, NULL);
    pthread_cond_init(&t->qnonempty, NULL);
    pthread_cond_init(&t->qnonfull, NULL);
    if (pthread_create(&t->writer, NULL, writer_main, t) != 0) {
        evbus_cli_err("tail", "cannot start the output thread");
        return -1;
    }
    t->writer_started = 1;
    return 0;
}

int tail_writer_stop(tail_t *t) {
    if (!t->writer_started)
        return 0;
    pthread_mutex_lock(&t->qmu);
    t->qclosing = 1;
    pthread_cond_signal(&t->qnonempty);
    pthread_mutex_unlock(&t->qmu);
    pthread_join(t->writer, NULL);
    t->writer_started = 0;
    pthread_mutex_destroy(&t->qmu);
    pthread_cond_destroy(&t->qnonempty);
    pthread_cond_destroy(&t->qnonfull);
    return atomic_load(&t->write_failed) ? -1 : 0;
}

int tail_enqueue(tail_t *t, evbus_event_t *ev) {
    pthread_mutex_lock(&t->qmu);
    while (t->qlen == TAIL_OUTQ_SIZE && !atomic_load(&t->write_failed)) {
        /* the writer is busy with a full queue: no need to wake it */
        t->poller_waiting = 1;
        pthread_cond_wait(&t->qnonfull, &t->qmu);
        t->poller_waiting = 0;
    }
    if (atomic_load(&t->write_failed)) {
        pthread_mutex_unlock(&t->qmu);
        evbus_event_destroy(ev);
        return -1; /* the writer said why */
    }
    t->queue[(t->qhead + t->qlen) % TAIL_OUTQ_SIZE] = ev;
    /* An idle writer is woken once a batch is ready; tail_kick() hands over a smaller rest
     * when the poll thread has nothing more for now. */
    if (++t->qlen >= TAIL_WRITER_BATCH && t->writer_idle)
        pthread_cond_signal(&t->qnonempty);
    pthread_mutex_unlock(&t->qmu);
    t->queued++;
    return 0;
}

void tail_kick(tail_t *t) {
    if (!t->writer_started)
        return;
    pthread_mutex_lock(&t->qmu);
    if (t->qlen && t->writer_idle)
        pthread_cond_signal(&t->qnonempty);
    pthread_mutex_unlock(&t->qmu);
}

int tail_count_reached(const tail_t *t) {
    return t->count && t->queued >= t->count;
}
