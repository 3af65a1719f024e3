"""Reading untrusted JSON without letting its nesting exhaust the stack.

Python's parser recurses once per nesting level; with the high recursion limit some
dependencies set, a body of a few hundred kilobytes of ``[`` can overflow the C stack
before Python raises anything. `nesting_depth` measures the depth with a flat scan
first, so hostile input is refused before it is parsed.
"""

from __future__ import annotations

import json
from typing import Any

from ledger.errors import InvalidDocumentError

MAX_NESTING = 64
"""Deeper JSON is refused; real documents nest a handful of levels."""

# Keep the brackets, the quote, the backslash, and the characters that may follow a
# backslash in a JSON escape, so that escapes are skipped correctly in the scan.
_KEPT = frozenset(b'[]{}"\\/bfnrtu')
_DROP = bytes(byte for byte in range(256) if byte not in _KEPT)
_OPEN, _CLOSE, _QUOTE, _BACKSLASH = frozenset(b"[{"), frozenset(b"]}"), ord('"'), ord("\\")


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in `raw`, ignoring brackets inside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw.translate(None, _DROP):
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif byte in _CLOSE:
            depth -= 1
    return deepest


def loads(raw: bytes, *, what: str = "the document") -> Any:
    """Parse untrusted JSON. Raises `InvalidDocumentError` for bad or too deeply nested JSON."""
    if nesting_depth(raw) > MAX_NESTING:
        raise InvalidDocumentError(f"{what} nests deeper than {MAX_NESTING} levels")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidDocumentError(f"{what} is not valid JSON: {error}") from error
