"""Functions no model can call, handed to the sandbox workers by the tests only: each does in the worker what no
guard can foresee (a C-level loop, a crash, an allocation), so the tests reach the operating-system limits."""
from __future__ import annotations

import ctypes
import json
import os
import sys
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


def forge_answer(payload: bytes) -> None:
    """What code that escaped the sandbox could do: write its own answer to the server (the worker's answer pipe
    is its first free descriptor, 3)."""
    os.write(3, len(payload).to_bytes(4, "big") + payload)


def forge_task_data() -> None:
    """Escaped code answering its own request (whose id it finds in the worker's frames) with data no script can
    make, then letting the worker's real answer follow for the next request to read."""
    frame = sys._getframe()
    while frame.f_code.co_name != "main":
        frame = frame.f_back
    call_id = frame.f_locals["request"][0]
    forge_answer(json.dumps({"id": call_id, "context": {"d": [["x", {"s": [1]}]]}}).encode())


HOSTILE = {"worker_pid": worker_pid, "burn_cpu": burn_cpu, "stall": stall, "crash": crash, "hog_memory": hog_memory,
           "forge_answer": forge_answer, "forge_task_data": forge_task_data}
