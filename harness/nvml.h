/* nvml.h - GPU energy, power, clocks, temperature and throttling through NVML, loaded at run
 * time (dlopen of libnvidia-ml.so.1), so kbench builds without nvml.h and runs where the
 * driver's NVML is missing: then the reason is recorded and timing goes on.
 *
 * Used inside a case's process, in an energy pass separate from timing: a mark before and
 * after a stretch of back-to-back calls gives the energy of one call from the driver's energy
 * counter (millijoules since the driver loaded), and the mean power over the stretch.
 */
#ifndef KB_NVML_H
#define KB_NVML_H

#include <stddef.h>

#include "harness/counters.h"

struct nvml_probe;

/* Loads NVML and finds the GPU with this PCI bus id ("0000:1A:00.0", as CUDA names it).
 * Returns NULL with the reason in why (no library, init failed, unknown device, ...). */
struct nvml_probe *nvml_probe_open(const char *pci_bus_id, char *why, size_t whylen);
void nvml_probe_close(struct nvml_probe *p);

struct nvml_mark {
    double t;                     /* monotonic seconds */
    unsigned long long energy_mj; /* the driver's energy counter */
    unsigned long long throttle;  /* clock throttle reasons (NVML's bit mask) */
    int have_energy;              /* 0 when this GPU has no energy counter */
};
/* Reads the counters now; 0, or -1 when nothing could be read. */
int nvml_probe_mark(struct nvml_probe *p, struct nvml_mark *m);

/* Appends (backend "nvml") energy_per_call (J), mean_power (W), sm_clock (MHz), temperature
 * (C) and throttle_reasons (bit mask, both marks or'd) for `calls` calls between the marks. */
void nvml_probe_report(struct nvml_probe *p, const struct nvml_mark *start, const struct nvml_mark *end,
                       double calls, struct kb_counter_report *r);

/* The SM clock now, the maximum SM clock (0 when unknown) and the current clock-event
 * (throttle) reasons, NVML's bit mask: read after each sample to mark those taken under
 * throttling. 0, or -1 when the clock cannot be read. */
int nvml_probe_clock(struct nvml_probe *p, double *sm_mhz, double *max_mhz, unsigned long long *reasons);

/* NVML's throttle reason bits as comma-separated names ("sw_power_cap,hw_thermal_slowdown"),
 * unknown bits as one hex mask; "" for 0. Needs no NVML. */
void nvml_throttle_reason_names(unsigned long long mask, char *out, size_t len);

/* The NVIDIA driver's version ("580.159.04"); 0, or -1 with the reason in why. */
int nvml_driver_version(char *out, size_t len, char *why, size_t whylen);

#endif
