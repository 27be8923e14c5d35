/* plugin.c - dlopen-ed kernels (see plugin.h and docs/plugins.md). */
#include "harness/plugin.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/python_plugin.h"
#include "harness/sha256.h"
#include "kernels/plugin.h"

#define PLUGIN_MAX 64
#define PLUGIN_KERNELS_MAX 256

static struct plugin_info loaded[PLUGIN_MAX];
static size_t n_loaded;

size_t plugin_count(void) { return n_loaded; }
const struct plugin_info *plugin_get(size_t i) { return i < n_loaded ? &loaded[i] : NULL; }

/* What a plugin's register function hands over: checked as a whole before any kernel joins the
 * registry, so a plugin that fails half-way adds nothing. */
struct kbench_registrar {
    const char *path;
    const struct kb_kernel *kernels[PLUGIN_KERNELS_MAX];
    int n;
    char error[1024]; /* the first refusal */
};

static int refuse(struct kbench_registrar *r, const struct kb_kernel *k, const char *why)
{
    if (!*r->error)
        snprintf(r->error, sizeof r->error, "kernel %s@%s: %s", k && k->name ? k->name : "(no name)",
                 k && k->impl ? k->impl : "(no impl)", why);
    return -1;
}

/* An operation is one definition: a kernel implements kbench's own by pointing at it
 * (&kb_op_attention_softmax), and an operation a plugin defines needs a name of its own, or two
 * definitions (two references, two counts) would be stored and compared as one. */
static int refuse_operation_clash(struct kbench_registrar *r, const struct kb_kernel *k)
{
    const struct kb_operation *op = k->op, *same = kb_registry_operation(op->name);
    const char *from = NULL;
    if (same && same != op) {
        /* its definer: the file of the first kernel implementing it (built-in kernels come
         * first, so a built-in operation is kbench's even when plugins implement it too) */
        size_t n;
        const struct kb_kernel *const *all = kb_registry_all(&n);
        for (size_t i = 0; i < n; i++)
            if (all[i]->op == same) {
                from = kb_registry_origin(all[i]);
                break;
            }
        if (!from)
            from = "kbench itself (built in)";
    }
    for (int i = 0; i < r->n && !from; i++)
        if (r->kernels[i]->op != op && strcmp(r->kernels[i]->op ? r->kernels[i]->op->name : "", op->name) == 0)
            from = "another struct kb_operation of this plugin";
    if (!from)
        return 0;
    char why[PATH_MAX + 256];
    snprintf(why, sizeof why, "operation %s is already defined by %s: implement that one (.op = its kb_op_ "
             "symbol, or kbench_operation(\"%s\")), or give a new operation a name of its own",
             op->name, from, op->name);
    return refuse(r, k, why);
}

const struct kb_operation *kbench_operation(const char *name)
{
    return name ? kb_registry_operation(name) : NULL;
}

int kbench_register(struct kbench_registrar *r, const struct kb_kernel *k)
{
    if (!r)
        return -1;
    if (!k || !k->name || !*k->name || !k->impl || !*k->impl)
        return refuse(r, k, "a kernel needs a name and an impl");
    if (!k->op)
        return refuse(r, k, "it implements no operation (.op: one of kbench's, kbench_operation(\"NAME\"), or the "
                      "plugin's own struct kb_operation)");
    {
        const struct kb_operation *op = k->op;
        if (!op->name || !*op->name || !op->inputs || !op->verify || !op->flops || !op->bytes)
            return refuse(r, k, "its operation needs a name, inputs, verify, flops and bytes");
        if ((unsigned)op->family > KB_FAMILY_SELFTEST)
            return refuse(r, k, "its operation's family is none of enum kb_family");
        if (op->dtypes == 0 || op->axes == 0)
            return refuse(r, k, "its operation's dtypes or axes are empty");
        if (!k->setup || !k->run || !k->teardown)
            return refuse(r, k, "setup, run and teardown are required");
        if (k->dtypes & ~op->dtypes)
            return refuse(r, k, "dtypes has a dtype its operation does not define (the operation's .dtypes)");
        if (k->axes & ~(op->axes | KB_AXES_EXECUTION))
            return refuse(r, k, "axes has an axis its operation is not defined over (0 takes the operation's)");
        if (refuse_operation_clash(r, k) != 0)
            return -1;
    }
    if (k->dtypes == 0)
        return refuse(r, k, "dtypes is empty (KB_DTYPE_BIT of each dtype it takes)");
    if (k->device != KB_DEVICE_CPU && k->device != KB_DEVICE_CUDA)
        return refuse(r, k, "device is neither KB_DEVICE_CPU nor KB_DEVICE_CUDA");
    const struct kb_kernel *had = kb_registry_find(k->name, k->impl);
    if (had) {
        char why[PATH_MAX + 64];
        const char *from = kb_registry_origin(had);
        snprintf(why, sizeof why, "already defined by %s", from ? from : "kbench itself (built in)");
        return refuse(r, k, why);
    }
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->kernels[i]->name, k->name) == 0 && strcmp(r->kernels[i]->impl, k->impl) == 0)
            return refuse(r, k, "registered twice by this plugin");
    if (r->n == PLUGIN_KERNELS_MAX)
        return refuse(r, k, "too many kernels in one plugin (256 at most)");
    r->kernels[r->n++] = k;
    return 0;
}

