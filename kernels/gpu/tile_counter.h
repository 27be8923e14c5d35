/* tile_counter.h - the work-tile counters of the causal persistent attention kernels
 * (flash_ws.cuh's DYNAMIC: each block claims its next work tile with an atomic on them, and the
 * last block to finish claiming puts them back to zero). Two ints on each device, allocated once
 * for the process and shared by every kernel that claims tiles: one launch at a time may use
 * them (a case's launches follow each other on its stream; cases in other processes have
 * counters of their own), and each launch leaves them zero. */
#ifndef KB_GPU_TILE_COUNTER_H
#define KB_GPU_TILE_COUNTER_H

#ifdef __cplusplus
extern "C" {
#endif

/* Allocates the current device's counters if need be and zeroes them: a case's prepare calls it,
 * so a case starts from zero even after a launch that was cut short. A cudaError_t. */
int kb_tile_counter_reset(void);
/* The current device's counters (device memory), or NULL before kb_tile_counter_reset. */
int *kb_tile_counter(void);

#ifdef __cplusplus
}
#endif

#endif
