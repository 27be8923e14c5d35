/* nvml.c - NVML through dlopen (nvml.h). The few types and entry points used are declared here
 * from NVML's documented API: every handle is an opaque pointer, every call returns an int
 * status (0 = NVML_SUCCESS) whose text nvmlErrorString gives. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "harness/nvml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef HAVE_NVML
#include <dlfcn.h>
#endif

typedef int nvml_return;      /* nvmlReturn_t */
typedef void *nvml_device;    /* nvmlDevice_t */
enum { NVML_OK = 0 };
enum { NVML_CLOCK_SM = 1 };   /* nvmlClockType_t */
enum { NVML_TEMPERATURE_GPU = 0 };

struct nvml_api {
    void *lib;
    nvml_return (*init)(void);
    nvml_return (*shutdown)(void);
    const char *(*error_string)(nvml_return);
    nvml_return (*by_pci)(const char *, nvml_device *);
    nvml_return (*energy)(nvml_device, unsigned long long *);
    nvml_return (*clock)(nvml_device, int, unsigned *);
    nvml_return (*max_clock)(nvml_device, int, unsigned *);
    nvml_return (*temperature)(nvml_device, int, unsigned *);
    nvml_return (*throttle)(nvml_device, unsigned long long *);
    nvml_return (*driver_version)(char *, unsigned);
};

struct nvml_probe {
    struct nvml_api api;
    nvml_device dev;
    unsigned max_sm_mhz; /* read once: 0 until then, or when NVML does not know it */
    int max_read;
};

/* nvmlClocksEventReasons (formerly ClocksThrottleReasons) bits, in bit order. */
static const char *const throttle_names[] = {
    "gpu_idle", "applications_clocks_setting", "sw_power_cap", "hw_slowdown", "sync_boost",
    "sw_thermal_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown", "display_clock_setting",
};

void nvml_throttle_reason_names(unsigned long long mask, char *out, size_t len)
{
    if (!len)
        return;
    out[0] = '\0';
    size_t used = 0;
    const size_t known = sizeof throttle_names / sizeof throttle_names[0];
    for (size_t b = 0; b < known && used < len; b++)
        if (mask & (1ull << b))
            used += (size_t)snprintf(out + used, len - used, "%s%s", used ? "," : "", throttle_names[b]);
    unsigned long long rest = mask & ~((1ull << known) - 1);
    if (rest && used < len)
        snprintf(out + used, len - used, "%s0x%llx", used ? "," : "", rest);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#ifdef HAVE_NVML
/* Loads the library and resolves every entry point; 0, or -1 with why. */
static int api_load(struct nvml_api *a, char *why, size_t whylen)
{
    memset(a, 0, sizeof *a);
    a->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!a->lib) {
        snprintf(why, whylen, "NVML not loaded: %s", dlerror());
        return -1;
    }
    static const struct {
        const char *name;
        size_t offset;
    } syms[] = {
        { "nvmlInit_v2", offsetof(struct nvml_api, init) },
        { "nvmlShutdown", offsetof(struct nvml_api, shutdown) },
        { "nvmlErrorString", offsetof(struct nvml_api, error_string) },
        { "nvmlDeviceGetHandleByPciBusId_v2", offsetof(struct nvml_api, by_pci) },
        { "nvmlDeviceGetTotalEnergyConsumption", offsetof(struct nvml_api, energy) },
        { "nvmlDeviceGetClockInfo", offsetof(struct nvml_api, clock) },
        { "nvmlDeviceGetMaxClockInfo", offsetof(struct nvml_api, max_clock) },
        { "nvmlDeviceGetTemperature", offsetof(struct nvml_api, temperature) },
        { "nvmlDeviceGetCurrentClocksThrottleReasons", offsetof(struct nvml_api, throttle) },
        { "nvmlSystemGetDriverVersion", offsetof(struct nvml_api, driver_version) },
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        void *f = dlsym(a->lib, syms[i].name);
        if (!f) {
            snprintf(why, whylen, "NVML lacks %s (driver too old?)", syms[i].name);
            dlclose(a->lib);
            a->lib = NULL;
            return -1;
        }
        memcpy((char *)a + syms[i].offset, &f, sizeof f); /* object <- function pointer */
    }
    nvml_return rc = a->init();
    if (rc != NVML_OK) {
        snprintf(why, whylen, "nvmlInit: %s", a->error_string(rc));
        dlclose(a->lib);
        a->lib = NULL;
        return -1;
    }
    return 0;
}

static void api_unload(struct nvml_api *a)
{
    if (a->lib) {
        a->shutdown();
        dlclose(a->lib);
        a->lib = NULL;
    }
}

