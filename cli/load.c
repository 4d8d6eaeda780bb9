/* Loading what several subcommands need: schemas, registry, producer config, Kafka clients. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include <evbus/kafka.h>

#include "cli.h"

evbus_schema_store_t *evbus_cli_store(evbus_cli_t *cli, int *rcp) {
    char errstr[1024];
    evbus_schema_store_t *st =
        evbus_schema_store_new(evbus_conf_get(cli->conf, "schema.dir"), errstr, sizeof(errstr));
    if (!st) {
        evbus_cli_err(cli->cmd, "schemas: %s", errstr);
        *rcp = EVBUS_CLI_USAGE;
        return NULL;
    }
    evbus_cli_log(cli, "%zu schemas from %s", evbus_schema_store_count(st),
                  evbus_schema_store_dir(st));
    return st;
}

typedef struct config_errors_s {
    const char *name; /* where the config came from */
    size_t count;
} config_errors_t;

/* One line per problem, as it is found. */
static void config_error(const char *path, const char *message, void *opaque) {
    config_errors_t *ce = opaque;
    evbus_cli_err(ce->name, "%s: %s", path, message);
    ce->count++;
}

evbus_producer_config_t *evbus_cli_config(evbus_cli_t *cli, const char *source,
                                          const evbus_schema_store_t *store, int *rcp) {
    const char *name = source ? source : cli->config_file ? cli->config_file : "EVENT_BUS_PRODUCER_CONFIG";
    if (!source)
        source = evbus_conf_get(cli->conf, "producer.config");
    if (!source || !*source) {
        evbus_cli_err(cli->cmd, "no producer config: give a FILE, -c FILE or EVENT_BUS_PRODUCER_CONFIG");
        *rcp = EVBUS_CLI_USAGE;
        return NULL;
    }
    /* JSON text given inline is named by where it came from, not echoed. */
    if (*source == '{' && name == source)
        name = "config";
    config_errors_t ce = {name, 0};
    evbus_producer_config_t *cfg = evbus_producer_config_load(
        source, store, evbus_cli_prefix(cli), config_error, &ce, NULL, 0);
    if (!cfg) {
        if (ce.count == 0) /* memory ran out */
            evbus_cli_err(name, "cannot load the producer config");
        *rcp = EVBUS_CLI_USAGE;
    }
    return cfg;
}

int evbus_cli_conf_bool(const evbus_conf_t *conf, const char *name) {
    int v = 0;
    return evbus_conf_get_bool(conf, name, &v) == EVBUS_OK ? v : 0;
}

int64_t evbus_cli_conf_int(const evbus_conf_t *conf, const char *name) {
    int64_t v = 0;
    return evbus_conf_get_int(conf, name, &v) == EVBUS_OK ? v : 0;
}

int evbus_cli_has_bootstrap(const evbus_cli_t *cli) {
    const char *b = evbus_conf_get(cli->conf, "kafka.bootstrap.servers");
    if (!b)
        b = evbus_conf_get(cli->conf, "kafka.metadata.broker.list");
    return b && *b;
}

/*
 * librdkafka's own log lines are noise for a CLI user unless -v asked for them, with two
 * exceptions: an authentication failure and a failed TLS handshake.  Requests then only fail
 * as "transport failure" or time out, so the log line is the one place that says why; it is
 * printed once, as ours, and evbus_cli_kafka_reported() tells the caller not to add its
 * generic line.  (The log callback runs on librdkafka's threads, so it also works while we
 * wait on a metadata request, when no error event would be served.)
 */
static atomic_int g_told;

/* Why OpenSSL refused the broker's certificate, as seen by cert_verify_cb: librdkafka's own
 * line says only "certificate verify failed", whatever the reason.  Values are OpenSSL's
 * X509_V_ERR_* codes (x509_vfy.h), stable across versions, so no OpenSSL header is needed. */
static atomic_int g_x509_error;

static const char *x509_reason(int e) {
    switch (e) {
    case 62: /* X509_V_ERR_HOSTNAME_MISMATCH */
    case 64: /* X509_V_ERR_IP_ADDRESS_MISMATCH */
        return "broker certificate is not issued for the host name connected to (check "
               "bootstrap.servers against the names in the certificate)";
    case 2:  /* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT */
    case 18: /* X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT */
    case 19: /* X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN */
    case 20: /* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY */
    case 21: /* X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE */
        return "broker certificate not trusted: it is not signed by a CA of "
               "kafka.ssl.ca.location (or the system's)";
    case 9:  return "broker certificate is not valid yet";  /* X509_V_ERR_CERT_NOT_YET_VALID */
    case 10: return "broker certificate has expired";       /* X509_V_ERR_CERT_HAS_EXPIRED */
    default: return NULL;
    }
}

