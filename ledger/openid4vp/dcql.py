"""DCQL (OpenID4VP 1.0, section 6): reading a query, and whether presented documents satisfy it. Pure.

The subset Sijill answers: credential queries of format ``ldp_vc`` (a Sijill document, as its
W3C credential or its OpenAttestation copy) naming their types in ``meta.type_values``; ``claims``
with ``path`` (object keys, array indexes, ``null`` for every element) and ``values``;
``claim_sets``; ``credential_sets`` with ``options`` and ``required``; ``multiple``. Sijill's
documents carry no holder key, so a query must set ``require_cryptographic_holder_binding`` to
false; ``trusted_authorities`` is refused (the registry is the authority). A query outside the
subset is refused with the part that is not answered, never half-read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.errors import InvalidRequestError

FORMAT = "ldp_vc"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_CREDENTIALS = 16
_MAX_CLAIMS = 64
_MAX_PATH = 16
_MAX_VALUES = 64

PathElement = str | int | None
Path = tuple[PathElement, ...]


@dataclass(frozen=True, slots=True)
class ClaimQuery:
    """One requested claim: where it is, and the values it must take (any, when `values` is None)."""

    path: Path
    id: str | None = None
    values: tuple[str | int | bool, ...] | None = None


@dataclass(frozen=True, slots=True)
class CredentialQuery:
    """One requested document: its types (any one of `type_values` sets), its claims."""

    id: str
    type_values: tuple[tuple[str, ...], ...]
    claims: tuple[ClaimQuery, ...]
    claim_sets: tuple[tuple[str, ...], ...] | None = None
    multiple: bool = False


@dataclass(frozen=True, slots=True)
class CredentialSet:
    """Alternatives: one option (a list of credential query ids) must be met, if `required`."""

    options: tuple[tuple[str, ...], ...]
    required: bool = True


@dataclass(frozen=True, slots=True)
class DcqlQuery:
    """A parsed DCQL query."""

    credentials: tuple[CredentialQuery, ...]
    credential_sets: tuple[CredentialSet, ...] | None = None

    def credential(self, query_id: str) -> CredentialQuery:
        """The credential query `query_id`. Raises `KeyError`."""
        return next(c for c in self.credentials if c.id == query_id)

    def ids(self) -> tuple[str, ...]:
        """The credential query ids, in order."""
        return tuple(c.id for c in self.credentials)


@dataclass(frozen=True, slots=True)
class Presented:
    """What a verifier read from one presented document: its types and its claims (JSON, the credential's
    shape: ``credentialSubject`` holds the document's fields)."""

    types: tuple[str, ...]
    claims: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Match:
    """How one presented document answers one credential query: the claims it gave (path -> value),
    and what it lacks."""

    query_id: str
    matched: bool
    claims: tuple[tuple[Path, Any], ...]
    missing: tuple[str, ...]


def _bad(message: str, field: str = "dcql_query") -> InvalidRequestError:
    return InvalidRequestError(message, field=field)


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(f"{what} must be a JSON object")
    return value


def _list(value: Any, what: str, *, limit: int, allow_empty: bool = False) -> list[Any]:
    if not isinstance(value, list) or (not value and not allow_empty):
        raise _bad(f"{what} must be a non-empty array")
    if len(value) > limit:
        raise _bad(f"{what} holds {len(value)} items; at most {limit} are answered")
    return value


def _id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise _bad(f"{what} must be 1 to 64 letters, digits, '_' or '-'")
    return value


def _only(item: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise _bad(f"{what} has {', '.join(repr(k) for k in unknown)}, which Sijill does not answer")


def parse_path(value: Any, what: str) -> Path:
    """A claim path from its JSON. Raises `InvalidRequestError`."""
    items = _list(value, f"{what}'s path", limit=_MAX_PATH)
    path: list[PathElement] = []
    for item in items:
        if item is not None and not isinstance(item, str) and not (isinstance(item, int) and item >= 0):
            raise _bad(f"{what}'s path holds {item!r}: a path element is a key, an index (0 or more) or null")
        if isinstance(item, bool):
            raise _bad(f"{what}'s path holds a boolean: a path element is a key, an index or null")
        path.append(item)
    return tuple(path)


def _claim(value: Any, what: str) -> ClaimQuery:
    item = _object(value, what)
    _only(item, {"id", "path", "values"}, what)
    values = None
    if "values" in item:
        raw = _list(item["values"], f"{what}'s values", limit=_MAX_VALUES)
        if not all(isinstance(v, (str, int, bool)) for v in raw):
            raise _bad(f"{what}'s values must be strings, integers or booleans")
        values = tuple(raw)
    claim_id = _id(item["id"], f"{what}'s id") if "id" in item else None
    if "path" not in item:
        raise _bad(f"{what} needs a path")
    return ClaimQuery(path=parse_path(item["path"], what), id=claim_id, values=values)


def _credential(value: Any, index: int) -> CredentialQuery:
    what = f"credentials[{index}]"
    item = _object(value, what)
    _only(
        item,
        {
            "id",
            "format",
            "meta",
            "claims",
            "claim_sets",
            "multiple",
            "require_cryptographic_holder_binding",
            "trusted_authorities",
        },
        what,
    )
    query_id = _id(item.get("id"), f"{what}.id")
    if item.get("format") != FORMAT:
        raise _bad(f"{what}.format is {item.get('format')!r}; Sijill presents its documents as '{FORMAT}'")
    if "trusted_authorities" in item:
        raise _bad(f"{what}.trusted_authorities is not answered: the registry on chain says who issued a document")
    if item.get("require_cryptographic_holder_binding", True) is not False:
        raise _bad(
            f"{what} must set require_cryptographic_holder_binding to false: Sijill's documents are bound to "
            "no holder key (the default, true, could never be met)"
        )
    if not isinstance(item.get("multiple", False), bool):
        raise _bad(f"{what}.multiple must be true or false")
    meta = _object(item.get("meta"), f"{what}.meta")
    _only(meta, {"type_values"}, f"{what}.meta")
    type_values = []
    for n, option in enumerate(_list(meta.get("type_values"), f"{what}.meta.type_values", limit=_MAX_VALUES)):
        types = _list(option, f"{what}.meta.type_values[{n}]", limit=_MAX_VALUES)
        if not all(isinstance(t, str) and t for t in types):
            raise _bad(f"{what}.meta.type_values[{n}] must hold type names")
        type_values.append(tuple(types))
    claims = tuple(
        _claim(c, f"{what}.claims[{n}]")
        for n, c in enumerate(_list(item.get("claims"), f"{what}.claims", limit=_MAX_CLAIMS))
    )
    claim_sets = None
    if "claim_sets" in item:
        ids = [c.id for c in claims]
        if None in ids:
            raise _bad(f"{what} has claim_sets, so every one of its claims needs an id")
        if len(set(ids)) != len(ids):
            raise _bad(f"{what}'s claim ids must differ")
        sets = []
        for n, option in enumerate(_list(item["claim_sets"], f"{what}.claim_sets", limit=_MAX_CLAIMS)):
            chosen = tuple(_list(option, f"{what}.claim_sets[{n}]", limit=_MAX_CLAIMS))
            unknown = [c for c in chosen if c not in ids]
            if unknown:
                raise _bad(f"{what}.claim_sets[{n}] names {unknown[0]!r}, which is no claim id of {what}")
            sets.append(tuple(str(c) for c in chosen))
        claim_sets = tuple(sets)
    return CredentialQuery(
        id=query_id,
        type_values=tuple(type_values),
        claims=claims,
        claim_sets=claim_sets,
        multiple=bool(item.get("multiple", False)),
    )


def parse_query(value: Any) -> DcqlQuery:
    """A DCQL query from its JSON. Raises `InvalidRequestError` naming the part that is malformed or not
    answered."""
    query = _object(value, "the DCQL query")
    _only(query, {"credentials", "credential_sets"}, "the DCQL query")
    credentials = tuple(
        _credential(item, n)
        for n, item in enumerate(_list(query.get("credentials"), "credentials", limit=_MAX_CREDENTIALS))
    )
    ids = [c.id for c in credentials]
    if len(set(ids)) != len(ids):
        raise _bad("the credential queries' ids must differ")
    sets = None
    if "credential_sets" in query:
        sets = []
        for n, raw in enumerate(_list(query["credential_sets"], "credential_sets", limit=_MAX_CREDENTIALS)):
            item = _object(raw, f"credential_sets[{n}]")
            _only(item, {"options", "required", "purpose"}, f"credential_sets[{n}]")
            if not isinstance(item.get("required", True), bool):
                raise _bad(f"credential_sets[{n}].required must be true or false")
            options = []
            for m, option in enumerate(_list(item.get("options"), f"credential_sets[{n}].options", limit=16)):
                chosen = _list(option, f"credential_sets[{n}].options[{m}]", limit=_MAX_CREDENTIALS)
                unknown = [c for c in chosen if c not in ids]
                if unknown:
                    raise _bad(f"credential_sets[{n}].options[{m}] names {unknown[0]!r}, which is no credential id")
                options.append(tuple(str(c) for c in chosen))
            sets.append(CredentialSet(options=tuple(options), required=bool(item.get("required", True))))
        named = {c for s in sets for option in s.options for c in option}
        if set(ids) - named:
            raise _bad(f"credential {sorted(set(ids) - named)[0]!r} is in no credential set's options")
    return DcqlQuery(credentials=credentials, credential_sets=tuple(sets) if sets is not None else None)


def select(claims: Any, path: Path) -> list[Any]:
    """Every value `path` points at in presented `claims` (none when a key is absent).

    ``null`` selects every element of a list. So does an index: in a presentation, selective disclosure
    leaves elements out and the positions shift, so an index cannot name the issuer's element (the npm
    `dcql` package reads presentations so too).
    """
    current = [claims]
    for element in path:
        following: list[Any] = []
        for node in current:
            if (element is None or isinstance(element, int)) and isinstance(node, list):
                following.extend(node)
            elif isinstance(element, str) and isinstance(node, Mapping) and element in node:
                following.append(node[element])
        current = following
    return current


def path_text(path: Path) -> str:
    """A path for people: ``credentialSubject.activities[*].code``."""
    text = ""
    for element in path:
        text += "[*]" if element is None else f"[{element}]" if isinstance(element, int) else f".{element}"
    return text.lstrip(".")


def _claim_values(presented: Presented, claim: ClaimQuery) -> list[Any] | None:
    found = select(presented.claims, claim.path)
    if not found:
        return None
    if claim.values is not None:
        return among(found, claim.values) or None
    return found


def among(found: list[Any], values: Sequence[str | int | bool]) -> list[Any]:
    """The values of `found` that are one of `values`, matched by kind and content (true is not 1); an
    object or a list is none of them."""
    wanted = {(type(v), v) for v in values}
    return [v for v in found if isinstance(v, str | int | bool) and (type(v), v) in wanted]


def match(query: CredentialQuery, presented: Presented) -> Match:
    """How `presented` answers `query`: its types, then its claims (the first claim set it meets, when
    the query has claim sets)."""
    if not any(set(option) <= set(presented.types) for option in query.type_values):
        wanted = " or ".join("+".join(option) for option in query.type_values)
        return Match(query.id, False, (), (f"a document of type {wanted}",))
    answers = {n: _claim_values(presented, claim) for n, claim in enumerate(query.claims)}
    options: Sequence[Sequence[int]]
    if query.claim_sets is None:
        options = [range(len(query.claims))]
    else:
        by_id = {claim.id: n for n, claim in enumerate(query.claims)}
        options = [[by_id[c] for c in option] for option in query.claim_sets]
    for option in options:
        if all(answers[n] is not None for n in option):
            given = tuple((query.claims[n].path, _one(answers[n])) for n in option)
            return Match(query.id, True, given, ())
    missing = tuple(
        path_text(query.claims[n].path)
        + (f" (one of {', '.join(map(repr, query.claims[n].values or ()))})" if query.claims[n].values else "")
        for n in options[0]
        if answers[n] is None
    )
    return Match(query.id, False, (), missing)


def _one(values: list[Any] | None) -> Any:
    assert values
    return values[0] if len(values) == 1 else values


def satisfied(query: DcqlQuery, answered: set[str]) -> tuple[bool, list[str]]:
    """Whether the credential queries `answered` meet `query` (every credential, or each required
    credential set), and why not."""
    if query.credential_sets is None:
        missing = [c for c in query.ids() if c not in answered]
        return not missing, [f"no valid document answers '{c}'" for c in missing]
    reasons = []
    for n, credential_set in enumerate(query.credential_sets):
        if not credential_set.required:
            continue
        if not any(set(option) <= answered for option in credential_set.options):
            wanted = " or ".join(" and ".join(f"'{c}'" for c in option) for option in credential_set.options)
            reasons.append(f"credential set {n} needs {wanted}")
    return not reasons, reasons


def answer_holds(query: DcqlQuery, matches: Sequence[Match]) -> tuple[bool, list[str], list[str]]:
    """Whether presented documents answer `query` as DCQL reads a presentation: each answers the credential
    query it was given for, one per query unless the query allows `multiple`, and the queries answered
    meet the query (`satisfied`). With what is wrong with the documents given, and what the query still
    lacks."""
    problems = [f"the document given for '{m.query_id}' lacks {', '.join(m.missing)}" for m in matches if not m.matched]
    given = [m.query_id for m in matches]
    problems += [
        f"'{query_id}' asks for one document; several were given"
        for query_id in dict.fromkeys(given)
        if given.count(query_id) > 1 and not query.credential(query_id).multiple
    ]
    met, unmet = satisfied(query, {m.query_id for m in matches if m.matched})
    return met and not problems, problems, unmet
