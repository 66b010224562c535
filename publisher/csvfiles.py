"""CSV as people bring it and as spreadsheets open it. Pure: bytes in, rows out; rows in, text out.

Reading: the encoding is found by its byte-order mark, else UTF-8, else Windows-1252 (Latin-1 files read
the same), and said; what no CSV holds (NUL characters, a field longer than a whole sane file's line) is
refused with its line number, before anything is imported. Writing: a cell a spreadsheet would run as a
formula (it starts with =, +, -, @, a tab or a CR) gets a leading apostrophe, which our import takes off."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from publisher.errors import InvalidInputError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Checked longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
         (codecs.BOM_UTF8, "utf-8", "UTF-8 with a byte-order mark"),
         (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"), (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"))


@dataclass(frozen=True)
class Table:
    encoding: str  # how the bytes were read, in words
    fieldnames: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (line number of the row's last line, cells by column name)


def read_table(data: bytes, name: str) -> Table:
    """Decode and parse a whole CSV file. Raises InvalidInputError (one line, with the line number) for a file
    that is no CSV text."""
    text, encoding = decode(data, name)
    nul = text.find("\x00")
    if nul >= 0:
        raise InvalidInputError(f"{name}: line {_line_of(text, nul)} contains a NUL character: this is no CSV text "
                                "(a spreadsheet's own format, or UTF-16 without a byte-order mark?); "
                                "save it as CSV UTF-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows: list[tuple[int, dict[str, str]]] = []
    start = 1  # the line the row being read starts on
    try:
        fieldnames = list(reader.fieldnames or [])
        start = reader.line_num + 1
        for row in reader:
            # Cells beyond the named columns (key None) are dropped; missing ones are empty.
            rows.append((reader.line_num, {k: restore(v or "") for k, v in row.items() if isinstance(k, str)}))
            start = reader.line_num + 1
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise InvalidInputError(f"{name}: line {start}: a field is longer than {csv.field_size_limit():,} "
                                    "characters (an unclosed quote?)") from None
        raise InvalidInputError(f"{name}: line {start}: {exc}") from None
    return Table(encoding, [restore(f) for f in fieldnames], rows)


def decode(data: bytes, name: str) -> tuple[str, str]:
    """(text, how it was read)."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec), label
            except UnicodeDecodeError as exc:
                raise InvalidInputError(f"{name}: starts with the byte-order mark of {label} but is not valid "
                                        f"{label} (byte {exc.start + len(bom)}): save it as CSV UTF-8") from None
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252 (Latin-1), as it is not valid UTF-8"
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInputError(f"{name}: line {line} is neither UTF-8 nor Windows-1252 text "
                                f"(byte 0x{data[exc.start]:02x}): save it as CSV UTF-8") from None


def write_rows(out: TextIO, rows: Iterable[Iterable[str]]) -> None:
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([neutralise(value) for value in row])


def neutralise(value: str) -> str:
    """A cell no spreadsheet runs as a formula. An apostrophe already leading a formula gets another one, so
    restore() gives back exactly what was written."""
    return "'" + value if _needs_apostrophe(value) else value


def restore(value: str) -> str:
    return value[1:] if value.startswith("'") and _needs_apostrophe(value[1:]) else value


def _needs_apostrophe(value: str) -> bool:
    stripped = value.lstrip("'")
    return stripped.startswith(FORMULA_STARTS)


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1
