"""Data budgets: ``10k``, ``1.5k``, ``20000``, ``1m`` -> exact integer counts.

Demonstrations and preferences are nested prefixes of one fixed order, so a
budget is just "the first n items"; ``check_budget`` refuses more than a task has.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .errors import BudgetError

_SUFFIX = {"": 1, "k": 1_000, "m": 1_000_000}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kKmM]?)\s*$")


def parse_budget(text: str | int, *, what: str = "budget") -> int:
    """Parse a human budget into an exact count.

    >>> parse_budget("10k"), parse_budget("1.5k"), parse_budget("20000"), parse_budget("1m")
    (10000, 1500, 20000, 1000000)

    Fractions must resolve to whole items (``1.2345k`` is refused, not rounded).
    """
    if isinstance(text, bool):
        raise BudgetError(f"{what} must be a count such as 10k, 1.5k or 20000, not {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise BudgetError(f"{what} must be >= 0, got {text}")
        return text
    match = _PATTERN.match(str(text))
    if not match:
        raise BudgetError(
            f"{what} {text!r} is not a count: write it like 500, 10k, 1.5k or 1m"
        )
    number, suffix = match.groups()
    try:
        value = Decimal(number) * _SUFFIX[suffix.lower()]
    except InvalidOperation:  # pragma: no cover - regex already guards this
        raise BudgetError(f"{what} {text!r} is not a number") from None
    if value != value.to_integral_value():
        raise BudgetError(
            f"{what} {text!r} is {value.normalize():f} items, not a whole number: use e.g. "
            f"{int(value)} or {int(value) + 1}"
        )
    return int(value)


def format_budget(n: int) -> str:
    """Shortest exact spelling: 10000 -> '10k', 1500 -> '1.5k', 123 -> '123'."""
    for suffix, scale in (("m", 1_000_000), ("k", 1_000)):
        if n >= scale:
            text = f"{Decimal(n) / scale:f}".rstrip("0").rstrip(".") if n % scale else str(n // scale)
            if parse_budget(text + suffix) == n and len(text) <= 5:
                return text + suffix
    return str(n)


def check_budget(n: int, available: int, *, what: str, unit: str, task_id: str) -> int:
    """Refuse budgets above what the task's fixed split holds, naming the maximum."""
    if n > available:
        raise BudgetError(
            f"{task_id} has {available:,} {unit} ({format_budget(available)}); "
            f"asked for {what}={format_budget(n)}: use a budget <= {format_budget(available)}"
        )
    return n
