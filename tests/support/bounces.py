"""Bounce reports as mail servers write them: a DSN (RFC 3464) or an ARF complaint (RFC 5965), made from the
files in tests/data/bounces with the envelope recipient, the address the body names and the Message-ID of
the enclosed original filled in."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "bounces"
KINDS = {
    "hard": {"name": "dsn_hard.eml", "status": "5.1.1", "code": 550},
    "soft": {"name": "dsn_hard.eml", "status": "4.2.2", "code": 452},
    "complaint": {"name": "arf_complaint.eml", "status": "", "code": ""},
}


def report(kind: str, *, rcpt: str, final: str = "ann@example.com", message_id: str = "<4F2A9C.1@mx.example.net>"
           ) -> bytes:
    spec = KINDS[kind]
    text = (DATA / spec["name"]).read_text().format(rcpt=rcpt, final=final, status=spec["status"],
                                                    code=spec["code"], message_id=message_id)
    return text.replace("\n", "\r\n").encode()
