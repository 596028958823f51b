"""Functions no model can call, handed to the sandbox workers by the tests only: each does in the worker what no
guard can foresee (a C-level loop, a crash, an allocation), so the tests reach the operating-system limits."""
from __future__ import annotations

import ctypes
import os
import time


def worker_pid() -> int:
    """The process id of the worker running the call."""
    return os.getpid()


def burn_cpu() -> None:
    """CPU time in one C call: sum() over a range the sandbox would refuse to build."""
    sum(range(10**12))


def stall(seconds: float) -> None:
    """Wall-clock time without CPU."""
    time.sleep(seconds)


def crash() -> None:
    """A segmentation fault in the worker."""
    ctypes.string_at(0)


def hog_memory() -> int:
    """More memory than a worker may map."""
    return len(bytearray(2**31))


HOSTILE = {"worker_pid": worker_pid, "burn_cpu": burn_cpu, "stall": stall, "crash": crash, "hog_memory": hog_memory}
