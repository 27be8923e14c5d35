#!/usr/bin/env python3
"""sass.py - what a CUDA object's kernels execute, instruction by instruction, without a GPU.

    python3 tests/sass/sass.py kernels/moe/moe_fp8_wgmma.o [NAME ...]
    python3 tests/sass/sass.py --range 0x2f90 0x8260 kernels/moe/moe_fp8_wgmma.o NAME
    python3 tests/sass/sass.py --self-test

For each kernel of the object (those whose mangled name contains one of the NAMEs, else all) it
prints the instruction count, the most frequent opcodes, and every loop (a branch back to a lower
address: the loop is the code from its target to the branch) with its size and opcodes. A loop
is what a kernel runs per k-tile or per key tile, so its size is the issue cost a consumer pays
per iteration; --range prints the same for any address range (an epilogue, say). Static counts:
a branch inside a loop (a ragged tile's mask) is counted although most iterations skip it.

The SASS comes from `cuobjdump -sass` ($CUOBJDUMP, else on PATH or in the CUDA toolkit's bin).
Where the toolkit lacks it (some installations ship nvcc alone), NVIDIA publishes it as a wheel:
`python3 -m pip download --no-deps nvidia-cuda-cuobjdump -d /tmp/w && unzip -o /tmp/w/*.whl -d
/tmp/w/x`, then CUOBJDUMP=/tmp/w/x/nvidia/cu*/bin/cuobjdump (tests/sass/README.md).
"""
import collections
import glob
import os
import re
import shutil
import signal
import subprocess
import sys

INSTR = re.compile(r"/\*([0-9a-f]{4,6})\*/\s+(.*?)\s*;")
BRANCH = re.compile(r"\bBRA(?:\.[A-Z.]+)?\s+(?:`\(\.L_x_\d+\)|0x([0-9a-f]+))")
FUNCTION = re.compile(r"Function : (\S+)")


def opcode(text):
    """The opcode of an instruction's text, its predicate (@P0, @!UP1) dropped."""
    words = text.split()
    if words and words[0].startswith("@"):
        words = words[1:]
    return words[0] if words else ""


def parse(sass):
    """{function: [(address, text)]} from cuobjdump -sass output."""
    functions, current = collections.OrderedDict(), None
    for line in sass.splitlines():
        m = FUNCTION.search(line)
        if m:
            current = m.group(1)
            functions[current] = []
            continue
        m = INSTR.search(line)
        if m and current is not None:
            functions[current].append((int(m.group(1), 16), m.group(2)))
    return functions


def loops(code):
    """(start, end) address pairs, one per branch to an address at or below its own."""
    found = []
    for address, text in code:
        m = BRANCH.search(text)
        if m and m.group(1):
            target = int(m.group(1), 16)
            if target <= address:
                found.append((target, address))
    return found


def histogram(code, lo=None, hi=None, top=14):
    """(count, [(opcode, n)]) of the instructions in [lo, hi] (all where None)."""
    ops = collections.Counter(opcode(t) for a, t in code if (lo is None or a >= lo) and (hi is None or a <= hi))
    return sum(ops.values()), ops.most_common(top)


def show(title, count, ops, out):
    out.write("%s: %d instructions\n    %s\n" % (title, count, "  ".join("%d %s" % (n, o) for o, n in ops)))


def report(functions, names, ranges, out):
    chosen = [f for f in functions if not names or any(n in f for n in names)]
    if not chosen:
        out.write("no kernel matches %s (the object has %d)\n" % (" ".join(names), len(functions)))
        return 2
    for f in chosen:
        code = functions[f]
        out.write("== %s\n" % f)
        show("  whole kernel", *histogram(code), out=out)
        for lo, hi in loops(code):
            count, ops = histogram(code, lo, hi, top=10)
            if count >= 16:  # polling loops of a barrier wait are a few instructions
                show("  loop 0x%x-0x%x" % (lo, hi), count, ops, out)
        for lo, hi in ranges:
            show("  range 0x%x-0x%x" % (lo, hi), *histogram(code, lo, hi), out=out)
    return 0


def cuobjdump():
    for candidate in [os.environ.get("CUOBJDUMP"), shutil.which("cuobjdump"), "/usr/local/cuda/bin/cuobjdump"] + sorted(
            glob.glob("/usr/local/cuda*/bin/cuobjdump")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


SAMPLE = """
        Function : _Z6kernelPf
        /*0000*/                   LDC R1, c[0x0][0x28] ;                      /* 0x00000a00ff017b82 */
        /*0010*/                   MOV R2, RZ ;                                /* 0x000000ff00027202 */
        /*0020*/                   FFMA R3, R2, R2, R3 ;                       /* 0x0000000202037223 */
        /*0030*/                   FFMA R4, R2, R2, R4 ;                       /* 0x0000000202047223 */
        /*0040*/              @!P0 MUFU.EX2 R5, R4 ;                           /* 0x0000000400058308 */
        /*0050*/               @P0 BRA 0x20 ;                                  /* 0xfffffffc00f00947 */
        /*0060*/                   SYNCS.PHASECHK.TRANS64.TRYWAIT P1, [UR4], R0 ; /* 0x0000000400007589 */
        /*0070*/              @!P1 BRA 0x60 ;                                  /* 0xfffffffc00f00947 */
        /*0080*/                   BRA 0x90 ;                                  /* 0x0000000000007947 */
        /*0090*/                   EXIT ;                                      /* 0x000000000000794d */
        Function : _Z5otherv
        /*0000*/                   EXIT ;                                      /* 0x000000000000794d */
"""


def self_test():
    """Checks the parser on a fixed listing; exit status 1 and the first failure otherwise."""
    functions = parse(SAMPLE)
    checks = [
        (list(functions), ["_Z6kernelPf", "_Z5otherv"], "functions"),
        (len(functions["_Z6kernelPf"]), 10, "instructions of the first"),
        (loops(functions["_Z6kernelPf"]), [(0x20, 0x50), (0x60, 0x70)], "backward branches (not the forward one)"),
        (histogram(functions["_Z6kernelPf"], 0x20, 0x50)[0], 4, "the loop's size"),
        (dict(histogram(functions["_Z6kernelPf"], 0x20, 0x50)[1]).get("FFMA"), 2, "FFMA in the loop"),
        (opcode("@!P0 MUFU.EX2 R5, R4"), "MUFU.EX2", "a predicated opcode"),
    ]
    for got, want, what in checks:
        if got != want:
            print("not ok: %s: got %r, wanted %r" % (what, got, want))
            return 1
    print("ok: %d checks" % len(checks))
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    args, ranges = argv[1:], []
    while args[:1] == ["--range"] and len(args) >= 3:
        ranges.append((int(args[1], 0), int(args[2], 0)))
        args = args[3:]
    if not args or args[0].startswith("-"):
        sys.stderr.write(__doc__)
        return 2
    obj, names = args[0], args[1:]
    if not os.path.isfile(obj):
        sys.stderr.write("sass.py: %s: no such object file\n" % obj)
        return 2
    tool = cuobjdump()
    if not tool:
        sys.stderr.write("sass.py: no cuobjdump (set CUOBJDUMP; tests/sass/README.md says where to get it)\n")
        return 2
    run = subprocess.run([tool, "-sass", obj], capture_output=True, text=True)
    if run.returncode != 0:
        sys.stderr.write("sass.py: %s -sass %s: %s" % (tool, obj, run.stderr))
        return 2
    return report(parse(run.stdout), names, ranges, sys.stdout)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends the report quietly
    sys.exit(main(sys.argv))
