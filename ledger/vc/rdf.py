"""JSON-LD to canonical N-Quads, and the selective-disclosure primitives built on them.

The W3C Data Integrity selective-disclosure functions, in the terms the `ecdsa-sd-2023`
specification uses:

- `to_nquads` and `canonicalize`: JSON-LD to RDF, then RDFC-1.0 (pyld's URDNA2015, which is
  RDFC-1.0 for these datasets), with the map from input blank-node labels to canonical ones;
- `relabel_canonical`: canonical N-Quads with every blank node given a label of the caller's
  (an HMAC of the canonical one, at issuance) and sorted again: every index refers to that order;
- `skolemize` / `deskolemized_nquads`: blank nodes named (``urn:bnid:``) so that a selection of
  the document keeps them, then unnamed again before anything is hashed;
- `select`: the part of a document that JSON pointers name, with the `id` and `type` of every
  object on the way;
- `group`: which canonical N-Quads each named set of pointers selects.

Hostile input: a property the contexts do not define would be dropped silently by JSON-LD (and
ride along unsigned), so it is refused; so are documents with more blank nodes or statements
than `MAX_BLANK_NODES` and `MAX_QUADS` (canonicalisation is exponential in the worst case).
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyld import jsonld
from pyld.canon import URDNA2015
from pyld.nquads import parse_nquads

from ledger.errors import CredentialError
from ledger.vc.loader import ContextLoader

MAX_QUADS = 5_000
MAX_BLANK_NODES = 500
_BLANK = re.compile(r"_:([^\s]+)")
_SKOLEM = re.compile(r"<urn:bnid:([^>]+)>")

LabelMap = dict[str, str]  # blank-node label (without "_:") -> another
LabelFactory = Callable[[LabelMap], LabelMap]  # canonical id map -> the labels to give


def _processor() -> Any:
    def dropped(term: str | None) -> None:
        raise CredentialError(f"the credential's property {term!r} is not defined by its @context")

    return jsonld.JsonLdProcessor(on_property_dropped=dropped)


def _jsonld(action: Callable[[], Any]) -> Any:
    """Run a pyld call; its errors (and a dropped property) become `CredentialError`."""
    try:
        return action()
    except CredentialError:
        raise
    except jsonld.JsonLdError as error:
        refused = _loader_refusal(error)
        if refused is not None:  # the loader's own words: a context Sijill does not know
            raise refused from error
        message = error.args[0] if error.args else error.type
        raise CredentialError(f"the credential is not valid JSON-LD: {message}") from error
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as error:
        raise CredentialError(f"the credential is not valid JSON-LD ({type(error).__name__})") from error


def _loader_refusal(error: BaseException) -> CredentialError | None:
    """The `CredentialError` a document loader raised, wherever pyld wrapped it."""
    seen: set[int] = set()
    pending: list[Any] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen or current is None:
            continue
        seen.add(id(current))
        if isinstance(current, CredentialError):
            return current
        if isinstance(current, BaseException):
            details = getattr(current, "details", None)
            pending += [current.__cause__, current.__context__]
            if isinstance(details, dict):
                pending += list(details.values())
    return None


def to_nquads(document: Any, loader: ContextLoader) -> list[str]:
    """The document's RDF statements as N-Quads lines (each ending in a newline), in pyld's order.

    Raises `CredentialError` when it is not JSON-LD its contexts define.
    """
    options = {"documentLoader": loader, "format": "application/n-quads", "rdfDirection": "i18n-datatype"}
    text = _jsonld(lambda: _processor().to_rdf(document, options))
    lines = [line + "\n" for line in str(text).split("\n") if line]
    if len(lines) > MAX_QUADS:
        raise CredentialError(f"the credential makes {len(lines):,} statements; at most {MAX_QUADS:,} are read")
    return lines


def canonicalize(nquads: Sequence[str]) -> tuple[list[str], LabelMap]:
    """RDFC-1.0 of `nquads`: the canonical lines (sorted) and the map input label -> canonical label.

    Raises `CredentialError` for too many blank nodes, or labels that would confuse the algorithm.
    """
    labels = {match for line in nquads for match in _BLANK.findall(line)}
    if len(labels) > MAX_BLANK_NODES:
        raise CredentialError(f"the credential has {len(labels):,} blank nodes; at most {MAX_BLANK_NODES} are read")
    if any(label.startswith("c14n") for label in labels):  # pyld would leave such a label as it is
        raise CredentialError("a blank node of the credential is named like a canonical one (_:c14n...)")
    canon = URDNA2015()
    text = _jsonld(lambda: canon.main(parse_nquads("".join(nquads)), {"format": "application/n-quads"}))
    issued = canon.canonical_issuer.existing
    return [line + "\n" for line in str(text).split("\n") if line], {k[2:]: v[2:] for k, v in issued.items()}


def relabel(nquads: Sequence[str], labels: Mapping[str, str]) -> list[str]:
    """`nquads` with every blank node label replaced through `labels` (in the same order)."""
    try:
        return [_BLANK.sub(lambda match: "_:" + labels[match.group(1)], line) for line in nquads]
    except KeyError as error:
        raise CredentialError(f"the proof gives no label for blank node _:{error.args[0]}") from error


def relabel_canonical(nquads: Sequence[str], factory: LabelFactory) -> tuple[list[str], LabelMap]:
    """Canonicalise `nquads`, give the blank nodes the labels `factory` makes from the canonical id map,
    and sort again; also the map input label -> new label."""
    canonical, ids = canonicalize(nquads)
    labels = factory(ids)
    by_canonical = {ids[label]: new for label, new in labels.items()}
    return sorted(relabel(canonical, by_canonical)), labels


def normalized(document: Any, loader: ContextLoader) -> str:
    """RDFC-1.0 of a JSON-LD document as one N-Quads string (a proof's configuration is hashed so)."""
    nquads = to_nquads(document, loader)
    return "".join(canonicalize(nquads)[0])


# --- skolemisation --------------------------------------------------------------------------------


def skolemize(document: Mapping[str, Any], loader: ContextLoader, *, seed: str | None = None) -> Any:
    """The document compacted again with every blank node named ``urn:bnid:_<seed>_<n>`` (a `_:x` id
    becomes ``urn:bnid:x``), so that a selection of it keeps each node's identity."""
    options = {"documentLoader": loader}
    expanded = _jsonld(lambda: _processor().expand(dict(document), options))
    counter = {"seed": seed or str(uuid.uuid4()), "next": 0}
    named = _skolemize_expanded(expanded, counter)
    return _jsonld(lambda: jsonld.compact(named, document["@context"], options))


def _skolemize_expanded(elements: list[Any], counter: dict[str, Any]) -> list[Any]:
    named: list[Any] = []
    for element in elements:
        if not isinstance(element, dict) or "@value" in element:
            named.append(copy.deepcopy(element))
            continue
        node = {
            key: _skolemize_expanded(value, counter)
            if isinstance(value, list)
            else _skolemize_expanded([value], counter)[0]
            for key, value in element.items()
        }
        if "@id" not in node:
            node["@id"] = f"urn:bnid:_{counter['seed']}_{counter['next']}"
            counter["next"] += 1
        elif isinstance(node["@id"], str) and node["@id"].startswith("_:"):
            node["@id"] = "urn:bnid:" + node["@id"][2:]
        named.append(node)
    return named


def deskolemized_nquads(document: Any, loader: ContextLoader) -> list[str]:
    """The N-Quads of a skolemised document with its ``urn:bnid:`` names blank again."""
    return [_SKOLEM.sub(lambda match: "_:" + match.group(1), line) for line in to_nquads(document, loader)]


# --- selection by JSON pointers ---------------------------------------------------------------------


def _pointer_steps(pointer: str) -> list[str | int]:
    if not pointer.startswith("/") and pointer != "":
        raise CredentialError(f"{pointer!r} is not a JSON pointer")
    steps: list[str | int] = []
    for part in pointer.split("/")[1:]:
        if "~" in part:
            steps.append(part.replace("~1", "/").replace("~0", "~"))
        else:
            steps.append(int(part) if part.isdigit() else part)
    return steps


_HOLE = object()  # an array slot a selection has not filled


def _child(container: Any, step: str | int) -> Any:
    if isinstance(container, list):
        return container[step] if isinstance(step, int) and 0 <= step < len(container) else None
    if isinstance(container, dict):
        return container.get(str(step))
    return None


def _put(container: Any, step: str | int, value: Any) -> None:
    if isinstance(container, list):
        assert isinstance(step, int)
        container.extend([_HOLE] * (step + 1 - len(container)))
        container[step] = value
    else:
        container[str(step)] = value


def _frame(source: Any, into: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a selection keeps of every object on a pointer's way: its (non-blank) `id` and its `type`."""
    frame = {} if into is None else into
    if isinstance(source, dict):
        if isinstance(source.get("id"), str) and not source["id"].startswith("_:"):
            frame["id"] = source["id"]
        if "type" in source:
            frame["type"] = copy.deepcopy(source["type"])
    return frame


def select(document: Mapping[str, Any], pointers: Sequence[str]) -> dict[str, Any] | None:
    """The part of `document` the JSON `pointers` name (None for no pointers), with its @context.

    Raises `CredentialError` for a pointer that names nothing in the document.
    """
    if not pointers:
        return None
    selection: dict[str, Any] = {"@context": copy.deepcopy(document["@context"])}
    _frame(document, selection)
    arrays: list[list[Any]] = []
    for pointer in pointers:
        steps = _pointer_steps(pointer)
        if not steps:
            return copy.deepcopy(dict(document))
        value: Any = document
        chosen: Any = selection
        parent: Any = selection
        for step in steps:
            parent, value = chosen, _child(value, step)
            if value is None:
                raise CredentialError(f"the pointer {pointer!r} names nothing in the credential")
            chosen = _child(parent, step)
            if chosen is None or chosen is _HOLE:
                chosen = [] if isinstance(value, list) else _frame(value)
                if isinstance(chosen, list):
                    arrays.append(chosen)
                _put(parent, step, chosen)
        if isinstance(value, dict):
            _put(parent, steps[-1], {**chosen, **copy.deepcopy(value)})
        else:
            _put(parent, steps[-1], copy.deepcopy(value))
    for array in arrays:
        array[:] = [item for item in array if item is not _HOLE]
    return selection


@dataclass(frozen=True, slots=True)
class Group:
    """The canonical N-Quads a set of pointers selects (`matching`, by index) and the others."""

    matching: dict[int, str]
    non_matching: dict[int, str]
    deskolemized: list[str]  # the selection's own N-Quads, blank nodes as the document names them


def group(
    document: Mapping[str, Any], factory: LabelFactory, pointer_sets: Mapping[str, Sequence[str]], loader: ContextLoader
) -> tuple[dict[str, Group], LabelMap, list[str]]:
    """Canonicalise `document` with the labels `factory` gives, and split its N-Quads by each named set
    of pointers: the groups, the map blank-node label -> given label, and every N-Quad in order."""
    skolemized = skolemize(document, loader)
    nquads, labels = relabel_canonical(deskolemized_nquads(skolemized, loader), factory)
    groups: dict[str, Group] = {}
    for name, pointers in pointer_sets.items():
        selection = select(skolemized, pointers)
        own = deskolemized_nquads(selection, loader) if selection is not None else []
        chosen = set(relabel(own, labels))
        matching = {index: line for index, line in enumerate(nquads) if line in chosen}
        others = {index: line for index, line in enumerate(nquads) if line not in chosen}
        groups[name] = Group(matching=matching, non_matching=others, deskolemized=own)
    return groups, labels, nquads
