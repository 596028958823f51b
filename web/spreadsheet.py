"""Cells of every export (search CSV, report CSV and Excel) made safe to open in a spreadsheet.

What customers typed must never run as a formula. In CSV, a text cell that a spreadsheet would read as
one (starting with =, +, -, @, a tab or a carriage return) gets a leading apostrophe, which spreadsheets
show as text. In Excel files such a cell is written as a typed text cell, never a formula (openpyxl
would store any text starting with = as one). Phone numbers such as +86 138 0000 0000 or -(10)-5
(digits, spaces, brackets and hyphens only) cannot call anything and stay as they are. Numbers stay
numbers.
"""
from __future__ import annotations

import re

_FORMULA = re.compile(r"^[=@\t\r]|^[+-](?![0-9 ()\-]*$)")


def formula_like(value) -> bool:
    """Would a spreadsheet read this cell as a formula?"""
    return isinstance(value, str) and _FORMULA.match(value) is not None


def safe_cell(value):
    """`value` as a CSV may hold it: text that could run as a formula is prefixed with an apostrophe."""
    return "'" + value if formula_like(value) else value


def safe_row(values) -> list:
    """Every cell of a row made safe (`safe_cell`)."""
    return [safe_cell(v) for v in values]


def sheet_row(sheet, values) -> list:
    """A row for a write-only openpyxl `sheet`: text that could run as a formula is a typed text cell."""
    from openpyxl.cell import WriteOnlyCell

    row = []
    for value in values:
        if formula_like(value):
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"  # stored as text whatever it starts with
            row.append(cell)
        else:
            row.append(value)
    return row
