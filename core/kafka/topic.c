#include "topic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *evbus__topic_full(const char *prefix, const char *topic) {
    if (!topic)
        return NULL;
    if (!prefix || !*prefix)
        return strdup(topic);
    size_t n = strlen(prefix) + 1 + strlen(topic) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s-%s", prefix, topic);
    return s;
}

int evbus__topic_check(const char *name, char *errstr, size_t errstr_size) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0) {
        evbus__seterr(errstr, errstr_size, "topic name is empty");
        return -1;
    }
    if (n > EVBUS__TOPIC_MAX) {
        evbus__seterr(errstr, errstr_size, "topic name \"%.40s...\" is %zu characters, more than %d",
                      name, n, EVBUS__TOPIC_MAX);
        return -1;
    }
    if (!strcmp(name, ".") || !strcmp(name, "..")) {
        evbus__seterr(errstr, errstr_size, "topic name \"%s\" is reserved", name);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            evbus__seterr(errstr, errstr_size,
                          "topic name \"%s\" has an illegal character at %zu (legal: A-Z a-z 0-9 . _ -)",
                          name, i);
            return -1;
        }
    }
    return 0;
}
