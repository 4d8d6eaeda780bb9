/*
 * The spool's files: the lock, the version marker, segments of records, and their repair.
 *
 * A record is a 32-byte header (magic, type, payload length, payload CRC-32C, sequence
 * number, header CRC-32C) and its payload.  Event records hold an event; ack records list
 * the sequence numbers of events every topic has.  Segments are only appended to, and a new
 * one is started at each open, so a crash can only tear the end of the newest segment.  A
 * segment is deleted once it and every older one hold no undelivered event: acks for an
 * event can only be in its own segment or a later one, so deleting from the head never
 * brings a delivered event back.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "spool.h"

#define MAGIC 0x50535645u /* "EVSP" */
#define SEG_MIN 4096
#define SEG_MAX (64 * 1024 * 1024)

typedef struct seg_s {
    uint32_t id;
    int fd;
    uint64_t bytes;
    uint64_t live;       /* events in it not yet delivered */
    int64_t first_us;    /* created time of its first event (0: none) */
} seg_t;

struct evbus__spool_s {
    char *dir;
    int lockfd, dirfd;
    evbus__spool_opts_t o;
    uint64_t seg_bytes;
    pthread_mutex_t mu;
    pthread_cond_t room, synced_cv;
    seg_t *segs; /* id order; the last one is written to */
    size_t nsegs, capsegs;
    uint64_t next_seq;
    uint64_t total_bytes, live_events;
    uint64_t written, synced; /* bytes ever appended, and how many of them are fsync'ed */
    int syncing;
    int64_t last_sync_us;
    uint64_t *acks;
    size_t nacks, capacks;
    /* Releases from the delivery thread, applied by the next tick: they never wait for mu,
     * which a sender holds across its write. */
    pthread_mutex_t rel_mu;
    evbus__spool_loc_t *rel, *rel_spare;
    size_t nrel, caprel, capspare;
    evbus__spool_loc_t *held;
    size_t nheld;
    int io_failed;
};

