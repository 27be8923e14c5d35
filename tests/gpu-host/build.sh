#!/bin/bash
# build.sh - configure and build kbench on the GPU host against the host's Python. With
# .gpubuild/cuobj.tar.gz (the .cu objects compiled elsewhere for sm_90, e.g. by a CI-like machine
# with nvcc: `tar czf .gpubuild/cuobj.tar.gz` of the .o of every tracked .cu; compressed, as the
# carry to the GPU host is limited to 64 MiB in all), nvcc is skipped.
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
PYINC=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
PYLIB=$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')
PYV=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ ! -f Makefile ]; then
    (autoreconf -fi && ./configure -q CUDA_ARCHS=90 PYTHON_CFLAGS="-I$PYINC" \
        PYTHON_LIBS="-L$PYLIB -Wl,-rpath,$PYLIB -lpython$PYV") >/tmp/conf.log 2>&1 || { tail -20 /tmp/conf.log; exit 1; }
    for t in .gpubuild/cuobj.tar.gz .gpubuild/cuobj.tar; do
        if [ -f "$t" ]; then tar xf "$t" && tar tf "$t" | xargs touch; break; fi
    done
fi
make -j16 -s kbench ${BUILD_EXTRA:-} >/tmp/build.log 2>&1 || { grep -E 'error|Error' /tmp/build.log | head -20; exit 1; }
echo "built $(date -u +%T)"
