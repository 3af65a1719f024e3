"""DCQL queries and decision rules, pure: what is refused and why, how claims are selected, and how a rule
approves or refers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import InvalidRequestError
from ledger.openid4vp.dcql import Presented, match, parse_query, path_text, select
from ledger.openid4vp.rules import Decision, Evidence, evaluate, parse_rules

S = "credentialSubject"
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def query(**extra: Any) -> dict[str, Any]:
    entry = {
        "id": "licence",
        "format": "ldp_vc",
        "require_cryptographic_holder_binding": False,
        "meta": {"type_values": [["CommercialLicence"]]},
        "claims": [
            {"id": "code", "path": [S, "activities", None, "code"], "values": ["4690"]},
            {"id": "name", "path": [S, "tradeName"]},
        ],
    }
    return {"credentials": [{**entry, **extra}]}


LICENCE = Presented(
    types=("VerifiableCredential", "CommercialLicence"),
    claims={S: {"tradeName": "Pearl", "activities": [{"code": "4610"}, {"code": "4690"}], "flag": True}},
)


def test_a_query_is_read_and_a_licence_answers_it_with_its_values() -> None:
    found = match(parse_query(query()).credential("licence"), LICENCE)
    assert found.matched
    assert dict(found.claims) == {(S, "activities", None, "code"): "4690", (S, "tradeName"): "Pearl"}


def test_a_claim_set_is_met_by_its_first_option_that_holds() -> None:
    parsed = parse_query(query(claim_sets=[["code", "name"], ["name"]])).credential("licence")
    other = Presented(LICENCE.types, {S: {"tradeName": "Pearl", "activities": [{"code": "1"}]}})
    found = match(parsed, other)
    assert found.matched
    assert [path for path, _ in found.claims] == [(S, "tradeName")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "dc+sd-jwt"}, "'ldp_vc'"),
        ({"require_cryptographic_holder_binding": True}, "bound to no holder key"),
        ({"trusted_authorities": []}, "registry on chain"),
        ({"meta": {}}, "type_values must be a non-empty array"),
        ({"claim_sets": [["nope"]]}, "'nope', which is no claim id"),
        ({"claims": [{"path": [S, True]}]}, "a path element is a key, an index"),
        ({"claims": [{"path": [S, -1]}]}, "a path element is a key, an index"),
        ({"claims": [{"path": [S], "values": [1.5]}]}, "strings, integers or booleans"),
        ({"id": "has space"}, "letters, digits"),
        ({"extra": 1}, "'extra', which Sijill does not answer"),
    ],
)
def test_a_query_outside_the_subset_is_refused_naming_the_part(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message.replace("(", r"\(")):
        parse_query(query(**change))


def test_a_value_is_matched_by_kind_and_content() -> None:
    flag = parse_query(query(claims=[{"path": [S, "flag"], "values": [1]}])).credential("licence")
    assert not match(flag, LICENCE).matched  # True is not 1
    flag = parse_query(query(claims=[{"path": [S, "flag"], "values": [True]}])).credential("licence")
    assert match(flag, LICENCE).matched


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
    max_leaves=10,
)


@given(json_values, st.lists(st.sampled_from(["a", "b", None, 0, 1]), max_size=4))
def test_select_finds_exactly_what_a_walk_of_the_path_finds(claims: Any, path: list[Any]) -> None:
    def walk(node: Any, rest: list[Any]) -> list[Any]:
        if not rest:
            return [node]
        head, *tail = rest
        if isinstance(head, str):
            return walk(node[head], tail) if isinstance(node, dict) and head in node else []
        return [found for item in node for found in walk(item, tail)] if isinstance(node, list) else []

    assert select(claims, tuple(path)) == walk(claims, path)


def test_a_path_reads_for_people() -> None:
    assert path_text((S, "activities", None, "code")) == "credentialSubject.activities[*].code"


def rules(*items: dict[str, Any]) -> Any:
    return parse_rules(list(items), parse_query(query()))


def test_rules_approve_only_when_each_holds_and_say_why() -> None:
    parsed = rules(
        {"credential": "licence", "status": "VALID"},
        {"credential": "licence", "valid_for_days": 90},
        {"credential": "licence", "path": [S, "activities", None, "code"], "in": ["4690"]},
    )
    evidence = {"licence": [Evidence("VALID", NOW + timedelta(days=90), LICENCE.claims)]}
    decision, outcomes = evaluate(parsed, evidence, NOW)
    assert decision is Decision.APPROVE
    assert [o.reason for o in outcomes] == [
        "the document is VALID",
        "valid until 2027-03-06: 90 days from now",
        "credentialSubject.activities[*].code is '4610', '4690'",
    ]
    short = {"licence": [Evidence("VALID", NOW + timedelta(days=89, hours=23), LICENCE.claims)]}
    assert evaluate(parsed, short, NOW)[0] is Decision.REFER
    assert evaluate(parsed, {}, NOW)[1][0].reason == "no document answered 'licence'"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"credential": "degree", "status": "VALID"}, "must name a credential query"),
        ({"credential": "licence", "status": "VALID", "valid_for_days": 1}, "asks one thing"),
        ({"credential": "licence", "status": "GOOD"}, "'status' is one of"),
        ({"credential": "licence", "valid_for_days": -1}, "whole number of days"),
        ({"credential": "licence", "path": [S, "owner"], "in": ["x"]}, "not among the claims"),
        ({"credential": "licence", "path": [S, "tradeName"], "in": []}, "'in' lists the values"),
    ],
)
def test_a_malformed_rule_is_refused(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        rules(rule)


def test_a_value_asked_of_an_object_matches_nothing_and_raises_nothing() -> None:
    bilingual = parse_query(query(claims=[{"path": [S, "tradeName"], "values": ["Pearl"]}])).credential("licence")
    shown = Presented(LICENCE.types, {S: {"tradeName": {"en": "Pearl", "ar": "لؤلؤ"}}})
    assert not match(bilingual, shown).matched


def test_a_rule_over_several_documents_holds_only_for_each_and_a_long_rule_gets_a_short_label() -> None:
    codes = [f"{n:04d}" for n in range(60)]
    (rule,) = rules({"credential": "licence", "path": [S, "activities", None, "code"], "in": codes})
    assert len(rule.label) == 200
    assert parse_rules([rule.as_json()], parse_query(query()))[0] == rule  # stored, it reads back alike
    other = Evidence("VALID", None, {S: {"activities": [{"code": "9999"}]}})
    good = Evidence("VALID", None, {S: {"activities": [{"code": "0042"}]}})
    assert evaluate([rule], {"licence": [good]}, NOW)[0] is Decision.APPROVE
    decision, (outcome,) = evaluate([rule], {"licence": [good, other]}, NOW)
    assert decision is Decision.REFER
    assert outcome.reason == "credentialSubject.activities[*].code is '9999'"
