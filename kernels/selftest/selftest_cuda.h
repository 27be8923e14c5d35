/* selftest_cuda.h - the device side of the CUDA fault injectors (selftest_dev.cu), for their
 * descriptors in selftest_cuda.c. */
#ifndef KB_SELFTEST_CUDA_H
#define KB_SELFTEST_CUDA_H

#ifdef __cplusplus
extern "C" {
#endif

/* Each launches its kernel on stream (a cudaStream_t) and waits for it: 0 when it ended (it
 * should not), else a cudaError_t, whose words selftest_cuda.c asks the runtime for. */
int selftest_cuda_write_to_bad_address(void *stream);
int selftest_cuda_spin_forever(void *stream, volatile int *flag);

#ifdef __cplusplus
}
#endif

#endif
