"""A relying party's decision rules: approve, or refer to a person, with the reason for each rule. Pure.

A rule names one credential query of the request and asks one thing of the document that answered it:

- ``{"credential": "licence", "status": "VALID"}``: the document's verdict;
- ``{"credential": "licence", "valid_for_days": 90}``: it stays valid that many days more (by the
  earlier of its anchored expiry and its own validity);
- ``{"credential": "licence", "path": ["credentialSubject", "activities", null, "code"], "in": ["4690"]}``:
  a claim takes one of the values (for a path through a list, any element does).

Every rule may carry a ``label`` for people. No rule declines: a rule that is not met refers the
application to a person, who sees which rule and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ledger.errors import InvalidRequestError
from ledger.openid4vp.dcql import DcqlQuery, Path, among, parse_path, path_text, select

_MAX_RULES = 32
_MAX_LABEL = 200
_MAX_VALUES = 64
_MAX_TEXT = 200
_STATUSES = ("VALID", "REVOKED", "SUSPENDED", "EXPIRED")


class Decision(StrEnum):
    """What the rules say of an application."""

    APPROVE = "approve"
    REFER = "refer"


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule; exactly one of `status`, `valid_for_days` and (`path`, `one_of`) is set."""

    credential: str
    label: str
    status: str | None = None
    valid_for_days: int | None = None
    path: Path | None = None
    one_of: tuple[str | int | bool, ...] | None = None

    def as_json(self) -> dict[str, Any]:
        """The rule as it was written."""
        rule: dict[str, Any] = {"credential": self.credential, "label": self.label}
        if self.status is not None:
            rule["status"] = self.status
        if self.valid_for_days is not None:
            rule["valid_for_days"] = self.valid_for_days
        if self.path is not None:
            rule["path"], rule["in"] = list(self.path), list(self.one_of or ())
        return rule


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a verifier established of the document that answered a credential query."""

    status: str
    valid_until: datetime | None
    claims: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """A rule, whether it held, and why."""

    rule: Rule
    passed: bool
    reason: str


def parse_rules(value: Any, query: DcqlQuery) -> tuple[Rule, ...]:
    """Rules from their JSON, each naming a credential query of `query`. Raises `InvalidRequestError`."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > _MAX_RULES:
        raise InvalidRequestError(f"rules must be an array of at most {_MAX_RULES} rules", field="rules")
    return tuple(_rule(item, n, query) for n, item in enumerate(value))


def _rule(item: Any, n: int, query: DcqlQuery) -> Rule:
    what = f"rules[{n}]"

    def bad(message: str) -> InvalidRequestError:
        return InvalidRequestError(f"{what}: {message}", field="rules")

    if not isinstance(item, Mapping):
        raise bad("a rule is a JSON object")
    unknown = sorted(set(item) - {"credential", "label", "status", "valid_for_days", "path", "in"})
    if unknown:
        raise bad(f"{', '.join(map(repr, unknown))} is no part of a rule")
    credential = item.get("credential")
    if credential not in query.ids():
        raise bad(f"'credential' must name a credential query of the request ({', '.join(query.ids())})")
    label = item.get("label", "")
    if not isinstance(label, str) or len(label) > _MAX_LABEL:
        raise bad(f"a label is text of at most {_MAX_LABEL} characters")
    kinds = [k for k in ("status", "valid_for_days", "path") if k in item]
    if len(kinds) != 1:
        raise bad("a rule asks one thing: 'status', 'valid_for_days', or 'path' with 'in'")
    if "status" in item:
        if item["status"] not in _STATUSES:
            raise bad(f"'status' is one of {', '.join(_STATUSES)}")
        return Rule(credential, label or f"{credential} is {item['status']}", status=item["status"])
    if "valid_for_days" in item:
        days = item["valid_for_days"]
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 36_500:
            raise bad("'valid_for_days' is a whole number of days from 0 to 36500")
        return Rule(credential, label or f"{credential} valid for {days} more days", valid_for_days=days)
    try:
        path = parse_path(item["path"], what)
    except InvalidRequestError as error:
        raise bad(error.message) from None
    values = item.get("in")
    if not isinstance(values, list) or not values or not all(isinstance(v, (str, int, bool)) for v in values):
        raise bad("'in' lists the values the claim may take (strings, integers or booleans)")
    if len(values) > _MAX_VALUES or any(isinstance(v, str) and len(v) > _MAX_TEXT for v in values):
        raise bad(f"'in' lists at most {_MAX_VALUES} values of at most {_MAX_TEXT} characters")
    asked = [claim.path for claim in query.credential(str(credential)).claims]
    if not any(path[: len(wanted)] == wanted for wanted in asked):  # the claim, or a part of one asked for
        raise bad(f"the path {path_text(path)} is not among the claims the request asks of '{credential}'")
    return Rule(credential, label or _label(f"{path_text(path)} in {values}"), path=path, one_of=tuple(values))


def _label(text: str) -> str:
    """A label made for a rule that has none, within a label's length."""
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


def evaluate(
    rules: Sequence[Rule], answered: Mapping[str, Sequence[Evidence]], now: datetime
) -> tuple[Decision, list[RuleOutcome]]:
    """Each rule against the documents that answered (`answered`, by credential query id; a rule holds
    only if it holds for each document given for its query), and the decision: approve only when every
    rule holds."""
    outcomes = []
    for rule in rules:
        each = [_outcome(rule, evidence, now) for evidence in answered.get(rule.credential, ())]
        each = each or [_outcome(rule, None, now)]
        failed = next((outcome for outcome in each if not outcome.passed), None)
        outcomes.append(failed or RuleOutcome(rule, True, "; ".join(outcome.reason for outcome in each)))
    return (Decision.APPROVE if all(o.passed for o in outcomes) else Decision.REFER), outcomes


def _outcome(rule: Rule, evidence: Evidence | None, now: datetime) -> RuleOutcome:
    if evidence is None:
        return RuleOutcome(rule, False, f"no document answered '{rule.credential}'")
    if rule.status is not None:
        held = evidence.status == rule.status
        return RuleOutcome(rule, held, f"the document is {evidence.status}")
    if rule.valid_for_days is not None:
        if evidence.valid_until is None:
            return RuleOutcome(rule, True, "the document does not expire")
        left = evidence.valid_until - now
        held = left >= timedelta(days=rule.valid_for_days)
        return RuleOutcome(
            rule, held, f"valid until {evidence.valid_until.date().isoformat()}: {max(left.days, 0)} days from now"
        )
    assert rule.path is not None
    assert rule.one_of is not None
    found = select(evidence.claims, rule.path)
    held = bool(among(found, rule.one_of))
    shown = ", ".join(repr(v) for v in found) if found else "nothing"
    return RuleOutcome(rule, held, f"{path_text(rule.path)} is {shown}")
