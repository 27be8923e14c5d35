/* cupti_metrics_none.c - GPU metrics in a build without CUPTI: none, and says why. */
#include "harness/cupti_metrics.h"

#include <stdio.h>

static const char no_cupti[] = "kbench was built without CUPTI (configure --with-cupti)";

const char cupti_default_metrics[] = "";

int cupti_metrics_collect(struct gpu_timer *t, int (*run)(struct kb_case *), struct kb_case *c,
                          const char *metrics_csv, struct kb_counter_report *r, char *status, size_t len)
{
    (void)t;
    (void)run;
    (void)c;
    (void)metrics_csv;
    (void)r;
    snprintf(status, len, "unavailable: %s", no_cupti);
    return -1;
}

int cupti_metrics_validate(const char *metrics_csv, int device, char *err, size_t errlen)
{
    (void)device;
    if (!metrics_csv || !*metrics_csv)
        return 0;
    snprintf(err, errlen, "--metrics: %s", no_cupti);
    return -1;
}
