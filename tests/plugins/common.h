/* Shared bits of the test plugins: a line appended to $EVBUS_TEST_PLUGIN_OUT per call, so a
 * test sees what ran even when the plugin ran in an isolated child process. */
#ifndef EVBUS_TEST_PLUGIN_COMMON_H
#define EVBUS_TEST_PLUGIN_COMMON_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evbus/plugin.h"

static inline void tp_record(const char *what, const evbus_event_t *ev) {
    const char *path = getenv("EVBUS_TEST_PLUGIN_OUT");
    if (!path)
        return;
    char line[512];
    int n = snprintf(line, sizeof(line), "%s %s %d\n", what, ev ? evbus_event_id(ev) : "-",
                     (int)getpid());
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0)
        return;
    /* one write with O_APPEND: lines from several processes do not interleave */
    if (write(fd, line, (size_t)n) != n) {
    }
    close(fd);
}

/* The test event's "action" field, read from the decoded data. */
static inline int tp_action_is(const evbus_event_t *ev, const char *action) {
    char want[64];
    snprintf(want, sizeof(want), "\"action\":\"%s\"", action);
    const char *j = evbus_event_json(ev, NULL);
    return j && strstr(j, want) != NULL;
}

#endif