/* Keeps OpenSSL's verdict (returns 1 exactly when it found no error); only notes why. */
static int cert_verify_cb(rd_kafka_t *rk, const char *broker_name, int32_t broker_id,
                          int *x509_error, int depth, const char *buf, size_t size, char *errstr,
                          size_t errstr_size, void *opaque) {
    (void)rk; (void)broker_id; (void)depth; (void)buf; (void)size; (void)opaque;
    if (*x509_error == 0)
        return 1;
    int none = 0;
    atomic_compare_exchange_strong(&g_x509_error, &none, *x509_error);
    const char *why = x509_reason(*x509_error);
    if (why)
        snprintf(errstr, errstr_size, "%s", why);
    else
        snprintf(errstr, errstr_size, "%s: certificate rejected (X509 error %d)", broker_name,
                 *x509_error);
    return 0;
}

int evbus_cli_kafka_reported(void) { return atomic_load(&g_told); }

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    const evbus_cli_t *cli = rd_kafka_opaque(rk);
    if (cli && cli->verbose) {
        evbus_cli_log(cli, "librdkafka %d %s: %s", level, fac, buf); /* sanitized: brokers' text */
        return;
    }
    const char *what = cli ? cli->cmd : "kafka";
    const char *auth = strstr(buf, "SASL authentication error");
    if (!auth)
        auth = strstr(buf, "Authentication failed");
    const char *tls = strstr(buf, ": SSL handshake failed: ");
    if (auth && atomic_exchange(&g_told, 1) == 0) {
        evbus_cli_err(what, "authentication failed: %s", auth);
    } else if (tls && !auth && atomic_exchange(&g_told, 1) == 0) {
        /* buf: "ssl://HOST:PORT/ID: SSL handshake failed: error:...: <reason>, <hint>" */
        const char *b = strstr(buf, "]: ");
        b = b && b < tls ? b + 3 : buf;
        const char *why = x509_reason(atomic_load(&g_x509_error));
        if (why)
            evbus_cli_err(what, "TLS handshake with %.*s failed: %s", (int)(tls - b), b, why);
        else if (strstr(tls, "certificate verify failed"))
            evbus_cli_err(what, "TLS handshake with %.*s failed: broker certificate not trusted: it is "
                          "not signed by a CA of kafka.ssl.ca.location (or the system's), or not "
                          "issued for the host name connected to", (int)(tls - b), b);
        else
            evbus_cli_err(what, "TLS handshake with %.*s failed: %s", (int)(tls - b), b,
                          tls + strlen(": SSL handshake failed: "));
    }
}

int evbus_cli_metadata(const evbus_cli_t *cli, rd_kafka_t *rk,
                       const struct rd_kafka_metadata **mdp) {
    /* In slices, so that a failure that cannot get better (an untrusted certificate, a refused
     * login: log_cb has said why) ends the wait at once instead of after cli.timeout.ms. */
    int64_t deadline = evbus_cli_now_us() + (int64_t)cli->timeout_ms * 1000;
    for (;;) {
        int64_t left_ms = (deadline - evbus_cli_now_us()) / 1000;
        int slice = left_ms > 500 ? 500 : left_ms < 1 ? 1 : (int)left_ms;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, mdp, slice);
        if (e != RD_KAFKA_RESP_ERR__TIMED_OUT && e != RD_KAFKA_RESP_ERR__TRANSPORT)
            return e;
        if (evbus_cli_kafka_reported() || evbus_cli_now_us() >= deadline)
            return e;
    }
}

rd_kafka_t *evbus_cli_kafka(evbus_cli_t *cli, int type, int *rcp, ...) {
    char errstr[512];
    *rcp = EVBUS_CLI_USAGE;
    if (!evbus_cli_has_bootstrap(cli)) {
        evbus_cli_err(cli->cmd, "no broker: give -b HOST:PORT or set EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS");
        return NULL;
    }
    rd_kafka_conf_t *kc = evbus_conf_to_kafka(cli->conf, errstr, sizeof(errstr));
    if (!kc) {
        evbus_cli_err(cli->cmd, "%s", errstr);
        return NULL;
    }
    va_list ap;
    va_start(ap, rcp);
    const char *n, *v;
    while ((n = va_arg(ap, const char *)) && (v = va_arg(ap, const char *))) {
        if (rd_kafka_conf_set(kc, n, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            va_end(ap);
            evbus_cli_err(cli->cmd, "%s: %s", n, errstr);
            rd_kafka_conf_destroy(kc);
            return NULL;
        }
    }
    va_end(ap);
    rd_kafka_conf_set_opaque(kc, cli);
    rd_kafka_conf_set_log_cb(kc, log_cb);
    /* Only to say why a certificate was refused; where verification is off, nothing to say
     * (and a callback would turn it back on). */
    const char *verify = evbus_conf_get(cli->conf, "kafka.enable.ssl.certificate.verification");
    if (!verify || (strcmp(verify, "false") != 0 && strcmp(verify, "0") != 0))
        rd_kafka_conf_set_ssl_cert_verify_cb(kc, cert_verify_cb); /* INVALID: no SSL, no need */
    rd_kafka_t *rk = rd_kafka_new((rd_kafka_type_t)type, kc, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(kc);
        evbus_cli_err(cli->cmd, "%s", errstr);
        return NULL;
    }
    *rcp = 0;
    return rk;
}