struct nvml_probe *nvml_probe_open(const char *pci_bus_id, char *why, size_t whylen)
{
    struct nvml_probe *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    if (api_load(&p->api, why, whylen) != 0) {
        free(p);
        return NULL;
    }
    nvml_return rc = p->api.by_pci(pci_bus_id, &p->dev);
    if (rc != NVML_OK) {
        snprintf(why, whylen, "NVML cannot find the GPU at PCI %s: %s", pci_bus_id, p->api.error_string(rc));
        nvml_probe_close(p);
        return NULL;
    }
    return p;
}

void nvml_probe_close(struct nvml_probe *p)
{
    if (!p)
        return;
    api_unload(&p->api);
    free(p);
}

int nvml_probe_mark(struct nvml_probe *p, struct nvml_mark *m)
{
    memset(m, 0, sizeof *m);
    m->t = now_s();
    m->have_energy = p->api.energy(p->dev, &m->energy_mj) == NVML_OK;
    int have_throttle = p->api.throttle(p->dev, &m->throttle) == NVML_OK;
    return m->have_energy || have_throttle ? 0 : -1;
}

int nvml_probe_clock(struct nvml_probe *p, double *sm_mhz, double *max_mhz, unsigned long long *reasons)
{
    unsigned v = 0;
    if (!p || p->api.clock(p->dev, NVML_CLOCK_SM, &v) != NVML_OK || v == 0)
        return -1;
    if (!p->max_read) {
        unsigned m = 0;
        p->max_sm_mhz = p->api.max_clock(p->dev, NVML_CLOCK_SM, &m) == NVML_OK ? m : 0;
        p->max_read = 1;
    }
    *sm_mhz = v;
    *max_mhz = p->max_sm_mhz;
    *reasons = 0;
    p->api.throttle(p->dev, reasons);
    return 0;
}

void nvml_probe_report(struct nvml_probe *p, const struct nvml_mark *start, const struct nvml_mark *end,
                       double calls, struct kb_counter_report *r)
{
    double dt = end->t - start->t;
    if (start->have_energy && end->have_energy && calls > 0 && dt > 0) {
        double joules = (double)(end->energy_mj - start->energy_mj) * 1e-3;
        counter_report_add(r, "nvml", "energy_per_call", joules / calls, "J");
        counter_report_add(r, "nvml", "mean_power", joules / dt, "W");
    }
    unsigned v;
    if (p->api.clock(p->dev, NVML_CLOCK_SM, &v) == NVML_OK)
        counter_report_add(r, "nvml", "sm_clock", v, "MHz");
    if (p->api.temperature(p->dev, NVML_TEMPERATURE_GPU, &v) == NVML_OK)
        counter_report_add(r, "nvml", "temperature", v, "C");
    counter_report_add(r, "nvml", "throttle_reasons", (double)(start->throttle | end->throttle), "bitmask");
    counter_report_add(r, "nvml", "energy_window", dt, "s");
}

int nvml_driver_version(char *out, size_t len, char *why, size_t whylen)
{
    struct nvml_api a;
    if (api_load(&a, why, whylen) != 0)
        return -1;
    char buf[96] = "";
    nvml_return rc = a.driver_version(buf, sizeof buf);
    if (rc != NVML_OK)
        snprintf(why, whylen, "nvmlSystemGetDriverVersion: %s", a.error_string(rc));
    else
        snprintf(out, len, "%s", buf);
    api_unload(&a);
    return rc == NVML_OK ? 0 : -1;
}

#else /* !HAVE_NVML */

static const char no_nvml[] = "kbench was built without NVML (configure --with-cuda, without --without-nvml)";

struct nvml_probe *nvml_probe_open(const char *pci_bus_id, char *why, size_t whylen)
{
    (void)pci_bus_id;
    snprintf(why, whylen, "%s", no_nvml);
    return NULL;
}

void nvml_probe_close(struct nvml_probe *p) { (void)p; }

int nvml_probe_mark(struct nvml_probe *p, struct nvml_mark *m)
{
    (void)p;
    memset(m, 0, sizeof *m);
    m->t = now_s();
    return -1;
}

void nvml_probe_report(struct nvml_probe *p, const struct nvml_mark *start, const struct nvml_mark *end,
                       double calls, struct kb_counter_report *r)
{
    (void)p;
    (void)start;
    (void)end;
    (void)calls;
    (void)r;
}

int nvml_probe_clock(struct nvml_probe *p, double *sm_mhz, double *max_mhz, unsigned long long *reasons)
{
    (void)p;
    (void)sm_mhz;
    (void)max_mhz;
    (void)reasons;
    return -1;
}

int nvml_driver_version(char *out, size_t len, char *why, size_t whylen)
{
    if (len)
        out[0] = '\0';
    snprintf(why, whylen, "%s", no_nvml);
    return -1;
}
#endif
