"""Claims: every category in English, Spanish and Vietnamese (with and without diacritics), normalised so equal
values compare equal, and the words that look like numbers or negations but are not."""

from __future__ import annotations

import pytest

from loopwright.policy.claims import Lexicon, extract_claims, fold, sentence_claims, span_units, support

PRODUCTS = Lexicon.of(["FlexPay 2.0", "FlexPay 1.0", "FlexPay", "Goal Saver", "Larkspur Saver"])


def values(text: str, kind: str) -> list:
    return [c.value for c in extract_claims(text, PRODUCTS) if c.kind == kind]


@pytest.mark.parametrize("text", [
    "The late fee is $15.", "The late fee is $15.00.", "It costs 15 dollars.", "It costs fifteen dollars.",
    "USD 15", "US$15", "Cuesta quince dólares.", "Cuesta 15,00 $.", "Phí là mười lăm đô la.", "Phí là 15 đô.",
    "Phi la muoi lam do la.", "phi 15 do",
])
def test_amounts_in_every_format_are_fifteen_dollars(text):
    assert values(text, "amount") == [15.0]


def test_large_amounts_and_separators():
    assert values("from $100 to $5,000", "amount") == [100.0, 5000.0]
    assert values("5.000 dólares y 10.000 đô", "amount") == [5000.0, 10000.0]
    assert values("$10,000.00 or $2.50", "amount") == [10000.0, 2.5]
    assert values("cinco mil dólares", "amount") == [5000.0]


@pytest.mark.parametrize("text", ["9.9% APR", "9,9 % APR", "9,9%", "9.9 percent", "nine point nine percent",
                                  "9,9 por ciento", "nueve coma nueve por ciento", "9,9 phần trăm",
                                  "chín phẩy chín phần trăm"])
def test_percentages(text):
    assert values(text, "percent") == [9.9]


@pytest.mark.parametrize("text, unit, count", [
    ("two weeks", "day", 14), ("14 days", "day", 14), ("dos semanas", "day", 14), ("hai tuần", "day", 14),
    ("hai tuan", "day", 14), ("24 months", "month", 24), ("two years", "month", 24), ("veinticuatro meses", "month", 24),
    ("hai mươi tư tháng", "month", 24), ("12-month plans", "month", 12), ("10 business days", "business_day", 10),
    ("10 días hábiles", "business_day", 10), ("10 ngày làm việc", "business_day", 10), ("5 calendar days", "day", 5),
])
def test_durations_normalise_units(text, unit, count):
    assert values(text, "duration") == [(unit, float(count))]


def test_coordinated_numbers_take_the_unit_that_follows():
    assert values("Plans of 12 and 24 months", "duration") == [("month", 12.0), ("month", 24.0)]
    assert values("1 to 3 business days", "duration") == [("business_day", 1.0), ("business_day", 3.0)]


@pytest.mark.parametrize("text", ["on or after 2026-09-01", "September 1, 2026", "1 September 2026", "Sept. 1, 2026",
                                  "1 de septiembre de 2026", "ngày 1 tháng 9 năm 2026", "ngay 1 thang 9 nam 2026"])
def test_dates(text):
    assert values(text, "date") == [frozenset({(2026, 9, 1)})]


def test_numeric_dates_keep_both_readings_and_apr_is_not_april():
    assert values("01/09/2026", "date") == [frozenset({(2026, 9, 1), (2026, 1, 9)})]
    assert values("12 meses; APR 9.9% APR", "date") == []


@pytest.mark.parametrize("text, n", [("at most four plans", 4), ("tối đa bốn gói", 4), ("cuatro planes", 4),
                                      ("toi da bon goi", 4), ("3 plans", 3)])
def test_numbers_in_words_and_digits(text, n):
    assert values(text, "number") == [float(n)]