/* ---- header ---- */

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) {
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void hdr_make(unsigned char h[EVBUS__SPOOL_HDR], int type, uint32_t len, uint32_t pcrc,
                     uint64_t seq) {
    memset(h, 0, EVBUS__SPOOL_HDR);
    put32(h, MAGIC);
    h[4] = (unsigned char)type;
    put32(h + 8, len);
    put32(h + 12, pcrc);
    put64(h + 16, seq);
    put32(h + 24, evbus__crc32c(0, h, 24));
}

/* A record starting at p (avail bytes there): 1 valid, 0 not. */
static int rec_valid(const unsigned char *p, size_t avail) {
    if (avail < EVBUS__SPOOL_HDR || get32(p) != MAGIC || get32(p + 24) != evbus__crc32c(0, p, 24))
        return 0;
    uint32_t len = get32(p + 8);
    if ((uint64_t)len > avail - EVBUS__SPOOL_HDR)
        return 0;
    if (p[4] == EVBUS__SREC_SKIP)
        return 1;
    if (p[4] != EVBUS__SREC_EVENT && p[4] != EVBUS__SREC_ACK)
        return 0;
    return get32(p + 12) == evbus__crc32c(0, p + EVBUS__SPOOL_HDR, len);
}

/* ---- scanning (shared by open and the read-only status) ---- */

typedef struct scan_s {
    evbus__spool_loc_t *ev;
    size_t nev, capev;
    uint64_t *acks;
    size_t nacks, capacks;
    /* Releases from the delivery thread, applied by the next tick: they never wait for mu,
     * which a sender holds across its write. */
    pthread_mutex_t rel_mu;
    evbus__spool_loc_t *rel, *rel_spare;
    size_t nrel, caprel, capspare;
    uint64_t max_seq;
    int any_seq;
} scan_t;

static int grow(void **arr, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 256;
    while (c < need)
        c *= 2;
    void *n = realloc(*arr, c * elem);
    if (!n)
        return -1;
    *arr = n;
    *cap = c;
    return 0;
}

static int seen_seq(scan_t *s, uint64_t seq) {
    if (!s->any_seq || seq > s->max_seq)
        s->max_seq = seq;
    s->any_seq = 1;
    return 0;
}

/* One valid record at off of segment id: note it. */
static int scan_record(scan_t *s, uint32_t id, uint64_t off, const unsigned char *p) {
    uint32_t len = get32(p + 8);
    uint64_t seq = get64(p + 16);
    if (p[4] == EVBUS__SREC_EVENT) {
        if (len < 8 || grow((void **)&s->ev, &s->capev, s->nev + 1, sizeof(*s->ev)) != 0)
            return len < 8 ? 0 : -1;
        evbus__spool_loc_t *l = &s->ev[s->nev++];
        l->seq = seq;
        l->seg = id;
        l->len = len;
        l->off = off;
        l->created_us = (int64_t)get64(p + EVBUS__SPOOL_HDR);
        seen_seq(s, seq);
    } else if (p[4] == EVBUS__SREC_ACK) {
        if (len < 4)
            return 0;
        uint32_t n = get32(p + EVBUS__SPOOL_HDR);
        if ((uint64_t)n * 8 + 4 > len)
            return 0;
        if (grow((void **)&s->acks, &s->capacks, s->nacks + n, sizeof(*s->acks)) != 0)
            return -1;
        for (uint32_t i = 0; i < n; i++) {
            s->acks[s->nacks++] = get64(p + EVBUS__SPOOL_HDR + 4 + 8 * (size_t)i);
        }
        seen_seq(s, seq);
    }
    return 0;
}

/* A damaged or torn range found in a segment. */
typedef struct damage_s {
    uint64_t off, end; /* [off, end) */
    int torn;          /* at the end of the newest segment: cut off */
} damage_t;

/* Walk buf (a whole segment).  Calls scan_record per valid record; damage[] gets the bad
 * ranges (at most one torn, at the end).  -1 on out of memory. */
static int scan_segment(scan_t *s, uint32_t id, const unsigned char *buf, size_t len, int newest,
                        damage_t **dmg, size_t *ndmg, size_t *capdmg) {
    size_t off = 0;
    while (off < len) {
        if (rec_valid(buf + off, len - off)) {
            if (scan_record(s, id, off, buf + off) != 0)
                return -1;
            off += EVBUS__SPOOL_HDR + get32(buf + off + 8);
            continue;
        }
        /* Find the next valid record: what lies between is damaged. */
        size_t next = off + 1;
        while (next < len && !(buf[next] == 0x45 && rec_valid(buf + next, len - next)))
            next++;
        if (grow((void **)dmg, capdmg, *ndmg + 1, sizeof(**dmg)) != 0)
            return -1;
        (*dmg)[(*ndmg)++] = (damage_t){off, next, next >= len && newest};
        off = next;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Drop the acked events from s->ev (keeps write order). */
static void scan_filter(scan_t *s) {
    if (s->nacks)
        qsort(s->acks, s->nacks, sizeof(*s->acks), cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < s->nev; i++)
        if (!s->nacks || !bsearch(&s->ev[i].seq, s->acks, s->nacks, sizeof(*s->acks), cmp_u64))
            s->ev[k++] = s->ev[i];
    s->nev = k;
}

static void scan_free(scan_t *s) {
    free(s->ev);
    free(s->acks);
}

/* ---- directory ---- */

static int seg_name(char *out, size_t size, const char *dir, uint32_t id) {
    return snprintf(out, size, "%s/%016" PRIx32 ".seg", dir, id) >= (int)size ? -1 : 0;
}

static int parse_seg_name(const char *n, uint32_t *id) {
    size_t l = strlen(n);
    if (l != 20 || strcmp(n + 16, ".seg") != 0)
        return -1;
    char *end;
    unsigned long long v = strtoull(n, &end, 16);
    if (end != n + 16 || v > UINT32_MAX)
        return -1;
    *id = (uint32_t)v;
    return 0;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The segment ids in dir, sorted; *other: whether any file is neither ours nor a dot file. */
static int list_segments(const char *dir, uint32_t **ids, size_t *n, int *other, int *marker) {
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    *other = *marker = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        uint32_t id;
        if (e->d_name[0] == '.')
            continue;
        if (!strcmp(e->d_name, EVBUS__SPOOL_MARKER)) {
            *marker = 1;
        } else if (parse_seg_name(e->d_name, &id) == 0) {
            if (grow((void **)ids, &cap, *n + 1, sizeof(**ids)) != 0) {
                closedir(d);
                errno = ENOMEM;
                return -1;
            }
            (*ids)[(*n)++] = id;
        } else if (strcmp(e->d_name, "lock") && strcmp(e->d_name, "quarantine")) {
            *other = 1;
        }
    }
    closedir(d);
    if (*n)
        qsort(*ids, *n, sizeof(**ids), cmp_u32);
    return 0;
}

/* The marker's version, 0 when absent, -1 unreadable. */
static int read_marker(const char *dir, int *version) {
    char path[4096], buf[64] = "";
    snprintf(path, sizeof(path), "%s/%s", dir, EVBUS__SPOOL_MARKER);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? (*version = 0, 0) : -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    if (sscanf(buf, "evbus-spool %d", version) != 1)
        *version = -1;
    return 0;
}

static evbus_err_t check_dir(const char *dir, int create, char *errstr, size_t errstr_size) {
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT || !create)
            return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size, "spool %s: %s", dir,
                               strerror(errno));
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size, "spool %s: cannot create it: %s",
                               dir, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size, "spool %s: not a directory", dir);
    }
    int version;
    if (read_marker(dir, &version) != 0)
        return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size, "spool %s: cannot read %s: %s", dir,
                           EVBUS__SPOOL_MARKER, strerror(errno));
    if (version < 0)
        return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size,
                           "spool %s: %s is not an evbus spool marker", dir, EVBUS__SPOOL_MARKER);
    if (version > 0 && version != EVBUS__SPOOL_VERSION)
        return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size,
                           "spool %s: written by a spool format version %d; this evbus reads "
                           "version %d", dir, version, EVBUS__SPOOL_VERSION);
    if (version == 0) {
        uint32_t *ids;
        size_t n;
        int other, marker;
        if (list_segments(dir, &ids, &n, &other, &marker) != 0)
            return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size, "spool %s: %s", dir,
                               strerror(errno));
        free(ids);
        if (other || n)
            return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size,
                               "spool %s: not an evbus spool (no %s file, and the directory is "
                               "not empty)", dir, EVBUS__SPOOL_MARKER);
        if (!create)
            return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size,
                               "spool %s: not an evbus spool (no %s file)", dir, EVBUS__SPOOL_MARKER);
    }
    return EVBUS_OK;
}

