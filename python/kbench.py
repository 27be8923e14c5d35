"""kbench: implementations of kbench operations written in Python (docs/peers.md).

A file passed to `kbench run --plugin FILE.py` (or a module named there) registers
implementations with the decorator below. kbench imports the file twice: once in a probe
process to learn what it registers, and once in each case's own process, where the decorated
function is called untimed to prepare the case and returns the callable kbench times.

    import kbench

    @kbench.implementation("attention.softmax", name="attention.sdpa", impl="cpu.numpy",
                           device="cpu", dtypes=["f32"])
    def sdpa(case):
        import numpy as np
        q, k, v = case.inputs["q"], case.inputs["k"], case.inputs["v"]
        o = case.outputs["o"]
        def run():
            ...                      # compute, writing the result into o
        return run

The case (class Case) carries the operation's tensors without a copy: NumPy arrays over
kbench's own buffers on the CPU (inputs read-only), objects with __cuda_array_interface__ over
kbench's device buffers on CUDA (torch.as_tensor(x, device="cuda") wraps them), the CUDA stream
kbench times (case.stream, for torch.cuda.ExternalStream), the shape as a dict of the
operation's axes, the dtype name, the thread count and the seed. Raise kbench.Unsupported
(or let an ImportError escape) for a case the implementation cannot run: kbench records the
case as skipped with the message.
"""

_registry = []
_loaded_files = set()  # plugin files already run in this process


class Unsupported(Exception):
    """Raised by an implementation for a case it cannot run here (recorded as skipped)."""


class Case:
    """One planned case, as an implementation sees it."""

    def __init__(self, operation, name, impl, device, dtype, shape, threads, seed, stream,
                 inputs, outputs, dtypes):
        self.operation = operation
        self.name = name
        self.impl = impl
        self.device = device
        self.dtype = dtype
        self.shape = shape
        self.threads = threads
        self.seed = seed
        self.stream = stream
        self.inputs = inputs
        self.outputs = outputs
        self.dtypes = dtypes  # each tensor's kbench dtype name ("bf16" is stored as uint16)

    def __repr__(self):
        return "<kbench.Case %s@%s %s %s %r>" % (self.name, self.impl, self.device, self.dtype, self.shape)


class DeviceArray:
    """A kbench device buffer, for any library that reads __cuda_array_interface__ (v3)."""

    def __init__(self, ptr, shape, typestr, readonly, stream):
        self.readonly = readonly
        self.__cuda_array_interface__ = {
            "shape": tuple(shape),
            "typestr": typestr,
            # PyTorch refuses a read-only flag here; an input is still never to be written
            "data": (ptr, False),
            "version": 3,
            "strides": None,
            "stream": stream if stream else None,
        }
        self.shape = tuple(shape)
        self.typestr = typestr

    def __repr__(self):
        return "<kbench.DeviceArray %s %s>" % (self.typestr, self.shape)


def as_torch(case, name):
    """Tensor `name` of the case as a torch.Tensor over kbench's buffer (no copy), with the
    dtype kbench means: bf16 and fp8 buffers, which NumPy and the CUDA array interface cannot
    name, are viewed as torch.bfloat16 / torch.float8_e4m3fn / torch.float8_e5m2."""
    import torch
    array = case.inputs[name] if name in case.inputs else case.outputs[name]
    t = torch.as_tensor(array, device="cuda" if case.device == "cuda" else "cpu")
    view = {"bf16": torch.bfloat16, "e4m3": torch.float8_e4m3fn, "e5m2": torch.float8_e5m2}.get(case.dtypes[name])
    return t.view(view) if view is not None else t


def implementation(operation, name=None, impl=None, device="cpu", dtypes=("f32",), description=""):
    """Registers the decorated function as an implementation of `operation`.

    name@impl is what users select and databases store (name defaults to the operation's);
    device is "cpu" or "cuda"; dtypes lists the dtype names it takes. The function receives a
    Case, prepares (untimed) and returns a callable with no arguments: one computation. It may
    instead return a pair (run, collect): collect, called once after the first run and outside
    the timed region, puts the result into the case's outputs (a layout or dtype conversion that
    kbench's own kernels also make outside their timed call)."""
    if device not in ("cpu", "cuda"):
        raise ValueError("device must be 'cpu' or 'cuda', not %r" % (device,))
    if isinstance(dtypes, str):
        dtypes = (dtypes,)

    def register(setup):
        _registry.append({
            "operation": operation,
            "name": name or operation,
            "impl": impl or setup.__name__,
            "device": device,
            "dtypes": tuple(dtypes),
            "description": description or (setup.__doc__ or "").strip().split("\n")[0],
            "setup": setup,
        })
        return setup

    return register


# ---- used by kbench itself (the embedding), not by implementations --------------------------

_TYPESTR = {"f64": "<f8", "f32": "<f4", "f16": "<f2", "bf16": "<u2", "i8": "|i1", "i32": "<i4",
            "i4": "|u1", "e4m3": "|u1", "e5m2": "|u1", "mxfp4": "|u1", "nvfp4": "|u1", "e8m0": "|u1"}


def _load(spec):
    """Imports a plugin file (path ending in .py) or module; returns the file it came from."""
    import importlib
    import importlib.util
    import os
    import sys
    if spec.endswith(".py"):
        path = os.path.realpath(spec)
        # A warm case process (harness/runner.c) runs many cases: the file runs once there, so
        # its imports (torch: seconds) are paid once and its registrations are not repeated.
        if path in _loaded_files:
            return path
        modname = "kbench_plugin_" + os.path.splitext(os.path.basename(path))[0]
        loader_spec = importlib.util.spec_from_file_location(modname, path)
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[modname] = module
        sys.path.insert(0, os.path.dirname(path))
        loader_spec.loader.exec_module(module)
        _loaded_files.add(path)
        return path
    module = importlib.import_module(spec)
    return os.path.realpath(getattr(module, "__file__", "") or spec)


def _release_device_memory():
    """After a CUDA case: gives the device memory that PyTorch's and CuPy's caching allocators
    keep back to the driver, so the next case in the same process (a C kernel, or a naive one
    that sizes itself to free memory) finds the GPU as a fresh process would."""
    import sys
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        cupy.get_default_memory_pool().free_all_blocks()


def _describe(exc):
    """One line for a case's error: type, message and where it was raised."""
    import os
    import traceback
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return "cannot be tested here: %s is not installed" % exc.name
    frames = traceback.extract_tb(exc.__traceback__)
    where = " (%s:%d)" % (os.path.basename(frames[-1].filename), frames[-1].lineno) if frames else ""
    if isinstance(exc, Unsupported):
        return "%s%s" % (exc, where)
    return "%s: %s%s" % (type(exc).__name__, exc, where)


def _unsupported(exc):
    return isinstance(exc, (Unsupported, ImportError))


def _host_array(memory, dtype, shape):
    """A NumPy array over kbench's buffer (read-only when the memoryview is)."""
    import numpy
    count = 1
    for d in shape:
        count *= d
    if dtype == "i4":
        count = (count + 1) // 2
        shape = (count,)
    return numpy.frombuffer(memory, dtype=_TYPESTR[dtype], count=count).reshape(shape)


def _device_array(ptr, dtype, shape, readonly, stream):
    if dtype == "i4":
        count = 1
        for d in shape:
            count *= d
        shape = ((count + 1) // 2,)
    return DeviceArray(ptr, shape, _TYPESTR[dtype], readonly, stream)
