"""Salting of field values, as OpenAttestation v2 does it.

Each leaf value becomes the string ``"<uuid4>:<type>:<value>"`` where ``type`` is
the JavaScript ``typeof`` of the value and ``value`` is JavaScript's
``String(value)``. The random salt makes every field hash unguessable, which is
what lets a holder hide a field without the hash betraying its value.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from typing import Any

from ledger.errors import InvalidDocumentError

JsonValue = Any
"""A value as `json.loads` returns it."""

MAX_SAFE_INTEGER = 2**53 - 1
# A salted number's text: what JavaScript's String(number) writes (OpenAttestation salts with it),
# with the spaces both Number() and float() allow around it. The page (web/src/document.js) reads
# salted numbers by the same pattern.
# ASCII digits and ASCII spaces only: on those, JavaScript's Number() and Python's float() agree.
_NUMBER_TEXT = re.compile(
    r"^[ \t\n\r\f\v]*([+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?Infinity|NaN)[ \t\n\r\f\v]*$"
)
_INTEGER_TEXT = re.compile(r"^[ \t\n\r\f\v]*[+-]?[0-9]+[ \t\n\r\f\v]*$")
_UUID_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)
_SALT_LENGTH = 37  # 36 characters of uuid and the colon after it


def js_number_to_string(value: int | float, path: str = "") -> str:
    """Format a number exactly as JavaScript's ``String(number)`` does.

    Raises `InvalidDocumentError` for integers JavaScript cannot represent exactly
    and for NaN or infinities, which JSON cannot carry.
    """
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidDocumentError(
                f"the number at '{path}' is larger than 2^53 - 1 and would lose digits; send it as a string",
                field=path or None,
            )
        return str(value)
    if math.isnan(value) or math.isinf(value):
        raise InvalidDocumentError(f"the number at '{path}' is not finite", field=path or None)
    if value == 0:
        return "0"
    digits, exponent = _shortest_digits(value)
    sign = "-" if value < 0 else ""
    k = len(digits)
    n = exponent + k  # position of the decimal point relative to the digits
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    exp = n - 1
    exp_text = f"e+{exp}" if exp >= 0 else f"e-{-exp}"
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return sign + mantissa + exp_text


def _shortest_digits(value: float) -> tuple[str, int]:
    """The shortest round-trip decimal digits of ``abs(value)`` and their exponent."""
    text = repr(abs(value))
    mantissa, _, exp_text = text.partition("e")
    exponent = int(exp_text) if exp_text else 0
    whole, _, fraction = mantissa.partition(".")
    if fraction == "0":
        fraction = ""
    digits = (whole + fraction).lstrip("0")
    exponent -= len(fraction)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    return stripped, exponent


def typed_string(value: JsonValue, path: str = "") -> str:
    """``"<type>:<value>"`` for a JSON leaf, as OpenAttestation writes it."""
    if value is None:
        return "null:null"
    if isinstance(value, bool):
        return "boolean:true" if value else "boolean:false"
    if isinstance(value, int | float):
        return "number:" + js_number_to_string(value, path)
    if isinstance(value, str):
        return "string:" + value
    raise InvalidDocumentError(f"the value at '{path}' is not a JSON value", field=path or None)


def uuid4_text(random: bytes) -> str:
    """16 random bytes as a version 4, RFC 4122 variant UUID in text (what `str(uuid.uuid4())` gives)."""
    text = random.hex()
    variant = "89ab"[int(text[16], 16) & 3]
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{variant}{text[17:20]}-{text[20:]}"


def random_uuid4() -> str:
    """A fresh random version 4 UUID, as text."""
    return uuid4_text(os.urandom(16))


class SaltSource:
    """Random v4 UUIDs, drawn from the system 256 at a time.

    Each read of the system's randomness lets go of the interpreter lock, and in a busy
    service getting it back can cost far more than the read: share one source across the
    documents of a request rather than reading once per field.
    """

    _PER_READ = 256

    def __init__(self) -> None:
        self._pool = b""
        self._next = 0

    def __call__(self) -> str:
        if self._next >= len(self._pool):
            self._pool, self._next = os.urandom(16 * self._PER_READ), 0
        start = self._next
        self._next = start + 16
        return uuid4_text(self._pool[start : start + 16])


def salt_value(value: JsonValue, path: str = "", *, salt: Callable[[], str] | None = None) -> str:
    """Salt one leaf with a fresh random uuid4 (or the given salt source)."""
    prefix = salt() if salt is not None else random_uuid4()
    return f"{prefix}:{typed_string(value, path)}"


def salt_data(data: JsonValue, *, salt: Callable[[], str] | None = None) -> JsonValue:
    """Salt every leaf of `data`, keeping its shape (objects and arrays)."""
    source = salt or SaltSource()
    return _deep_map(data, lambda leaf, path: salt_value(leaf, path, salt=source), "")


def unsalt_value(value: JsonValue) -> JsonValue:
    """The original value of a salted leaf; anything else comes back unchanged."""
    if not isinstance(value, str) or not _UUID_V4.match(value[:36]) or value[36:37] != ":":
        return value
    kind, separator, text = value[_SALT_LENGTH:].partition(":")
    if not separator:
        return value  # `<uuid>:<type>` with no value after it: no salted leaf
    if kind == "string":
        return text
    if kind == "number":
        if not _NUMBER_TEXT.match(text):
            return value  # not a number as JavaScript and JSON write one: keep the salted text as it is
        try:
            number = float(text)  # as JavaScript holds it: a double
        except ValueError:  # the pattern admits only what float() reads; kept as a guard for hostile text
            return value
        return int(number) if number.is_integer() and _INTEGER_TEXT.match(text) else number
    if kind == "boolean":
        return text == "true"
    if kind == "null":
        return None
    return value


def unsalt_data(data: JsonValue) -> JsonValue:
    """Undo `salt_data`: every salted leaf back to its typed value."""
    return _deep_map(data, lambda leaf, _path: unsalt_value(leaf), "")


def _deep_map(data: JsonValue, leaf: Callable[[JsonValue, str], JsonValue], path: str) -> JsonValue:
    if isinstance(data, dict):
        return {key: _deep_map(value, leaf, f"{path}.{key}" if path else key) for key, value in data.items()}
    if isinstance(data, list):
        return [_deep_map(value, leaf, f"{path}.{index}" if path else str(index)) for index, value in enumerate(data)]
    return leaf(data, path)
