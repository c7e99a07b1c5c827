"""shirtsim.feed.rules: parsing the flags, each rule's mask, one per value."""

from __future__ import annotations

import pytest

from shirtsim.catalog.labels import Labels
from shirtsim.feed.rules import RuleColumns, Rules, RulesError, number, parse_rules

COLUMNS = ["colour", "group", "price"]
ROWS = {
    "q": {"colour": "red", "group": "g1", "price": "20"},
    "a": {"colour": "red", "group": "g1", "price": "21.5"},
    "b": {"colour": "blue", "group": "g2", "price": "EUR 19,00"},
    "c": {"colour": "red", "group": "g2", "price": "30"},
    "d": {"colour": "", "group": "", "price": ""},
    "e": {"colour": "green", "group": "", "price": "n/a"},
}
IDS = list(ROWS)


def columns(rules: Rules) -> RuleColumns:
    return RuleColumns(rules, Labels(COLUMNS, ROWS), IDS)


def allowed(rules: Rules, query: str = "q") -> list[str]:
    made = columns(rules)
    mask = made.mask(made.query_values(Labels(COLUMNS, ROWS), query))
    return IDS if mask is None else [i for i, keep in zip(IDS, mask) if keep]


def test_parse_rules_groups_filters_by_column_and_reads_percentages():
    rules = parse_rules(["colour=red", "colour=blue", "group=g1"], ["group"], ["group", "group"], ["price=10.5"])
    assert rules.filters == {"colour": ("red", "blue"), "group": ("g1",)}
    assert rules.same == ("group",) and rules.one_per == ("group",) and rules.near == {"price": 10.5}
    assert rules.describe() == (
        "--filter colour=red --filter colour=blue --filter group=g1 --same group --one-per group --near price=10.5"
    )
    assert not parse_rules() and parse_rules(same=["group"])


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("filters", "colour", "--filter 'colour': write COLUMN=VALUE."),
        ("near", "price=cheap", "--near 'price=cheap': write COLUMN=PCT, a percentage such as price=10."),
        ("near", "price", "--near 'price': write COLUMN=PCT, a percentage such as price=10."),
        ("near", "price=-5", "--near 'price=-5': write COLUMN=PCT, a percentage such as price=10."),
        ("near", "price=nan", "--near 'price=nan': write COLUMN=PCT, a percentage such as price=10."),
    ],
)
def test_parse_rules_says_what_to_write(kind, value, message):
    with pytest.raises(RulesError) as e:
        parse_rules(**{kind: [value]})
    assert str(e.value) == message


def test_an_unknown_column_names_the_known_ones():
    known = "labels.csv has 'colour', 'group', 'price'"
    with pytest.raises(RulesError, match=rf"^--same: no label column 'stock'; {known}\.$"):
        columns(parse_rules(same=["stock"]))
    with pytest.raises(RulesError, match=r"^--filter: no label column 'colour' \(the catalog has no labels.csv\)\.$"):
        RuleColumns(parse_rules(["colour=red"]), None, IDS)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("19.99", 19.99),
        ("19,99", 19.99),
        ("EUR 19.99", 19.99),
        ("-3", -3.0),
        ("1e3", 1e3),
        ("", None),
        ("n/a", None),
        ("1,299.00 USD", 1299.0),  # thousands grouped, as feeds write them
        ("1.299,00 €", 1299.0),
        ("1,299", 1299.0),
        ("1,299,000", 1299000.0),
        ("1.299", 1.299),  # a lone dot is a decimal point
        ("0,5", 0.5),
        (".5", 0.5),
        ("12.", 12.0),
    ],
)
def test_number_reads_prices_as_stores_write_them(text, value):
    assert number(text) == value
    assert number("1e400") is None  # not finite: no number


def test_filter_ors_values_of_one_column_and_ands_columns():
    assert allowed(parse_rules(["colour=red", "colour=blue"])) == ["q", "a", "b", "c"]
    assert allowed(parse_rules(["colour=red", "colour=blue", "group=g2"])) == ["b", "c"]


def test_same_keeps_the_querys_value_and_does_not_apply_to_an_empty_one():
    assert allowed(parse_rules(same=["group"])) == ["q", "a"]
    assert allowed(parse_rules(same=["group"]), query="d") == IDS  # d has no group


def test_near_keeps_numbers_within_the_percentage_and_leaves_out_the_others():
    assert allowed(parse_rules(near=["price=10"])) == ["q", "a", "b"]  # 18..22: 21.5 and 19,00
    assert allowed(parse_rules(near=["price=0"])) == ["q"]
    assert allowed(parse_rules(near=["price=10"]), query="d") == IDS  # a query without a price is not limited
    assert allowed(parse_rules(near=["price=10"]), query="e") == IDS


def test_one_per_keeps_the_best_of_each_value_none_of_the_querys_and_every_empty_one():
    made = columns(parse_rules(one_per=["group"]))
    rows = [IDS.index(i) for i in ["a", "b", "c", "d", "e"]]  # best first
    kept = made.one_per_pass({"group": "g1"}, rows)
    assert [IDS[r] for r in kept] == ["b", "d", "e"]  # a shares the query's g1; c is b's g2; empty are distinct
    assert [IDS[r] for r in made.one_per_pass({}, rows)] == ["a", "b", "d", "e"]


def test_with_filters_adds_the_older_filter_argument():
    rules = Rules.with_filters(parse_rules(same=["group"]), {"colour": ["red"]})
    assert rules.filters == {"colour": ("red",)} and rules.same == ("group",)
    assert Rules.with_filters(None, None) is None
