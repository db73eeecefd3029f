"""Student-controlled text made safe to print on the instructor's terminal.

A name, event or error message from a submission can hold ``\\r``, ANSI/OSC
escape sequences or Unicode bidi overrides that rewrite what the terminal
shows (a forged row in the score table). ``printable`` turns each such
character into a visible escape, so the text reads as written and can change
nothing else on the screen. Feedback pages use it too (keeping newlines),
then ``html.escape``.
"""
from __future__ import annotations

import re

BIDI = "\u202a-\u202e\u2066-\u2069"          # embeddings, overrides, isolates
UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI}]")
SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escaped(char: str) -> str:
    code = ord(char)
    return SHORT.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text, limit: int | None = None, keep: str = "") -> str:
    """``text`` with every control character (C0 including newline and tab, DEL,
    C1, bidi controls) shown as an escape like ``\\x1b``, except those in
    ``keep`` (e.g. newlines in a page); cut to ``limit`` characters (after
    escaping, so a cut never leaves a raw control character)."""
    safe = UNSAFE.sub(lambda m: m.group() if m.group() in keep else escaped(m.group()), str(text))
    return safe if limit is None or len(safe) <= limit else safe[:max(limit - 3, 0)] + "..."
