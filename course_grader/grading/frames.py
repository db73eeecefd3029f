"""Named byte strings over a pipe, the only way data crosses the sandbox wall.

The parent sends the prepared notebook and the checks' inputs on the
child's stdin and reads the executed notebook, the status and the probes'
results from its stdout. It never opens, chowns or follows a path the
sandbox could write. Format: one JSON line ``[[name, size], ...]``, then
the bytes, in order. ``unpack`` trusts nothing: names, sizes and totals are
checked before anything is sliced.
"""
from __future__ import annotations

import json
import re

NAME = re.compile(r"^(?!/)(?!.*\.\.)[A-Za-z0-9_.\-/]{1,200}$")   # relative, no ..
MAX_HEADER = 2**20
MAX_ITEMS = 10_000
# The child's first bytes on its stdout, before the kernel starts: without
# them nothing of the submission ran, and a failure is the grader's own.
READY = b"sandbox-ready\n"


class FrameError(ValueError):
    pass


def pack(items: dict[str, bytes]) -> bytes:
    header = json.dumps([[name, len(data)] for name, data in items.items()]).encode()
    return header + b"\n" + b"".join(items.values())


def unpack(data: bytes) -> dict[str, bytes]:
    end = data.find(b"\n", 0, MAX_HEADER)
    if end < 0:
        raise FrameError("no header line")
    try:
        header = json.loads(data[:end])
    except ValueError as error:
        raise FrameError(f"header is not JSON ({error})") from None
    if not isinstance(header, list) or len(header) > MAX_ITEMS:
        raise FrameError("header is not a list of [name, size] pairs")
    items, offset = {}, end + 1
    for entry in header:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
                and NAME.match(entry[0]) and type(entry[1]) is int and entry[1] >= 0):
            raise FrameError(f"bad header entry {str(entry)[:80]!r}")
        name, size = entry
        if offset + size > len(data):
            raise FrameError(f"{name}: {size} bytes declared, fewer sent")
        items[name] = data[offset:offset + size]
        offset += size
    return items
