/* replay.c - runs the fuzz target over stored inputs without libFuzzer, so `make check` (and its
 * sanitizer and valgrind builds) catch a regression on any input the fuzzer once found. Each
 * argument is a directory (every regular file in it) or a file; output is TAP. Passing means
 * nothing crashed: the target returns no verdict, the sanitizers and the exit status do. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int read_all(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return -1;
    }
    *data = buf;
    *size = n;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects the files named by one argument (sorted, so test numbers are stable). */
static int collect(const char *arg, char ***list, size_t *n, size_t *cap)
{
    struct stat st;
    if (stat(arg, &st) != 0) {
        fprintf(stderr, "replay: cannot stat '%s'\n", arg);
        return -1;
    }
    size_t first = *n;
    DIR *dir = S_ISDIR(st.st_mode) ? opendir(arg) : NULL;
    if (S_ISDIR(st.st_mode) && !dir) {
        fprintf(stderr, "replay: cannot open directory '%s'\n", arg);
        return -1;
    }
    for (;;) {
        char *path;
        if (dir) {
            struct dirent *e = readdir(dir);
            if (!e)
                break;
            if (e->d_name[0] == '.')
                continue;
            size_t len = strlen(arg) + strlen(e->d_name) + 2;
            path = malloc(len);
            if (path)
                snprintf(path, len, "%s/%s", arg, e->d_name);
            struct stat fst;
            if (path && (stat(path, &fst) != 0 || !S_ISREG(fst.st_mode))) {
                free(path);
                continue;
            }
        } else {
            path = strdup(arg);
        }
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            char **nl = realloc(*list, nc * sizeof *nl);
            if (!nl) {
                free(path);
                path = NULL;
            } else {
                *list = nl;
                *cap = nc;
            }
        }
        if (!path) {
            fprintf(stderr, "replay: out of memory\n");
            if (dir)
                closedir(dir);
            return -1;
        }
        (*list)[(*n)++] = path;
        if (!dir)
            break;
    }
    if (dir)
        closedir(dir);
    qsort(*list + first, *n - first, sizeof **list, by_name);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    char **files = NULL;
    size_t n = 0, cap = 0;
    int status = 0;
    for (int i = 1; i < argc; i++)
        if (collect(argv[i], &files, &n, &cap) != 0)
            status = 1;
    if (status == 0 && n == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        status = 1;
    }
    if (status != 0) {
        printf("Bail out! cannot read the corpus\n");
        for (size_t i = 0; i < n; i++)
            free(files[i]);
        free(files);
        return 1;
    }
    printf("1..%zu\n", n);
    fflush(stdout);
    for (size_t i = 0; i < n; i++) {
        uint8_t *data;
        size_t size;
        if (read_all(files[i], &data, &size) != 0) {
            printf("not ok %zu - %s (unreadable)\n", i + 1, files[i]);
            status = 1;
        } else {
            /* A crash ends the process here; the comment names the input it died on. */
            printf("# %s\n", files[i]);
            fflush(stdout);
            LLVMFuzzerTestOneInput(data, size);
            free(data);
            printf("ok %zu - %s\n", i + 1, files[i]);
        }
        fflush(stdout);
        free(files[i]);
    }
    free(files);
    return status;
}
