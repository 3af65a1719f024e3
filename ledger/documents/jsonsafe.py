"""Reading untrusted JSON strictly, without letting its nesting exhaust the stack.

Python's parser recurses once per nesting level; with the high recursion limit some
dependencies set, a body of a few hundred kilobytes of ``[`` can overflow the C stack
before Python raises anything. `nesting_depth` measures the depth with a flat scan
first, so hostile input is refused before it is parsed.

`loads` also refuses what parsers disagree on or what cannot be hashed as UTF-8: a key
twice in one object (which value counts differs between parsers), NaN and Infinity (not
JSON), numbers that overflow a double or that JavaScript would round (beyond 2^53), and
unpaired UTF-16 surrogates.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ledger.errors import InvalidDocumentError

JS_SAFE_INTEGER = 2**53 - 1
"""Larger integers read differently in JavaScript, so a document holding one would hash differently there."""

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


class MalformedJsonError(InvalidDocumentError):
    """The bytes are not JSON at all (or not UTF-8)."""


class TooDeeplyNestedError(InvalidDocumentError):
    """The JSON nests deeper than `MAX_NESTING`."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise InvalidDocumentError(f"the key '{key[:80]}' appears twice in one object")
            seen.add(key)
    return found


def _constant(name: str) -> Any:
    raise InvalidDocumentError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise InvalidDocumentError(f"the number {text[:40]} is too large for a double")
    return value


def _exact(text: str) -> int:
    value = int(text)
    if abs(value) > JS_SAFE_INTEGER:
        raise InvalidDocumentError(
            f"the integer {text[:40]} is beyond what JavaScript reads exactly (2^53); send it as a string"
        )
    return value


def loads(raw: bytes, *, what: str = "the document") -> Any:
    """Parse untrusted JSON strictly.

    Raises `MalformedJsonError` for bytes that are not UTF-8 JSON, `TooDeeplyNestedError`,
    and `InvalidDocumentError` for JSON with a key twice in an object, NaN or Infinity, an
    unpaired surrogate, or a number too long to read.
    """
    try:
        # JSON is UTF-8 (RFC 8259): UTF-16 or UTF-32 would blind the depth scan. A leading BOM is let go.
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise MalformedJsonError(f"{what} is not valid JSON: it is not UTF-8") from None
    if nesting_depth(raw) > MAX_NESTING:
        raise TooDeeplyNestedError(f"{what} nests deeper than {MAX_NESTING} levels")
    try:
        parsed = json.loads(
            text, object_pairs_hook=_unique, parse_constant=_constant, parse_float=_finite, parse_int=_exact
        )
    except json.JSONDecodeError as error:
        raise MalformedJsonError(f"{what} is not valid JSON: {error}") from None
    except ValueError:  # int(): more digits than Python converts
        raise InvalidDocumentError(f"{what} holds a number with thousands of digits") from None
    except InvalidDocumentError as error:
        raise InvalidDocumentError(f"{what}: {error.message}") from None
    if "\\u" in text:  # a surrogate can only come from an escape
        try:
            json.dumps(parsed, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidDocumentError(f"{what} holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)") from None
    return parsed
