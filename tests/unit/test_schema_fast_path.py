"""The fast validator only ever accepts what the reference validator (python-jsonschema) accepts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.documents.types import DocumentTypeCatalog

CATALOG = DocumentTypeCatalog.shipped()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TYPES = ["commercial-licence", "building-permit", "academic-certificate"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["2026-02-29", "2028-02-29", "2026-13-01", "2026-1-01", "2026-01-01\n", "CL-2026\n", " 12345678"])
    | st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\n?", fullmatch=True)
    | st.from_regex(r"[A-Z0-9-]{3,34}\n?", fullmatch=True),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["en", "ar", "name", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Any]:
    """A document type's example, with a few values replaced, removed or added."""
    name = draw(st.sampled_from(TYPES))
    fields = copy.deepcopy(json.loads((EXAMPLES / f"{name}.json").read_text())["fields"])
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(paths(fields)[1:]))
        parent = fields
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "remove" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(json_values)
    return name, fields


def reference_accepts(name: str, fields: Any) -> bool:
    return not any(CATALOG.checkers(CATALOG.get(name))[0].iter_errors(fields))  # the validator that decides


@settings(max_examples=400)
@given(mutated())
def test_whatever_the_fast_validator_accepts_the_reference_accepts(case: tuple[str, Any]) -> None:
    name, fields = case
    if CATALOG.checkers(CATALOG.get(name))[1].is_valid(fields):
        assert reference_accepts(name, fields), fields


def test_the_examples_pass_both_validators() -> None:
    for name in TYPES:
        fields = json.loads((EXAMPLES / f"{name}.json").read_text())["fields"]
        assert reference_accepts(name, fields)
        assert CATALOG.checkers(CATALOG.get(name))[1].is_valid(
            fields
        )  # jsonschema-rs is a dependency: the fast path is on
        CATALOG.validate(name, fields)