static evbus_err_t write_marker(evbus__spool_t *sp, char *errstr, size_t errstr_size) {
    char path[4096], tmp[4200], body[64];
    snprintf(path, sizeof(path), "%s/%s", sp->dir, EVBUS__SPOOL_MARKER);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int n = snprintf(body, sizeof(body), "evbus-spool %d\n", EVBUS__SPOOL_VERSION);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, body, (size_t)n) != n || fsync(fd) != 0 || close(fd) != 0 ||
        rename(tmp, path) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size, "spool %s: cannot write %s: %s",
                           sp->dir, EVBUS__SPOOL_MARKER, strerror(e));
    }
    fsync(sp->dirfd);
    return EVBUS_OK;
}

static evbus_err_t take_lock(evbus__spool_t *sp, char *errstr, size_t errstr_size) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/lock", sp->dir);
    sp->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (sp->lockfd < 0)
        return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size, "spool %s: cannot open %s: %s",
                           sp->dir, path, strerror(errno));
    /* flock: held per open file, so it also excludes a second producer in this process, and
     * the kernel drops it when the holder dies, however it dies. */
    if (flock(sp->lockfd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(sp->lockfd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        close(sp->lockfd);
        sp->lockfd = -1;
        if (e == EWOULDBLOCK)
            return evbus__fail(EVBUS_ERR_STATE, errstr, errstr_size,
                               "spool %s is in use by another producer (pid %s)", sp->dir,
                               pid[0] ? pid : "unknown");
        return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size, "spool %s: cannot lock: %s", sp->dir,
                           strerror(e));
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(sp->lockfd, 0) != 0 || pwrite(sp->lockfd, pid, (size_t)n, 0) != n)
        return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size, "spool %s: cannot write the lock: %s",
                           sp->dir, strerror(errno));
    return EVBUS_OK;
}

