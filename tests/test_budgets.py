import pytest
from hypothesis import given
from hypothesis import strategies as st

from aihfbench.budgets import check_budget, format_budget, parse_budget
from aihfbench.errors import BudgetError


@pytest.mark.parametrize("text,n", [("10k", 10_000), ("1.5k", 1_500), ("20000", 20_000), ("1m", 1_000_000),
                                    ("2K", 2_000), ("245k", 245_000), (" 7 ", 7), ("0", 0), (".5k", 500), (12, 12)])
def test_examples(text, n):
    assert parse_budget(text) == n


@pytest.mark.parametrize("text", ["", "k", "ten", "-5", "1e3", "1.5", "1.2345k", "10kk", "1g", "1,000"])
def test_malformed_or_fractional_budgets_are_refused(text):
    with pytest.raises(BudgetError, match="budget|whole"):
        parse_budget(text, what="budget")


@given(st.integers(min_value=0, max_value=10**9))
def test_format_then_parse_is_identity(n):
    assert parse_budget(format_budget(n)) == n


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["k", "K", "m", "M", ""]))
def test_suffixes_scale_exactly(n, suffix):
    scale = {"k": 1_000, "m": 1_000_000, "": 1}[suffix.lower()]
    assert parse_budget(f"{n}{suffix}") == n * scale


@given(st.integers(min_value=0, max_value=999), st.integers(min_value=1, max_value=9))
def test_one_decimal_thousands(whole, tenth):
    assert parse_budget(f"{whole}.{tenth}k") == whole * 1000 + tenth * 100


def test_check_budget_names_the_maximum():
    assert check_budget(5, 10, what="demos", unit="transitions", task_id="X-aihf-v0") == 5
    with pytest.raises(BudgetError, match=r"X-aihf-v0 has 2,000 transitions \(2k\).*<= 2k"):
        check_budget(3000, 2000, what="demos", unit="transitions", task_id="X-aihf-v0")