@pytest.mark.parametrize("text", [
    "once a year", "one of our plans", "Nếu trả chậm một kỳ", "Từ ngày hôm nay", "trả sau ngày đến hạn", "un plan",
    "năm nay", "the 3rd installment",
])
def test_words_that_only_look_like_numbers_are_not_claims(text):
    assert [c for c in extract_claims(text, PRODUCTS) if c.kind in ("number", "duration")] == []


def test_one_day_after_a_count_is_per_day():
    assert values("tối đa 2 lần một ngày", "duration") == [] and values("tối đa 2 lần một ngày", "number") == [2.0]


def test_products_longest_match_and_unknown_versions():
    assert values("FlexPay 2.0 replaced FlexPay 1.0", "product") == ["flexpay2", "flexpay1"]
    assert values("flexpay 2 plans", "product") == ["flexpay2"]
    assert values("FlexPay 3.0 is new", "product") == ["flexpay3"]  # not in the lexicon: a versioned CamelCase name
    assert values("a Goal Saver account", "product") == ["goalsaver"]


@pytest.mark.parametrize("text, negated", [
    ("There is no setup fee.", True), ("Setting up a plan is free.", True), ("Setting up a plan is not free.", False),
    ("You won't pay a monthly fee.", True), ("A $15 late fee applies when an installment is not paid.", False),
    ("No se cobra cargo de apertura.", True), ("Sin ningún costo.", True), ("La apertura no es gratis.", False),
    ("Se cobra un cargo de apertura.", False), ("Không tính phí thiết lập.", True), ("Được miễn phí.", True),
    ("Có tính phí thiết lập.", False), ("khong tinh phi", True), ("Fee $0", True),
    ("No more than 2 are charged per day.", False), ("Neither account charges a monthly fee.", True),
    ("The fee for Incoming, domestic is $0.", True), ("The fee for Domestic, outgoing is $25.", False),
])
def test_fee_negation(text, negated):
    assert values(text, "negation") == [negated]


def test_a_sentence_without_a_fee_has_no_negation_claim():
    assert values("Cash advances cannot be split.", "negation") == []


def _supported(answer: str, span: str, *, context: str = "", title: str = "") -> list[bool]:
    units = span_units(span, title=title, context=context, lexicon=PRODUCTS)
    return [support(c, around, units) for c, around in sentence_claims(answer, PRODUCTS, 5)]


FEES = ("| Service | Fee |", ["| Stop payment | $30 |", "| Domestic wire, outgoing | $25 |"])


def test_a_value_must_sit_in_the_row_its_words_point_to():
    header, rows = FEES
    units = [u for row in rows for u in span_units(row, context=f"Fees\n{header}", lexicon=PRODUCTS)]
    ok = sentence_claims("A stop payment costs thirty dollars.", PRODUCTS, 5)
    wrong = sentence_claims("A stop payment costs $25.", PRODUCTS, 5)
    assert all(support(c, a, units) for c, a in ok)
    assert not all(support(c, a, units) for c, a in wrong)  # $25 is in the table, but in the wire row


def test_values_inside_one_sentence_are_told_apart():
    span = "The $5 monthly maintenance fee is waived with a $500 minimum daily balance."
    assert all(_supported("Keep $500 a day and the $5 monthly maintenance fee is waived.", span))
    assert not all(_supported("Keep a $5 minimum daily balance to have the fee waived.", span))  # $5 is the fee


def test_the_span_title_names_its_product_and_its_year():
    assert all(_supported("FlexPay 2.0 charges a $15 late fee.", "A $15 late fee applies.",
                          title="FlexPay 2.0 installment plans"))
    assert not all(_supported("FlexPay 1.0 charges a $15 late fee.", "A $15 late fee applies.",
                              title="FlexPay 2.0 installment plans"))
    assert all(_supported("Labor Day is September 7, 2026.", "| Labor Day | September 7 |",
                          context="2026 holiday schedule\n| Holiday | Date |", title="2026 holiday schedule"))


def test_fold_keeps_offsets_and_reads_vietnamese_alike():
    text = "Phí trả chậm ĐÔ LA"
    assert len(fold(text)) == len(text) and fold(text) == "phi tra cham do la"