/* Opens the object and runs its entry points into r; 0, or -1 with the reason in err. The
 * handle is kept (kernels point into it). */
static int open_and_register(const char *path, struct kbench_registrar *r, char *err, size_t errlen)
{
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(err, errlen, "cannot load plugin %s: %s", path, e ? e : "dlopen failed");
        return -1;
    }
    int (*abi)(void);
    int (*reg)(struct kbench_registrar *);
    const char *names[2] = { "kbench_plugin_abi", "kbench_plugin_register" };
    void *sym[2];
    for (int i = 0; i < 2; i++) {
        dlerror();
        sym[i] = dlsym(h, names[i]);
        if (!sym[i]) {
            const char *e = dlerror();
            snprintf(err, errlen, "plugin %s has no %s (a plugin defines it with KBENCH_PLUGIN(...) of "
                     "<kbench/kbench.h>): %s", path, names[i], e ? e : "symbol not found");
            return -1;
        }
    }
    /* a function pointer from a data pointer: how dlsym is used (POSIX guarantees it works) */
    memcpy(&abi, &sym[0], sizeof abi);
    memcpy(&reg, &sym[1], sizeof reg);
    int version = abi();
    if (version != KBENCH_ABI_VERSION) {
        snprintf(err, errlen, "plugin %s was built for kbench ABI version %d, this kbench has ABI version %d: "
                 "rebuild it against this kbench's <kbench/kbench.h>", path, version, KBENCH_ABI_VERSION);
        return -1;
    }
    r->path = path;
    if (reg(r) != 0 || *r->error) {
        snprintf(err, errlen, "plugin %s refused: %s", path,
                 *r->error ? r->error : "kbench_plugin_register returned an error");
        return -1;
    }
    if (r->n == 0) {
        snprintf(err, errlen, "plugin %s registered no kernel", path);
        return -1;
    }
    return 0;
}

int plugin_probe_child(int (*child)(int fd, void *ctx), void *ctx, char **text, int *status, char *err,
                       size_t errlen)
{
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        _exit(child(fds[1], ctx) == 0 ? 0 : 2);
    }
    close(fds[1]);
    size_t cap = 4096, got = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf && ((n = read(fds[0], buf + got, cap - 1 - got)) > 0 || (n < 0 && errno == EINTR))) {
        if (n > 0)
            got += (size_t)n;
        if (got == cap - 1) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    close(fds[0]);
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR) {
            free(buf);
            snprintf(err, errlen, "waitpid: %s", strerror(errno));
            return -1;
        }
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    buf[got] = '\0';
    *text = buf;
    return 0;
}

/* The probe child of a shared object: loads and registers, writing why it refused to fd. */
static int load_in_child(int fd, void *ctx)
{
    static struct kbench_registrar r;
    char msg[1024] = "";
    int rc = open_and_register(ctx, &r, msg, sizeof msg);
    if (rc != 0) {
        size_t len = strlen(msg);
        if (write(fd, msg, len) != (ssize_t)len)
            rc = -1;
    }
    return rc;
}

/* Loads the plugin in a child first: a crash there (constructor, entry points) is reported with
 * its signal instead of ending kbench. 0 when the child loaded it cleanly. */