static int read_all(int fd, unsigned char **buf, size_t *len) {
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    *len = (size_t)st.st_size;
    *buf = malloc(*len ? *len : 1);
    if (!*buf)
        return -1;
    size_t got = 0;
    while (got < *len) {
        ssize_t r = pread(fd, *buf + got, *len - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(*buf);
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

/* Move [d->off, d->end) of segment id to quarantine/, and mark it skipped in the segment. */
static int quarantine(evbus__spool_t *sp, seg_t *sg, const unsigned char *buf, const damage_t *d) {
    char path[4200];
    snprintf(path, sizeof(path), "%s/quarantine", sp->dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    snprintf(path, sizeof(path), "%s/quarantine/%016" PRIx32 "-%012" PRIx64 ".rec", sp->dir, sg->id,
             d->off);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t n = (size_t)(d->end - d->off);
    if (fd < 0)
        return -1;
    int ok = write(fd, buf + d->off, n) == (ssize_t)n && fsync(fd) == 0;
    close(fd);
    if (!ok)
        return -1;
    if (n >= EVBUS__SPOOL_HDR) {
        unsigned char h[EVBUS__SPOOL_HDR];
        hdr_make(h, EVBUS__SREC_SKIP, (uint32_t)(n - EVBUS__SPOOL_HDR), 0, 0);
        if (pwrite(sg->fd, h, sizeof(h), (off_t)d->off) != (ssize_t)sizeof(h))
            return -1;
    } else if (ftruncate(sg->fd, (off_t)d->off) != 0) { /* too short to mark: only at the end */
        return -1;
    }
    return fsync(sg->fd);
}

static seg_t *seg_find(evbus__spool_t *sp, uint32_t id) {
    for (size_t i = 0; i < sp->nsegs; i++)
        if (sp->segs[i].id == id)
            return &sp->segs[i];
    return NULL;
}

static int seg_add(evbus__spool_t *sp, uint32_t id, int fd, uint64_t bytes) {
    if (grow((void **)&sp->segs, &sp->capsegs, sp->nsegs + 1, sizeof(*sp->segs)) != 0)
        return -1;
    sp->segs[sp->nsegs++] = (seg_t){id, fd, bytes, 0, 0};
    sp->total_bytes += bytes;
    return 0;
}

/* A new, empty segment to write to. */
static int seg_new(evbus__spool_t *sp) {
    uint32_t id = sp->nsegs ? sp->segs[sp->nsegs - 1].id + 1 : 1;
    char path[4200];
    if (seg_name(path, sizeof(path), sp->dir, id) != 0)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (seg_add(sp, id, fd, 0) != 0) {
        close(fd);
        unlink(path);
        return -1;
    }
    if (sp->o.sync != EVBUS__SPOOL_SYNC_NONE)
        fsync(sp->dirfd); /* the new file's name survives a power loss */
    return 0;
}

/* Delete head segments that hold nothing undelivered (never the one written to). */
static void seg_trim(evbus__spool_t *sp) {
    size_t k = 0;
    while (k + 1 < sp->nsegs && sp->segs[k].live == 0)
        k++;
    if (!k)
        return;
    for (size_t i = 0; i < k; i++) {
        char path[4200];
        seg_name(path, sizeof(path), sp->dir, sp->segs[i].id);
        unlink(path);
        close(sp->segs[i].fd);
        sp->total_bytes -= sp->segs[i].bytes;
    }
    memmove(sp->segs, sp->segs + k, (sp->nsegs - k) * sizeof(*sp->segs));
    sp->nsegs -= k;
    pthread_cond_broadcast(&sp->room);
}

const char *evbus__spool_dir(const evbus__spool_t *sp) {
    return sp->dir;
}

evbus__spool_t *evbus__spool_open(const char *dir, const evbus__spool_opts_t *o,
                                  evbus__spool_found_t *found, char *errstr, size_t errstr_size) {
    evbus__spool_found_t f0 = {0};
    if (!found)
        found = &f0;
    memset(found, 0, sizeof(*found));
    if (!dir || !*dir) {
        evbus__seterr(errstr, errstr_size, "spool: no directory given");
        return NULL;
    }
    if (check_dir(dir, 1, errstr, errstr_size) != EVBUS_OK)
        return NULL;
    evbus__spool_t *sp = calloc(1, sizeof(*sp));
    if (!sp || !(sp->dir = evbus__strdup(dir))) {
        free(sp);
        evbus__seterr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    sp->lockfd = -1;
    sp->o = *o;
    uint64_t sb = o->segment_bytes > 0 ? (uint64_t)o->segment_bytes : (uint64_t)o->max_bytes / 8;
    sp->seg_bytes = sb < SEG_MIN ? SEG_MIN : sb > SEG_MAX ? SEG_MAX : sb;
    pthread_mutex_init(&sp->mu, NULL);
    pthread_mutex_init(&sp->rel_mu, NULL);
    pthread_cond_init(&sp->room, NULL);
    pthread_cond_init(&sp->synced_cv, NULL);
    sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->dirfd < 0) {
        evbus__seterr(errstr, errstr_size, "spool %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (take_lock(sp, errstr, errstr_size) != EVBUS_OK)
        goto fail;
    int version;
    if (read_marker(dir, &version) != 0 || version != EVBUS__SPOOL_VERSION) {
        if (check_dir(dir, 1, errstr, errstr_size) != EVBUS_OK ||
            write_marker(sp, errstr, errstr_size) != EVBUS_OK)
            goto fail;
    }
    uint32_t *ids = NULL;
    size_t nids;
    int other, marker;
    if (list_segments(dir, &ids, &nids, &other, &marker) != 0) {
        evbus__seterr(errstr, errstr_size, "spool %s: %s", dir, strerror(errno));
        goto fail;
    }
    scan_t s = {0};
    damage_t *dmg = NULL;
    size_t capdmg = 0;
    for (size_t i = 0; i < nids; i++) {
        char path[4200];
        seg_name(path, sizeof(path), dir, ids[i]);
        int fd = open(path, O_RDWR | O_CLOEXEC);
        unsigned char *buf = NULL;
        size_t len = 0, ndmg = 0;
        if (fd < 0 || read_all(fd, &buf, &len) != 0) {
            evbus__seterr(errstr, errstr_size, "spool %s: cannot read %s: %s", dir, path,
                          strerror(errno));
            if (fd >= 0)
                close(fd);
            free(ids);
            free(dmg);
            scan_free(&s);
            goto fail;
        }
        if (seg_add(sp, ids[i], fd, len) != 0 ||
            scan_segment(&s, ids[i], buf, len, i + 1 == nids, &dmg, &ndmg, &capdmg) != 0) {
            if (sp->nsegs == 0 || sp->segs[sp->nsegs - 1].fd != fd)
                close(fd);
            evbus__seterr(errstr, errstr_size, "out of memory");
            free(buf);
            free(ids);
            free(dmg);
            scan_free(&s);
            goto fail;
        }
        seg_t *sg = &sp->segs[sp->nsegs - 1];
        for (size_t k = 0; k < ndmg; k++) {
            if (dmg[k].torn) {
                found->torn++;
                if (ftruncate(fd, (off_t)dmg[k].off) != 0 || fsync(fd) != 0) {
                    evbus__seterr(errstr, errstr_size, "spool %s: cannot cut the torn record "
                                  "off %s: %s", dir, path, strerror(errno));
                    free(buf);
                    free(ids);
                    free(dmg);
                    scan_free(&s);
                    goto fail;
                }
                sp->total_bytes -= sg->bytes - dmg[k].off;
                sg->bytes = dmg[k].off;
            } else {
                found->quarantined++;
                if (quarantine(sp, sg, buf, &dmg[k]) != 0) {
                    evbus__seterr(errstr, errstr_size, "spool %s: cannot quarantine a damaged "
                                  "record of %s: %s", dir, path, strerror(errno));
                    free(buf);
                    free(ids);
                    free(dmg);
                    scan_free(&s);
                    goto fail;
                }
            }
        }
        free(buf);
    }
    free(ids);
    free(dmg);
    scan_filter(&s);
    sp->next_seq = s.any_seq ? s.max_seq + 1 : 1;
    for (size_t i = 0; i < s.nev; i++) {
        seg_t *sg = seg_find(sp, s.ev[i].seg);
        sg->live++;
        if (!sg->first_us)
            sg->first_us = s.ev[i].created_us;
    }
    sp->live_events = found->held = s.nev;
    sp->held = s.ev;
    sp->nheld = s.nev;
    s.ev = NULL;
    scan_free(&s);
    if (seg_new(sp) != 0) {
        evbus__seterr(errstr, errstr_size, "spool %s: cannot create a segment: %s", dir,
                      strerror(errno));
        goto fail;
    }
    seg_trim(sp);
    sp->last_sync_us = evbus__now_us();
    return sp;
fail:
    evbus__spool_close(sp);
    return NULL;
}

const evbus__spool_loc_t *evbus__spool_held(const evbus__spool_t *sp, size_t *n) {
    *n = sp->nheld;
    return sp->held;
}

void evbus__spool_held_release(evbus__spool_t *sp) {
    free(sp->held);
    sp->held = NULL;
    sp->nheld = 0;
}

/* ---- writing ---- */

/* Append one record to the current segment (mu held).  0 or -1 (errno). */
static int append_locked(evbus__spool_t *sp, int type, const void *payload, size_t len,
                         uint32_t pcrc, uint64_t seq) {
    seg_t *cur = &sp->segs[sp->nsegs - 1];
    unsigned char h[EVBUS__SPOOL_HDR];
    hdr_make(h, type, (uint32_t)len, pcrc, seq);
    struct iovec iov[2] = {{h, sizeof(h)}, {(void *)payload, len}};
    size_t want = sizeof(h) + len, done = 0;
    while (done < want) {
        ssize_t w = pwritev(cur->fd, iov, 2, (off_t)(cur->bytes + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            if (ftruncate(cur->fd, (off_t)cur->bytes) != 0)
                sp->io_failed = 1; /* a partial record stays: stop writing after it */
            errno = e;
            return -1;
        }
        done += (size_t)w;
        /* advance the iovecs past what was written */
        size_t skip = (size_t)w;
        for (int i = 0; i < 2; i++) {
            size_t t = skip < iov[i].iov_len ? skip : iov[i].iov_len;
            iov[i].iov_base = (char *)iov[i].iov_base + t;
            iov[i].iov_len -= t;
            skip -= t;
        }
    }
    cur->bytes += want;
    sp->total_bytes += want;
    sp->written += want;
    return 0;
}

/* fsync what is written, grouped: one caller syncs for every record written before it
 * started, the others wait for that (mu held on entry and exit). */
static int sync_to(evbus__spool_t *sp, uint64_t target) {
    while (sp->synced < target) {
        if (sp->syncing) {
            pthread_cond_wait(&sp->synced_cv, &sp->mu);
            continue;
        }
        sp->syncing = 1;
        uint64_t upto = sp->written;
        int fd = dup(sp->segs[sp->nsegs - 1].fd); /* a rotation may close nothing under us */
        pthread_mutex_unlock(&sp->mu);
        int rc = fd < 0 ? -1 : fdatasync(fd);
        int e = errno;
        if (fd >= 0)
            close(fd);
        pthread_mutex_lock(&sp->mu);
        sp->syncing = 0;
        if (rc == 0 && upto > sp->synced)
            sp->synced = upto;
        sp->last_sync_us = evbus__now_us();
        pthread_cond_broadcast(&sp->synced_cv);
        if (rc != 0) {
            errno = e;
            return -1;
        }
    }
    return 0;
}

evbus_err_t evbus__spool_append(evbus__spool_t *sp, const void *payload, size_t len,
                                int64_t created_us, int64_t deadline_us, evbus__spool_loc_t *loc,
                                char *errstr, size_t errstr_size) {
    uint64_t need = EVBUS__SPOOL_HDR + (uint64_t)len;
    if (len > UINT32_MAX - EVBUS__SPOOL_HDR || need > (uint64_t)sp->o.max_bytes)
        return evbus__fail(EVBUS_ERR_QUEUE_FULL, errstr, errstr_size,
                           "event needs %zu bytes in the spool, more than producer.spool.max.bytes "
                           "(%lld); nothing written", len, (long long)sp->o.max_bytes);
    uint32_t pcrc = evbus__crc32c(0, payload, len); /* outside the lock */
    pthread_mutex_lock(&sp->mu);
    while (!sp->io_failed && sp->total_bytes + need > (uint64_t)sp->o.max_bytes) {
        int64_t now = evbus__now_us();
        if (now >= deadline_us) {
            pthread_mutex_unlock(&sp->mu);
            return evbus__fail(EVBUS_ERR_QUEUE_FULL, errstr, errstr_size,
                               "spool %s is full (producer.spool.max.bytes %lld) and nothing was "
                               "delivered for queue.full.timeout.ms; nothing written", sp->dir,
                               (long long)sp->o.max_bytes);
        }
        /* The delivery side signals room; the bounded wait re-checks in any case. */
        int64_t until = deadline_us - now > 100000 ? now + 100000 : deadline_us;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = (int64_t)ts.tv_nsec + (until - now) * 1000;
        ts.tv_sec += (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&sp->room, &sp->mu, &ts);
    }
    if (sp->io_failed) {
        pthread_mutex_unlock(&sp->mu);
        return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size,
                           "spool %s: an earlier write failed; the producer must be reopened",
                           sp->dir);
    }
    seg_t *cur = &sp->segs[sp->nsegs - 1];
    if (cur->bytes > 0 && cur->bytes + need > sp->seg_bytes) {
        if (sp->o.sync != EVBUS__SPOOL_SYNC_NONE && sync_to(sp, sp->written) != 0) {
            int e = errno;
            pthread_mutex_unlock(&sp->mu);
            return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size, "spool %s: fsync: %s", sp->dir,
                               strerror(e));
        }
        if (seg_new(sp) != 0) {
            int e = errno;
            pthread_mutex_unlock(&sp->mu);
            return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size,
                               "spool %s: cannot create a segment: %s", sp->dir, strerror(e));
        }
        cur = &sp->segs[sp->nsegs - 1];
        seg_trim(sp);
        cur = &sp->segs[sp->nsegs - 1];
    }
    uint64_t seq = sp->next_seq++;
    loc->seq = seq;
    loc->seg = cur->id;
    loc->len = (uint32_t)len;
    loc->off = cur->bytes;
    loc->created_us = created_us;
    if (append_locked(sp, EVBUS__SREC_EVENT, payload, len, pcrc, seq) != 0) {
        int e = errno;
        pthread_mutex_unlock(&sp->mu);
        return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size, "spool %s: write: %s; nothing "
                           "written", sp->dir, strerror(e));
    }
    cur->live++;
    if (!cur->first_us)
        cur->first_us = created_us;
    sp->live_events++;
    if (sp->o.sync == EVBUS__SPOOL_SYNC_ALWAYS && sync_to(sp, sp->written) != 0) {
        /* Written but not known to be on disk: it is in the spool (a killed process keeps
         * it), so the event is accepted; only a power loss could lose it.  Say so. */
        int e = errno;
        pthread_mutex_unlock(&sp->mu);
        return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size, "spool %s: fsync: %s", sp->dir,
                           strerror(e));
    }
    pthread_mutex_unlock(&sp->mu);
    return EVBUS_OK;
}

int evbus__spool_read(evbus__spool_t *sp, const evbus__spool_loc_t *loc, evbus__sbuf_t *b) {
    pthread_mutex_lock(&sp->mu);
    seg_t *sg = seg_find(sp, loc->seg);
    int fd = sg ? dup(sg->fd) : -1;
    pthread_mutex_unlock(&sp->mu);
    if (fd < 0)
        return -1;
    b->len = 0;
    unsigned char h[EVBUS__SPOOL_HDR];
    int rc = -1;
    if (pread(fd, h, sizeof(h), (off_t)loc->off) == (ssize_t)sizeof(h) &&
        get64(h + 16) == loc->seq && get32(h + 8) == loc->len &&
        evbus__sbuf_put(b, NULL, 0) == 0) {
        b->len = 0;
        if (b->cap < loc->len) {
            unsigned char *nd = realloc(b->data, loc->len);
            if (nd) {
                b->data = nd;
                b->cap = loc->len;
            }
        }
        if (b->cap >= loc->len &&
            pread(fd, b->data, loc->len, (off_t)(loc->off + sizeof(h))) == (ssize_t)loc->len &&
            get32(h + 12) == evbus__crc32c(0, b->data, loc->len)) {
            b->len = loc->len;
            rc = 0;
        }
    }
    close(fd);
    return rc;
}

void evbus__spool_release(evbus__spool_t *sp, const evbus__spool_loc_t *loc) {
    pthread_mutex_lock(&sp->rel_mu);
    if (grow((void **)&sp->rel, &sp->caprel, sp->nrel + 1, sizeof(*sp->rel)) == 0)
        sp->rel[sp->nrel++] = *loc;
    /* else: the event stays counted and its ack is not written: it is delivered again after
     * a restart (a duplicate, never a loss) */
    pthread_mutex_unlock(&sp->rel_mu);
}

/* Apply the releases since the last tick (mu held). */
static void apply_releases(evbus__spool_t *sp) {
    pthread_mutex_lock(&sp->rel_mu);
    evbus__spool_loc_t *r = sp->rel;
    size_t n = sp->nrel, cap = sp->caprel;
    sp->rel = sp->rel_spare; /* swap buffers: the delivery thread goes on at once */
    sp->caprel = sp->capspare;
    sp->nrel = 0;
    pthread_mutex_unlock(&sp->rel_mu);
    seg_t *sg = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!sg || sg->id != r[i].seg)
            sg = seg_find(sp, r[i].seg);
        if (sg && sg->live > 0) {
            sg->live--;
            sp->live_events--;
        }
        if (grow((void **)&sp->acks, &sp->capacks, sp->nacks + 1, sizeof(*sp->acks)) == 0)
            sp->acks[sp->nacks++] = r[i].seq;
    }
    sp->rel_spare = r;
    sp->capspare = cap;
}

