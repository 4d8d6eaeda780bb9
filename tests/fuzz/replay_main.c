/*
 * A main() for one fuzz target without libFuzzer: it feeds every file of the directories (or
 * the files) given to the target's LLVMFuzzerTestOneInput, once each, in name order.  The
 * default build links each tests/fuzz/fuzz_<t>.c with it (tests/CMakeLists.txt) and ctest
 * replays tests/fuzz/artifacts/<t>/ and tests/fuzz/corpus/<t>/: so every input ever found,
 * and the whole corpus, runs in the ordinary gcc build and its ASan+UBSan twin too, with
 * the default budgets (scripts/fuzz lowers the codec's zero-size budget to 4,096), and in CI
 * whether or not clang is there.  A target reports a broken property by aborting, as under
 * libFuzzer.  A directory that does not exist is passed over (a target may have no
 * artifacts); replaying nothing at all is a failure.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target: weak, so a target without one links with a NULL here. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Replays one file; returns 0, or -1 when it cannot be read (a failure of the replay). */
static int replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *b = realloc(buf, cap * 2);
        if (!b) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        fprintf(stderr, "replay: %s: %s\n", path, buf ? "read error" : "out of memory");
        free(buf);
        return -1;
    }
    /* an exact-size copy, as libFuzzer passes it, so that an overread is caught by ASan */
    uint8_t *in = malloc(n ? n : 1);
    if (!in) {
        free(buf);
        fprintf(stderr, "replay: %s: out of memory\n", path);
        return -1;
    }
    memcpy(in, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(in, n);
    free(in);
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file of dir (not recursive); adds their number to *count. */
static int replay_dir(const char *dir, size_t *count) {
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 256) * sizeof(*nn));
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len))) {
            rc = -1;
            break;
        }
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (rc == 0)
        qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(names[i]) != 0)
                rc = -1;
            else
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    if (rc != 0)
        fprintf(stderr, "replay: %s: could not replay every file\n", dir);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize && LLVMFuzzerInitialize(&argc, &argv) != 0)
        return 1;
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        size_t before = count;
        if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(argv[i]) != 0)
                return 1;
            count++;
        } else if (replay_dir(argv[i], &count) != 0) {
            return 1;
        }
        printf("replay: %zu inputs from %s\n", count - before, argv[i]);
    }
    if (count == 0) {
        fprintf(stderr, "replay: no input found: nothing was tested\n");
        return 1;
    }
    printf("replay: %zu inputs, every one passed\n", count);
    return 0;
}