static int probe(const char *path, char *err, size_t errlen)
{
    char *msg = NULL, why[256];
    int status;
    if (plugin_probe_child(load_in_child, (void *)path, &msg, &status, why, sizeof why) != 0) {
        snprintf(err, errlen, "cannot probe plugin %s: %s", path, why);
        return -1;
    }
    /* exit 0: loaded; 2: refused with a message; anything else is a crash, also when a sanitizer
     * runtime caught the signal and turned it into an exit status */
    if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 2)) {
        char how[64];
        if (WIFSIGNALED(status))
            snprintf(how, sizeof how, "signal %d, %s", WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            snprintf(how, sizeof how, "its loading process exited %d", WEXITSTATUS(status));
        snprintf(err, errlen, "plugin %s crashed while loading (%s): in a constructor or in "
                 "kbench_plugin_register; it was not loaded", path, how);
        free(msg);
        return -1;
    }
    if (WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "%s", *msg ? msg : "plugin refused without a message");
        free(msg);
        return -1;
    }
    free(msg);
    return 0;
}

int plugin_load(const char *path, char *err, size_t errlen)
{
    char real[PATH_MAX];
    struct stat sb;
    if (python_plugin_wanted(path)) {
        char peer[PATH_MAX];
        if (realpath(python_plugin_resolve(path, peer, sizeof peer), real))
            for (size_t i = 0; i < n_loaded; i++)
                if (strcmp(loaded[i].path, real) == 0)
                    return 0;
        if (n_loaded == PLUGIN_MAX) {
            snprintf(err, errlen, "too many plugins (%d at most)", PLUGIN_MAX);
            return -1;
        }
        memset(&loaded[n_loaded], 0, sizeof loaded[n_loaded]);
        if (python_plugin_load(path, &loaded[n_loaded], err, errlen) != 0)
            return -1;
        n_loaded++;
        return 0;
    }
    if (stat(path, &sb) != 0) {
        snprintf(err, errlen, "cannot read plugin %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "plugin %s is not a file (a plugin is a shared object, lib*.so)", path);
        return -1;
    }
    if (!realpath(path, real)) {
        snprintf(err, errlen, "cannot resolve plugin %s: %s", path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < n_loaded; i++)
        if (strcmp(loaded[i].path, real) == 0)
            return 0;
    if (n_loaded == PLUGIN_MAX) {
        snprintf(err, errlen, "too many plugins (%d at most)", PLUGIN_MAX);
        return -1;
    }
    struct plugin_info *p = &loaded[n_loaded];
    if (sha256_file(real, p->sha256) != 0) {
        snprintf(err, errlen, "cannot read plugin %s: %s", real, strerror(errno));
        return -1;
    }
    if (probe(real, err, errlen) != 0)
        return -1;
    static struct kbench_registrar r;
    memset(&r, 0, sizeof r);
    if (open_and_register(real, &r, err, errlen) != 0)
        return -1;
    snprintf(p->path, sizeof p->path, "%s", real);
    for (int i = 0; i < r.n; i++)
        if (kb_registry_add(r.kernels[i], p->path, err, errlen) != 0)
            return -1; /* checked by kbench_register already; only memory can fail here */
    p->kernels = r.n;
    n_loaded++;
    return 0;
}

/* shared objects, and Python files (python_plugin.h) */
static int is_plugin_file(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && (strcmp(name + n - 3, ".so") == 0 || strcmp(name + n - 3, ".py") == 0);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_folder(const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot read plugin folder %s of $KBENCH_PLUGIN_PATH: %s", dir, strerror(errno));
        return -1;
    }
    char *names[PLUGIN_MAX + 1];
    size_t n = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL && rc == 0) {
        if (!is_plugin_file(e->d_name))
            continue;
        if (n == PLUGIN_MAX) {
            snprintf(err, errlen, "too many plugins in %s (%d at most)", dir, PLUGIN_MAX);
            rc = -1;
        } else if (!(names[n++] = strdup(e->d_name))) {
            n--;
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
    }
    closedir(d);
    qsort(names, n, sizeof names[0], compare_names);
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (rc == 0) {
            if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path) {
                snprintf(err, errlen, "plugin path too long in %s", dir);
                rc = -1;
            } else {
                rc = plugin_load(path, err, errlen);
            }
        }
        free(names[i]);
    }
    return rc;
}

int plugin_load_path_env(char *err, size_t errlen)
{
    const char *env = getenv("KBENCH_PLUGIN_PATH");
    if (!env || !*env)
        return 0;
    char *copy = strdup(env);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir && rc == 0; dir = strtok_r(NULL, ":", &save))
        rc = load_folder(dir, err, errlen);
    free(copy);
    return rc;
}
