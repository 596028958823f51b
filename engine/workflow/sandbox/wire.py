"""What passes between the server and its sandbox workers: length-prefixed frames over pipes.

Requests (server → worker) are pickles: the server is trusted and pickle carries the functions models may call
by reference. Answers (worker → server) are JSON with tagged containers, never pickles: a worker runs model code,
and unpickling what it sends could run code in the server.
"""
from __future__ import annotations

import json
import os
import select
import struct
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.workflow.sandbox.budget import MAX_DEPTH, SandboxError

MAX_FRAME = 64 * 1024 * 1024
"""Largest answer the server reads from a worker (task data is bounded far below this)."""
_HEADER = struct.Struct(">I")


class WireClosed(Exception):
    """The other end closed the pipe (a worker that died, or a server that went away)."""


class WireTimeout(Exception):
    """No complete frame arrived before the deadline."""


def frame(payload: bytes) -> bytes:
    """`payload` with its length in front."""
    return _HEADER.pack(len(payload)) + payload


def write_frame(fd: int, payload: bytes) -> None:
    """Write `payload` as one frame to the file descriptor `fd`, all of it."""
    view = memoryview(frame(payload))
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise WireTimeout()
        chunk = os.read(fd, min(size - len(chunks), 1 << 20))
        if not chunk:
            raise WireClosed()
        chunks += chunk
    return bytes(chunks)


def read_frame(fd: int, deadline: float | None = None) -> bytes:
    """One frame from the file descriptor `fd`, waiting until `deadline` (time.monotonic()) at most."""
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))
    if size > MAX_FRAME:
        raise WireClosed()
    return _read_exactly(fd, size, deadline)


def encode(value, depth: int = 0):
    """`value` as JSON-ready data; containers are tagged so tuples, sets and dicts with non-text keys come back
    as they were. Refuses what task data and expression results never need to hold."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if depth > MAX_DEPTH:
        raise SandboxError(f"the result is nested more than {MAX_DEPTH} levels deep")
    if kind is list:
        return {"l": [encode(item, depth + 1) for item in value]}
    if kind is dict:
        return {"d": [[encode(key, depth + 1), encode(item, depth + 1)] for key, item in value.items()]}
    if kind is tuple:
        return {"t": [encode(item, depth + 1) for item in value]}
    if kind in (set, frozenset):
        return {"s" if kind is set else "f": [encode(item, depth + 1) for item in value]}
    if kind is datetime:
        return {"dt": value.isoformat()}
    if kind is date:
        return {"da": value.isoformat()}
    if kind is timedelta:
        return {"td": [value.days, value.seconds, value.microseconds]}
    if kind is Decimal:
        return {"dec": str(value)}
    raise SandboxError(f"a {kind.__name__} value cannot be a result of model code")


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "l": lambda items: [decode(item) for item in items],
    "d": lambda pairs: {decode(key): decode(item) for key, item in pairs},
    "t": lambda items: tuple(decode(item) for item in items),
    "s": lambda items: {decode(item) for item in items},
    "f": lambda items: frozenset(decode(item) for item in items),
    "dt": datetime.fromisoformat,
    "da": date.fromisoformat,
    "td": lambda parts: timedelta(days=parts[0], seconds=parts[1], microseconds=parts[2]),
    "dec": Decimal,
}


def decode(data):
    """The value `encode` made `data` from."""
    if isinstance(data, dict):
        ((tag, content),) = data.items()
        return _DECODERS[tag](content)
    return data


def dump(answer: dict) -> bytes:
    """An answer as bytes for the wire."""
    return json.dumps(answer, separators=(",", ":")).encode()


def load(payload: bytes) -> dict:
    """An answer from the wire."""
    return json.loads(payload)