void evbus__spool_tick(evbus__spool_t *sp, int64_t sync_interval_us) {
    pthread_mutex_lock(&sp->mu);
    apply_releases(sp);
    if (sp->nacks && !sp->io_failed) {
        size_t n = sp->nacks;
        size_t len = 4 + 8 * n;
        unsigned char *b = malloc(len);
        if (b) {
            put32(b, (uint32_t)n);
            for (size_t i = 0; i < n; i++)
                put64(b + 4 + 8 * i, sp->acks[i]);
            if (append_locked(sp, EVBUS__SREC_ACK, b, len, evbus__crc32c(0, b, len),
                              sp->next_seq++) == 0)
                sp->nacks = 0;
            free(b);
        }
    }
    seg_trim(sp);
    /* Interval: fsync what was written, at most once per interval. */
    if (sp->o.sync == EVBUS__SPOOL_SYNC_INTERVAL && sp->synced < sp->written &&
        evbus__now_us() - sp->last_sync_us >= sync_interval_us)
        (void)sync_to(sp, sp->written); /* failing: retried next tick */
    pthread_mutex_unlock(&sp->mu);
}

void evbus__spool_gauges(evbus__spool_t *sp, uint64_t *events, uint64_t *bytes, double *oldest_s) {
    pthread_mutex_lock(&sp->mu);
    *events = sp->live_events;
    *bytes = sp->total_bytes;
    *oldest_s = 0;
    for (size_t i = 0; i < sp->nsegs; i++)
        if (sp->segs[i].live > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts); /* created_us is wall-clock: it survives restarts */
            int64_t age = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - sp->segs[i].first_us;
            *oldest_s = age > 0 ? (double)age / 1e6 : 0;
            break;
        }
    pthread_mutex_unlock(&sp->mu);
}

