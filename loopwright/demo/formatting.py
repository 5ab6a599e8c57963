"""How the demo writes a figure for reading: one place, so the report, the phases' summaries and the console agree."""

from __future__ import annotations

import math
from typing import Any


def finite(value: Any) -> float | None:
    """`value` as a float when it is a finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _significant(num: float, digits: int) -> str:
    """`num` with `digits` significant digits, never in scientific notation (0.000123, not 1.23e-04)."""
    if num == 0:
        return "0"
    decimals = max(digits - 1 - math.floor(math.log10(abs(num))), 0)
    return f"{num:,.{decimals}f}"


def format_value(value: Any, unit: str = "") -> str:
    """A table value for reading: `unit` is "%" (a 0-1 fraction), "ms", "$", "s" or "" (a plain number)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    num = finite(value)
    if num is None:
        return str(value)
    if unit == "%":
        return f"{num * 100:.1f}%"
    if unit == "ms":
        return f"{num:,.1f} ms"
    if unit == "s":
        return f"{num:,.3f} s" if abs(num) < 10 else f"{num:,.1f} s"
    if unit == "$":
        return f"${num:,.2f}" if abs(num) >= 1 else f"${_significant(num, 3)}"
    plain = f"{int(num):,}" if num.is_integer() else _significant(num, 4).rstrip("0").rstrip(".")
    return f"{plain} {unit}" if unit else plain


def percent(value: Any) -> str:
    """A 0-1 fraction as a percentage, "—" when there is none."""
    return format_value(value, "%")
