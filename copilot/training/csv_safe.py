"""CSV cells that a spreadsheet will not run as formulas (CSV / formula injection).

Exports hold text that users or documents chose: a user name, a title from front matter or an
upload's first heading. Excel and LibreOffice treat a cell starting with = + - @ (or a tab or
carriage return before one) as a formula, which can fetch URLs or start programs. A leading
single quote makes such a cell plain text in both; the value stays readable.
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_row(values: Iterable[object]) -> list[str]:
    return [csv_cell(v) for v in values]


__all__ = ["FORMULA_STARTS", "csv_cell", "csv_row"]
