/* Runs the fuzz entry point over files and directories of inputs (the
 * committed seed corpus under meson test), so builds without clang's
 * libFuzzer still exercise it. With --check-names, an input whose name
 * starts with "bad_" must be rejected and every other one must decode.
 * Exits non-zero if an input cannot be read, fails that check, or none was
 * found; a bug in the codec aborts in the entry point. */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The target's entry point: 1 when the input was accepted, 0 when rejected. */
int fuzz_one(const uint8_t *data, size_t size);


static int run_file(const char *path, bool check_names)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return -1;
    }
    int decoded = fuzz_one(buf, len);
    free(buf);
    if (check_names) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        int want = strncmp(base, "bad_", 4) != 0;
        if (decoded != want) {
            fprintf(stderr, "%s: %s\n", path, want ? "did not decode" : "decoded but should not");
            return -1;
        }
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file in dir, in name order; returns how many, or -1. */
static int run_dir(const char *dir, bool check_names)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn)
                break;
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(path, check_names) != 0)
                count = -1;
            else if (count >= 0)
                count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv)
{
    int total = 0;
    bool check_names = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check-names") == 0) {
            check_names = true;
            continue;
        }
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        int n = S_ISDIR(st.st_mode) ? run_dir(argv[i], check_names)
                                     : (run_file(argv[i], check_names) == 0 ? 1 : -1);
        if (n < 0)
            return 1;
        total += n;
    }
    printf("replayed %d inputs\n", total);
    return total > 0 ? 0 : 1;
}
