"""Use case: the next digest of a list exactly as it will be sent (subject, HTML, text, the whole message),
for a sample reader or one real address (a test send), and what mail clients will not show of it (lint).
Writes nothing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from email.utils import parseaddr

from sqlalchemy.orm import Session

from publisher.compose.message import Recipient, personalize, prepare
from publisher.config import Settings
from publisher.services import digests as digest_service
from publisher.services.lists import get_list
from publisher.services.identity import identity_of
from publisher.services.messages import _signer, from_value, list_id_for, sender_domain

SAMPLE_ADDRESS = "preview@example.com"


@dataclass(frozen=True)
class DigestPreview:
    list_name: str
    subject: str
    html: str
    text: str
    eml: bytes  # the complete message (DKIM-signed when DKIM is configured)
    post_count: int
    only_old_posts: bool  # nothing is new: the preview shows the list's latest posts instead
    envelope_from: str
    message_id: str
    html_bytes: int = 0  # the digest's HTML as stored (placeholders in), what the budget is measured on
    excerpts: int = 0  # later posts made excerpts to stay under PUBLISHER_HTML_BUDGET_KB


def preview_for(session: Session, settings: Settings, *, list_name: str, to: str | None = None,
                subject_prefix: str = "") -> DigestPreview:
    """The list's next digest as `to` (default: a sample reader whose links go nowhere) will get it.
    NotFoundError for an unknown list."""
    mailing_list = get_list(session, list_name)
    result = digest_service.preview_digest(session, settings, mailing_list)
    rendered = replace(result.rendered, subject=subject_prefix + result.rendered.subject)
    sender = from_value(settings, mailing_list)
    domain = sender_domain(sender)
    base = settings.base_url.rstrip("/")
    recipient = Recipient(email=to or SAMPLE_ADDRESS, name=None if to else "Preview",
                          unsubscribe_url=f"{base}/unsubscribe/preview",
                          unsubscribe_mailto=f"mailto:unsubscribe@{domain}?subject=unsubscribe",
                          preferences_url=f"{base}/preferences/preview",
                          message_id=f"<preview.{_slug(list_name)}@{domain}>")
    personal = personalize(rendered, recipient)
    signer = _signer(settings) if to else None
    eml = prepare(rendered, sender=sender, list_id=list_id_for(mailing_list, domain), signer=signer,
                  sender_name=identity_of(session, mailing_list).title).build(recipient)
    return DigestPreview(list_name=mailing_list.name, subject=personal.subject, html=personal.html,
                         text=personal.text, eml=eml, post_count=result.post_count,
                         only_old_posts=result.only_old_posts, envelope_from=parseaddr(sender)[1],
                         message_id=recipient.message_id, html_bytes=rendered.html_bytes,
                         excerpts=rendered.excerpts)


def lint_preview(preview: DigestPreview) -> list:
    """caniemail findings (compose.lint.Finding) for the preview's HTML."""
    from publisher.compose.lint import lint_html

    return lint_html(preview.html)


def html_size(preview: DigestPreview, settings: Settings):
    """The digest's HTML size against PUBLISHER_HTML_BUDGET_KB (compose.lint.HtmlSize)."""
    from publisher.compose.lint import HtmlSize

    return HtmlSize(preview.html_bytes, settings.html_budget_bytes, preview.post_count, preview.excerpts)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "list"
