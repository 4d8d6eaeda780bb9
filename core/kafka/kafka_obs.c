/*
 * The owner table behind librdkafka's log and statistics callbacks (see kafka_obs.h).
 */
#include "kafka_obs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

typedef struct obs_s {
    struct obs_s *next;
    void *owner;
    int refs;
    const evbus__log_t *log;
    evbus__stats_fn stats;
    void *ctx;
} obs_t;

static pthread_mutex_t obs_mu = PTHREAD_MUTEX_INITIALIZER;
static obs_t *obs_head;

/* Copy of owner's entry (under the lock), so the callback runs without holding it. */
static int obs_find(void *owner, obs_t *out) {
    int found = 0;
    pthread_mutex_lock(&obs_mu);
    for (obs_t *o = obs_head; o; o = o->next)
        if (o->owner == owner) {
            *out = *o;
            found = 1;
            break;
        }
    pthread_mutex_unlock(&obs_mu);
    return found;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    obs_t o;
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s: %s", fac ? fac : "", buf ? buf : "");
    evbus__log_fields(obs_find(rd_kafka_opaque(rk), &o) ? o.log : NULL,
                      level > EVBUS_LOG_DEBUG ? EVBUS_LOG_DEBUG : level, "kafka", NULL, msg);
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
    obs_t o;
    (void)rk;
    if (obs_find(opaque, &o) && o.stats)
        o.stats(o.ctx, json, len);
    return 0; /* librdkafka frees json */
}

int evbus__kafka_obs_bind(rd_kafka_conf_t *kc, const evbus_conf_t *conf, void *owner,
                          const evbus__log_t *log, evbus__stats_fn stats, void *ctx) {
    pthread_mutex_lock(&obs_mu);
    obs_t *o = obs_head;
    while (o && o->owner != owner)
        o = o->next;
    if (o) {
        o->refs++;
        if (stats && !o->stats) {
            o->stats = stats;
            o->ctx = ctx;
        }
    } else if ((o = calloc(1, sizeof(*o)))) {
        *o = (obs_t){obs_head, owner, 1, log, stats, ctx};
        obs_head = o;
    }
    pthread_mutex_unlock(&obs_mu);
    if (!o)
        return -1;
    rd_kafka_conf_set_opaque(kc, owner);
    rd_kafka_conf_set_log_cb(kc, log_cb);
    if (stats) {
        char v[32];
        int64_t ms = evbus__conf_int(conf, "metrics.interval.ms");
        snprintf(v, sizeof(v), "%lld", (long long)ms);
        /* The application's own kafka.statistics.interval.ms wins over metrics.interval.ms. */
        if (ms > 0 && !evbus_conf_get(conf, "kafka.statistics.interval.ms"))
            rd_kafka_conf_set(kc, "statistics.interval.ms", v, NULL, 0);
        rd_kafka_conf_set_stats_cb(kc, stats_cb);
    }
    return 0;
}

void evbus__kafka_obs_unbind(void *owner) {
    pthread_mutex_lock(&obs_mu);
    for (obs_t **pp = &obs_head; *pp; pp = &(*pp)->next) {
        obs_t *o = *pp;
        if (o->owner == owner) {
            if (--o->refs == 0) {
                *pp = o->next;
                free(o);
            }
            break;
        }
    }
    pthread_mutex_unlock(&obs_mu);
}
