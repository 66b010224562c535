"""Reading what comes back to the bounce address: delivery status notifications (RFC 3464) and abuse
complaints in the Abuse Reporting Format (RFC 5965). Pure: bytes in, a Report out."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.utils import parseaddr

HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"
_STATUS_RE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Failure:
    recipient: str | None  # Final-Recipient (or Original-Recipient) address
    kind: str              # hard | soft | complaint
    status: str | None     # e.g. 5.1.1
    diagnostic: str | None


@dataclass(frozen=True)
class Report:
    failures: list[Failure] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.failures


def parse_report(data: bytes) -> Report:
    """The failures a message reports; an empty Report for anything else (an auto-reply, spam ...)."""
    message = email.message_from_bytes(data, policy=policy.compat32)
    if message.get_content_type() != "multipart/report":
        return Report()
    report_type = (message.get_param("report-type") or "").lower()
    if report_type == "feedback-report":
        return Report([_complaint(message)])
    if report_type == "delivery-status":
        return Report(_dsn_failures(message))
    return Report()


def _dsn_failures(message: Message) -> list[Failure]:
    part = _part(message, "message/delivery-status")
    if part is None:
        return []
    failures = []
    # The per-recipient groups follow the per-message group; the stdlib parses each group as a "message".
    for group in _groups(part)[1:]:
        action = (group.get("Action") or "").strip().lower()
        status = _status(group.get("Status"))
        if action not in ("failed", "delayed") and not (status or "").startswith(("4", "5")):
            continue  # delivered, relayed, expanded: not a failure
        kind = HARD if (status or "").startswith("5") and action == "failed" else SOFT
        recipient = _address(group.get("Final-Recipient") or group.get("Original-Recipient"))
        failures.append(Failure(recipient, kind, status, _clean(group.get("Diagnostic-Code"))))
    return failures


def _groups(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload
    # Some generators put the groups as raw text: split on blank lines ourselves.
    text = payload if isinstance(payload, str) else ""
    blocks = [b for b in re.split(r"\r?\n\s*\r?\n", text.strip()) if b.strip()]
    return [email.message_from_string(block, policy=policy.compat32) for block in blocks]


def _complaint(message: Message) -> Failure:
    part = _part(message, "message/feedback-report")
    fields = _groups(part)[0] if part is not None and _groups(part) else Message()
    recipient = _address(fields.get("Original-Rcpt-To"))
    if recipient is None:
        original = _part(message, "message/rfc822") or _part(message, "text/rfc822-headers")
        if original is not None:
            inner = original.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else original
            recipient = _address(inner.get("To") if isinstance(inner, Message) else None)
    return Failure(recipient, COMPLAINT, None, _clean(fields.get("Feedback-Type")))


def _part(message: Message, content_type: str) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == content_type:
            return part
    return None


def _status(value: str | None) -> str | None:
    match = _STATUS_RE.search(value or "")
    return match.group(0) if match else None


def _address(value: str | None) -> str | None:
    """'rfc822; someone@example.com' -> 'someone@example.com'."""
    if not value:
        return None
    address = parseaddr(value.split(";", 1)[-1].strip())[1]
    return address.lower() if "@" in address else None


def _clean(value: str | None) -> str | None:
    return " ".join(value.split())[:1000] if value else None
