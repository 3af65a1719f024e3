"""JSON-LD to canonical N-Quads, and the selective-disclosure primitives built on them.

The W3C Data Integrity selective-disclosure functions, in the terms the `ecdsa-sd-2023`
specification uses:

- `to_nquads` and `canonicalize`: JSON-LD to RDF, then RDFC-1.0 (pyld's URDNA2015; it writes
  N-Quads as RDFC-1.0 does for the strings `check_shape` lets through, which hold no backslash
  and no control character), with the map from input blank-node labels to canonical ones;
- `relabel_canonical`: canonical N-Quads with every blank node given a label of the caller's
  (an HMAC of the canonical one, at issuance) and sorted again: every index refers to that order;
- `skolemize` / `deskolemized_nquads`: blank nodes named (``urn:bnid:``) so that a selection of
  the document keeps them, then unnamed again before anything is hashed;
- `select`: the part of a document that JSON pointers name, with the `id` and `type` of every
  object on the way;
- `group`: which canonical N-Quads each named set of pointers selects.

Hostile input. JSON-LD drops silently what it cannot read (an undefined property, an IRI with a
space, a null), and what is dropped is never signed: a forger could ride it along. So before
anything is read, `check_shape` holds a document to what Sijill's credentials are: its
`@context` a list of known context URLs (no inline context to rename a claim), no other JSON-LD
keyword, no null, ids that are absolute IRIs, types and keys without spaces, no explicit blank
node ids, strings without backslashes or control characters (pyld's N-Quads would neither
escape them as RDFC-1.0 does nor read them back alike), integers JavaScript reads alike; and an
undefined property is refused too. Documents with more blank nodes or statements than
`MAX_BLANK_NODES` and `MAX_QUADS`, or whose canonicalisation does more than `MAX_WORK` rounds of
N-degree hashing, are refused. Blank nodes are relabelled on parsed terms, never by text.
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
from pyld.nquads import parse_nquads, serialize_nquad

from ledger.errors import CredentialError
from ledger.vc.loader import ContextLoader

MAX_QUADS = 5_000
MAX_BLANK_NODES = 500
MAX_WORK = 2_000  # N-degree hash rounds in one canonicalisation
MAX_DEPTH = 24
MAX_SAFE_INTEGER = 2**53 - 1  # what JavaScript reads as the same number
SKOLEM = "urn:bnid:"
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|^`\\]*")
_TERM = re.compile(r"[^\s<>\"{}|^`\\]+")
_UNSAFE_TEXT = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029]")  # a backslash, control characters, line breaks

LabelMap = dict[str, str]  # blank-node label (without "_:") -> another
LabelFactory = Callable[[LabelMap], LabelMap]  # canonical id map -> the labels to give


def check_shape(document: Any, loader: ContextLoader) -> None:
    """Hold `document` to the shape of a credential whose every part is signed (see the module's notes).

    Raises `CredentialError` naming the first part that is not.
    """
    if not isinstance(document, Mapping):
        raise CredentialError("the credential is not a JSON object")
    contexts = document.get("@context")
    if not isinstance(contexts, list) or not contexts or not all(isinstance(url, str) for url in contexts):
        raise CredentialError("the credential's @context must be a list of context URLs")
    for url in contexts:
        if not loader.knows(url):
            raise CredentialError(f"the JSON-LD context {url} is not one Sijill knows; contexts are never fetched")
    _check_value({key: value for key, value in document.items() if key != "@context"}, "", 0)


def _check_value(value: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise CredentialError(f"the credential nests deeper than {MAX_DEPTH} levels at {where or '/'}")
    if value is None:
        raise CredentialError(f"{where or '/'} is null; leave the property out instead")
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CredentialError(f"{where} is an integer larger than {MAX_SAFE_INTEGER:,}; write it as a string")
        return
    if isinstance(value, float):
        return
    if isinstance(value, str):
        if _UNSAFE_TEXT.search(value) or SKOLEM in value:
            raise CredentialError(
                f"{where} holds a backslash, a control character or {SKOLEM}; these are not signed alike"
            )
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, f"{where}/{index}", depth + 1)
        return
    if not isinstance(value, Mapping):
        raise CredentialError(f"{where} is not a JSON value")
    for key, item in value.items():
        path = f"{where}/{key}"
        if not isinstance(key, str) or key.startswith("@") or not _TERM.fullmatch(key):
            raise CredentialError(f"the property {key!r} at {where or '/'} is a JSON-LD keyword or has a space")
        if key == "id" and not (isinstance(item, str) and _IRI.fullmatch(item) and not item.startswith("_:")):
            raise CredentialError(f"{path} must be an absolute IRI (a blank node needs no id)")
        if key == "type":
            types = item if isinstance(item, list) else [item]
            if not types or not all(isinstance(kind, str) and _TERM.fullmatch(kind) for kind in types):
                raise CredentialError(f"{path} must be one or more names without spaces")
        _check_value(item, path, depth + 1)


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
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError, ArithmeticError) as error:
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

    Raises `CredentialError` when it is not JSON-LD its contexts define, or not a credential's shape.
    """
    check_shape(document, loader)
    lines = _rdf_lines(document, loader, _processor())
    if len(lines) > MAX_QUADS:
        raise CredentialError(f"the credential makes {len(lines):,} statements; at most {MAX_QUADS:,} are read")
    return lines


def _rdf_lines(document: Any, loader: ContextLoader, processor: Any) -> list[str]:
    """`document` to RDF by `processor`, as N-Quads lines each ending in a newline."""
    options = {"documentLoader": loader, "format": "application/n-quads", "rdfDirection": "i18n-datatype"}
    text = _jsonld(lambda: processor.to_rdf(document, options))
    return [line + "\n" for line in str(text).split("\n") if line]


def canonicalize(nquads: Sequence[str]) -> tuple[list[str], LabelMap]:
    """RDFC-1.0 of `nquads`: the canonical lines (sorted) and the map input label -> canonical label.

    Raises `CredentialError` for too many blank nodes, or labels that would confuse the algorithm.
    """
    labels = {term["value"][2:] for line in nquads for term in _terms(line) if term["type"] == "blank node"}
    if len(labels) > MAX_BLANK_NODES:
        raise CredentialError(f"the credential has {len(labels):,} blank nodes; at most {MAX_BLANK_NODES} are read")
    if any(label.startswith("c14n") for label in labels):  # pyld would leave such a label as it is
        raise CredentialError("a blank node of the credential is named like a canonical one (_:c14n...)")
    canon = _BoundedCanon(MAX_WORK)
    text = _jsonld(lambda: canon.main(parse_nquads("".join(nquads)), {"format": "application/n-quads"}))
    issued = canon.canonical_issuer.existing
    return [line + "\n" for line in str(text).split("\n") if line], {k[2:]: v[2:] for k, v in issued.items()}


class _BoundedCanon(URDNA2015):  # type: ignore[misc]
    """pyld's RDFC-1.0, refusing a dataset that needs more than `limit` rounds of N-degree hashing
    (RDFC-1.0 asks implementations to bound that work: it is exponential in the worst case)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._left = limit

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> Any:
        self._left -= 1
        if self._left < 0:
            raise CredentialError("the credential's blank nodes take too much work to put in canonical order")
        return super().hash_n_degree_quads(id_, issuer)


def _parsed(line: str) -> tuple[dict[str, Any], str | None]:
    dataset = _jsonld(lambda: parse_nquads(line))
    ((graph, (triple, *more)),) = dataset.items()
    if more:
        raise CredentialError("an N-Quads line holds more than one statement")
    return triple, None if graph == "@default" else graph


def _terms(line: str) -> list[dict[str, Any]]:
    triple, _graph = _parsed(line)
    return [triple["subject"], triple["object"]]


def _map_terms(nquads: Sequence[str], change: Callable[[dict[str, Any]], None]) -> list[str]:
    """`nquads` with `change` applied to each subject, object and graph term, written out again."""
    changed = []
    for line in nquads:
        triple, graph = _parsed(line)
        for term in (triple["subject"], triple["object"]):
            change(term)
        if graph is not None:
            name = {"type": "blank node" if graph.startswith("_:") else "IRI", "value": graph}
            change(name)
            graph = name["value"]
        changed.append(serialize_nquad(triple, graph))
    return changed


def relabel(nquads: Sequence[str], labels: Mapping[str, str]) -> list[str]:
    """`nquads` with every blank node label replaced through `labels` (in the same order).

    Raises `CredentialError` for a blank node `labels` has no label for.
    """

    def change(term: dict[str, Any]) -> None:
        if term["type"] == "blank node" or term["value"].startswith("_:"):
            label = term["value"][2:]
            if label not in labels:
                raise CredentialError(f"the proof gives no label for blank node _:{label}")
            term["value"] = "_:" + labels[label]

    return _map_terms(nquads, change)


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

    def change(term: dict[str, Any]) -> None:
        if term["type"] == "IRI" and term["value"].startswith(SKOLEM):
            term["type"], term["value"] = "blank node", "_:" + term["value"].removeprefix(SKOLEM)

    # Made by `skolemize` from a checked document: its urn:bnid: ids are no shape to check.
    return _map_terms(_rdf_lines(document, loader, jsonld.JsonLdProcessor()), change)


# --- selection by JSON pointers ---------------------------------------------------------------------


def _pointer_steps(pointer: str) -> list[str | int]:
    if not pointer.startswith("/") and pointer != "":
        raise CredentialError(f"{pointer!r} is not a JSON pointer")
    steps: list[str | int] = []
    for part in pointer.split("/")[1:]:
        if "~" in part:
            steps.append(part.replace("~1", "/").replace("~0", "~"))
        else:
            steps.append(int(part) if part.isascii() and part.isdigit() else part)
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
    check_shape(document, loader)
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
