#!/bin/bash
# build.sh - configure and build kbench on the GPU host against the host's Python. With
# .gpubuild/cuobj.tar (the .cu objects compiled elsewhere for sm_90, e.g. by a CI-like machine
# with nvcc: `tar cf .gpubuild/cuobj.tar kernels/**/*.o` of the .cu files), nvcc is skipped.
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
PYINC=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
PYLIB=$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')
PYV=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ ! -f Makefile ]; then
    (autoreconf -fi && ./configure -q CUDA_ARCHS=90 PYTHON_CFLAGS="-I$PYINC" \
        PYTHON_LIBS="-L$PYLIB -Wl,-rpath,$PYLIB -lpython$PYV") >/tmp/conf.log 2>&1 || { tail -20 /tmp/conf.log; exit 1; }
    if [ -f .gpubuild/cuobj.tar ]; then
        tar xf .gpubuild/cuobj.tar && tar tf .gpubuild/cuobj.tar | xargs touch
    fi
fi
make -j16 -s kbench ${BUILD_EXTRA:-} >/tmp/build.log 2>&1 || { grep -E 'error|Error' /tmp/build.log | head -20; exit 1; }
echo "built $(date -u +%T)"
