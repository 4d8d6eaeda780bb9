/*
 * tail's output thread: formats events (json, pretty, raw) and writes them to stdout in the
 * order the poll thread handed them over, through a bounded queue.
 */
#include <stdio.h>
#include <stdlib.h>

#include "output.h"
#include "tail_int.h"

static int emit(tail_t *t, const evbus_event_t *ev) {
    int r;
    evbus__buf_reset(&t->out);
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
    if (fwrite(t->out.data, 1, t->out.len, stdout) != t->out.len) {
        evbus_cli_err("tail", "cannot write to stdout");
        return -1;
    }
    t->printed++;
    return 0;
}

static void *writer_main(void *arg) {
    tail_t *t = arg;
    evbus_event_t *batch[64];
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
            pthread_cond_wait(&t->qnonempty, &t->qmu);
        }
        if (t->qlen == 0 && t->qclosing)
            break;
        size_t k = 0;
        while (t->qlen && k < 64) {
            batch[k++] = t->queue[t->qhead];
            t->qhead = (t->qhead + 1) % TAIL_OUTQ_SIZE;
            t->qlen--;
        }
        pthread_cond_signal(&t->qnonfull);
        pthread_mutex_unlock(&t->qmu);
        for (size_t i = 0; i < k; i++) {
            if (!atomic_load(&t->write_failed) && emit(t, batch[i]) != 0)
                atomic_store(&t->write_failed, 1);
            evbus__event_destroy(batch[i]);
        }
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
    while (t->qlen == TAIL_OUTQ_SIZE && !atomic_load(&t->write_failed))
        pthread_cond_wait(&t->qnonfull, &t->qmu);
    if (atomic_load(&t->write_failed)) {
        pthread_mutex_unlock(&t->qmu);
        evbus__event_destroy(ev);
        return -1; /* the writer said why */
    }
    t->queue[(t->qhead + t->qlen) % TAIL_OUTQ_SIZE] = ev;
    if (t->qlen++ == 0)
        pthread_cond_signal(&t->qnonempty);
    pthread_mutex_unlock(&t->qmu);
    t->queued++;
    return 0;
}

int tail_count_reached(const tail_t *t) {
    return t->count && t->queued >= t->count;
}