void evbus__spool_close(evbus__spool_t *sp) {
    if (!sp)
        return;
    if (sp->nsegs) {
        evbus__spool_tick(sp, 0); /* the last acks, and trimming */
        pthread_mutex_lock(&sp->mu);
        if (sp->o.sync != EVBUS__SPOOL_SYNC_NONE)
            (void)sync_to(sp, sp->written);
        pthread_mutex_unlock(&sp->mu);
        /* An empty newest segment is left for nothing: remove it. */
        seg_t *cur = &sp->segs[sp->nsegs - 1];
        if (cur->bytes == 0) {
            char path[4200];
            seg_name(path, sizeof(path), sp->dir, cur->id);
            unlink(path);
        }
    }
    for (size_t i = 0; i < sp->nsegs; i++)
        close(sp->segs[i].fd);
    if (sp->dirfd >= 0)
        close(sp->dirfd);
    if (sp->lockfd >= 0)
        close(sp->lockfd); /* drops the lock */
    free(sp->segs);
    free(sp->acks);
    free(sp->rel);
    free(sp->rel_spare);
    free(sp->held);
    free(sp->dir);
    pthread_mutex_destroy(&sp->mu);
    pthread_mutex_destroy(&sp->rel_mu);
    pthread_cond_destroy(&sp->room);
    pthread_cond_destroy(&sp->synced_cv);
    free(sp);
}

