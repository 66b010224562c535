"""Reading what comes back to the bounce address: delivery status notifications (RFC 3464) and abuse
complaints in the Abuse Reporting Format (RFC 5965). Pure: bytes in, a Report out.

A report is a stranger's word: the addresses its body names are kept for logging, never to decide whose
report it is. What may decide is the envelope recipient (a signed VERP address) or the Message-ID of our own
message, which a DSN or an ARF report encloses (message/rfc822 or text/rfc822-headers)."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import HeaderParser
from email.utils import parseaddr

HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"
_SEVERITY = {SOFT: 0, HARD: 1, COMPLAINT: 2}
_STATUS_RE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# Where a report puts (a copy of) the message it is about: RFC 3462/6522, RFC 5965, RFC 6533.
_ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global",
                   "message/global-headers")
_NOT_A_COMPLAINT = {"not-spam"}  # RFC 6650: a reader marking our mail as wanted


@dataclass(frozen=True)
class Failure:
    recipient: str | None  # Final-Recipient (or Original-Recipient) address: for logs only
    kind: str              # hard | soft | complaint
    status: str | None     # e.g. 5.1.1
    diagnostic: str | None


@dataclass(frozen=True)
class Report:
    failures: list[Failure] = field(default_factory=list)
    # Message-ID fields of the enclosed original message, as written (possibly forged).
    original_message_ids: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.failures

    def worst(self) -> Failure:
        """The most severe failure (complaint > hard > soft): one message goes to one recipient, so a report
        about it is acted on once, however many recipient groups it lists."""
        return max(self.failures, key=lambda f: _SEVERITY[f.kind])


def parse_report(data: bytes) -> Report:
    """The failures a message reports; an empty Report for anything else (an auto-reply, spam ...)."""
    message = email.message_from_bytes(data, policy=policy.compat32)
    if message.get_content_type() != "multipart/report":
        return Report()
    report_type = (message.get_param("report-type") or "").lower()
    if report_type == "feedback-report":
        failures = _complaint(message)
    elif report_type == "delivery-status":
        failures = _dsn_failures(message)
    else:
        return Report()
    return Report(failures, _original_message_ids(message))


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


def _complaint(message: Message) -> list[Failure]:
    part = _part(message, "message/feedback-report")
    groups = _groups(part) if part is not None else []
    fields = groups[0] if groups else Message()
    feedback_type = _clean(fields.get("Feedback-Type"))
    if (feedback_type or "").lower() in _NOT_A_COMPLAINT:
        return []
    recipient = _address(fields.get("Original-Rcpt-To"))
    if recipient is None:
        original = _original(message)
        recipient = _address(original.get("To")) if original is not None else None
    return [Failure(recipient, COMPLAINT, None, feedback_type)]


def _original_message_ids(message: Message) -> tuple[str, ...]:
    original = _original(message)
    if original is None:
        return ()
    return tuple(" ".join(str(value).split()) for value in original.get_all("Message-ID") or [])


def _original(message: Message) -> Message | None:
    """The headers of the message the report is about: the first enclosed original among the report's own
    parts (not one nested deeper inside another part)."""
    for part in message.get_payload() if isinstance(message.get_payload(), list) else []:
        if part.get_content_type() not in _ORIGINAL_TYPES:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            return payload[0] if payload else None
        raw = part.get_payload(decode=True) or b""
        return HeaderParser(policy=policy.compat32).parsestr(raw.decode("utf-8", "replace"))
    return None


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
    return " ".join(str(value).split())[:1000] if value else None
