"""CSV written for spreadsheets: cells that a spreadsheet would run as a formula are neutralised (OWASP)."""

from __future__ import annotations

import csv
from typing import Any, TextIO

# OWASP "CSV injection": a cell starting with one of these is read as a formula (or, for tab and CR, can
# hide one after leading whitespace) by Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet should see it: text that starts like a formula gets a leading single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unquote_cell(text: str) -> str:
    """Undo `safe_cell` on a value read back from one of our exports (re-importing an export works)."""
    if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


class SafeWriter:
    """csv.writer that quotes every field and neutralises every cell; use it for every CSV the app writes."""

    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.writer(stream, quoting=csv.QUOTE_ALL)

    def writerow(self, row: list[Any]) -> None:
        self._writer.writerow([safe_cell(v) for v in row])
