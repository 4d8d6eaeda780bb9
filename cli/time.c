/* Times on the command line (--since): one parser for tail and consume. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* "30s" "10m" "2h" "1d", or ISO 8601 date[Thh:mm[:ss[.fff]]][Z|+hh:mm|-hh:mm] (no zone: UTC). */
int evbus_cli_parse_time(const char *s, int64_t now_ms, int64_t *out) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end != s && v >= 0 && end[0] && !end[1] && strchr("smhd", end[0])) {
        static const int64_t unit[] = {['s'] = 1000, ['m'] = 60000, ['h'] = 3600000,
                                       ['d'] = 86400000};
        if (v > INT64_MAX / unit[(unsigned char)end[0]])
            return -1;
        *out = now_ms - v * unit[(unsigned char)end[0]];
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return -1;
    const char *p = s + n;
    int64_t ms = 0;
    if (*p == 'T' || *p == ' ') {
        int k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &k) != 2 || k != 5)
            return -1;
        p += 1 + k;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &sec, &k) != 1 || k != 2)
                return -1;
            p += 1 + k;
            if (*p == '.' || *p == ',') {
                int digits = 0;
                for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                    if (digits < 3)
                        ms = ms * 10 + (*p - '0');
                if (!digits)
                    return -1;
                for (; digits < 3; digits++)
                    ms *= 10;
            }
        }
    }
    int64_t off_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om = 0, k = 0;
        int sign = *p == '-' ? -1 : 1;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) == 2 && k == 5)
            p += 1 + k;
        else if (sscanf(p + 1, "%2d%2d%n", &oh, &om, &k) == 2 && k == 4)
            p += 1 + k;
        else if (sscanf(p + 1, "%2d%n", &oh, &k) == 1 && k == 2)
            p += 1 + k;
        else
            return -1;
        off_min = sign * (oh * 60 + om);
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = ((int64_t)t - off_min * 60) * 1000 + ms;
    return 0;
}