/* ---- read-only scan ---- */

evbus_err_t evbus__spool_scan(const char *dir, evbus__spool_scan_cb *cb, void *opaque,
                              evbus__spool_found_t *found, char *errstr, size_t errstr_size) {
    evbus__spool_found_t f0 = {0};
    if (!found)
        found = &f0;
    memset(found, 0, sizeof(*found));
    evbus_err_t e = check_dir(dir, 0, errstr, errstr_size);
    if (e != EVBUS_OK)
        return e;
    uint32_t *ids;
    size_t nids;
    int other, marker;
    if (list_segments(dir, &ids, &nids, &other, &marker) != 0)
        return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size, "spool %s: %s", dir, strerror(errno));
    scan_t s = {0};
    damage_t *dmg = NULL;
    size_t capdmg = 0;
    unsigned char **bufs = calloc(nids ? nids : 1, sizeof(*bufs));
    e = bufs ? EVBUS_OK : EVBUS_ERR_NOMEM;
    for (size_t i = 0; e == EVBUS_OK && i < nids; i++) {
        char path[4200];
        seg_name(path, sizeof(path), dir, ids[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t len = 0, ndmg = 0;
        if (fd < 0 && errno == ENOENT) /* delivered and deleted meanwhile */
            continue;
        if (fd < 0 || read_all(fd, &bufs[i], &len) != 0) {
            e = evbus__fail(EVBUS_ERR_IO, errstr, errstr_size, "spool %s: cannot read %s: %s", dir,
                            path, strerror(errno));
            if (fd >= 0)
                close(fd);
            break;
        }
        close(fd);
        /* A writer may be appending right now: a record cut at any segment's end is torn or
         * still being written, not damage in the middle. */
        if (scan_segment(&s, ids[i], bufs[i], len, 1, &dmg, &ndmg, &capdmg) != 0) {
            e = evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
            break;
        }
        for (size_t k = 0; k < ndmg; k++) {
            if (dmg[k].torn)
                found->torn++;
            else
                found->quarantined++;
        }
    }
    if (e == EVBUS_OK) {
        scan_filter(&s);
        found->held = s.nev;
        for (size_t i = 0; i < s.nev; i++) {
            size_t si = 0;
            while (si < nids && ids[si] != s.ev[i].seg)
                si++;
            evbus__spool_event_t ev;
            if (si < nids && bufs[si] &&
                cb && evbus__spool_dec(bufs[si] + s.ev[i].off + EVBUS__SPOOL_HDR, s.ev[i].len, &ev) == 0) {
                cb(&ev, EVBUS__SPOOL_HDR + s.ev[i].len, opaque);
                evbus__spool_event_clear(&ev);
            }
        }
    }
    for (size_t i = 0; bufs && i < nids; i++)
        free(bufs[i]);
    free(bufs);
    free(ids);
    free(dmg);
    scan_free(&s);
    return e;
}
