"""From a ledger row to the bytes of its message: everything per digest is prepared once, per row only the
personal parts (name, signed links, Message-ID, return path) are made. A transactional mail (a confirmation,
a test send) goes through the same prepare -> build -> sign, from its own row in the `mails` ledger."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import quote

from sqlalchemy.orm import Session

from publisher.compose.message import Assembled, Prepared, Recipient, prepare
from publisher.compose.render import RenderedDigest
from publisher.compose.verp import mail_message_id, mail_verp_address, message_id, verp_address
from publisher.config import Settings
from publisher.models import Delivery, Digest, Mail, MailingList
from publisher.services.identity import identity_of
from publisher.tokens import UNSUBSCRIBE, SubscriptionRef, make_token


@dataclass(frozen=True)
class DigestMailing:
    settings: Settings
    secret_key: str
    list_id: int
    sender_address: str
    domain: str
    prepared: Prepared

    @classmethod
    def for_digest(cls, session: Session, settings: Settings, digest: Digest, mailing_list: MailingList
                   ) -> DigestMailing:
        sender = from_value(settings, mailing_list)
        domain = sender_domain(sender)
        rendered = RenderedDigest(subject=digest.subject, html=digest.html, text=digest.text)
        return cls(settings=settings, secret_key=settings.resolved_secret_key(), list_id=mailing_list.id,
                   sender_address=parseaddr(sender)[1], domain=domain,
                   prepared=_prepared_digest(rendered, sender, list_id_for(mailing_list, domain), _signer(settings),
                                             identity_of(session, mailing_list).title))

    def message_for(self, row: Delivery) -> bytes:
        return self.prepared.build(self.recipient(row))

    def assembled_for(self, row: Delivery) -> Assembled:
        """The row's message, to be signed by `.signed()`."""
        return self.prepared.assemble(self.recipient(row))

    def recipient(self, row: Delivery) -> Recipient:
        token = make_token(self.secret_key, UNSUBSCRIBE, SubscriptionRef(row.subscriber_id, self.list_id),
                           email=row.email)
        base = self.settings.base_url.rstrip("/")
        return Recipient(
            email=row.email, name=row.name,
            unsubscribe_url=f"{base}/unsubscribe/{token}",
            unsubscribe_mailto=f"mailto:unsubscribe@{self.domain}?subject=unsubscribe%20{token}",
            preferences_url=f"{base}/preferences/{token}",
            message_id=self.message_id(row),
        )

    def message_id(self, row: Delivery) -> str:
        # Stable per digest x subscriber: a retry carries the same id, so receivers can drop a duplicate.
        # Signed: a complaint enclosing our message proves by it whose message it was.
        return message_id(self.secret_key, digest_id=row.digest_id, subscriber_id=row.subscriber_id,
                          domain=self.domain)

    def return_path(self, row: Delivery) -> str:
        """VERP when a bounce domain is set: the bounce itself says which delivery failed."""
        if not self.settings.bounce_domain:
            return self.sender_address
        return verp_address(self.secret_key, digest_id=row.digest_id, subscriber_id=row.subscriber_id,
                            domain=self.settings.bounce_domain)


@dataclass(frozen=True)
class MailMessage:
    """One transactional mail, ready for the Mailer."""

    message: bytes
    message_id: str
    return_path: str


# Headers by kind. A confirmation is no list mail (nobody is subscribed yet): no List-Id, no List-Unsubscribe,
# and Auto-Submitted (RFC 3834) so auto-responders stay quiet. A test send of a digest carries the list's
# List-Id; its reader is not subscribed, so it offers no one-click unsubscribe either.
CONFIRM, TEST = "confirm", "test"
_AUTO = (("Auto-Submitted", "auto-generated"),)


def mail_message(session: Session, settings: Settings, row: Mail, mailing_list: MailingList | None
                 ) -> MailMessage:
    """Prepare, build and sign one transactional mail (raises InvalidInputError/ValueError on bad data). A
    list's mail comes from the blog, by its title, as its digests do."""
    sender = from_value(settings, mailing_list) if mailing_list else settings.sender
    sender_name = identity_of(session, mailing_list).title if mailing_list else None
    domain, secret_key = sender_domain(sender), settings.resolved_secret_key()
    list_id = list_id_for(mailing_list, domain) if mailing_list and row.kind != CONFIRM else None
    rendered = RenderedDigest(subject=row.subject, html=row.html, text=row.text)
    prepared = prepare(rendered, sender=sender, list_id=list_id, signer=_signer(settings), one_click=False,
                       extra_headers=_AUTO if row.kind == CONFIRM else (), sender_name=sender_name)
    msgid = mail_message_id(secret_key, mail_id=row.id, domain=domain)
    # A test has no subscription to manage: its footer links lead to the list's sign-up page.
    page = f"{settings.base_url.rstrip('/')}/subscribe/{quote(mailing_list.name)}" if mailing_list else ""
    recipient = Recipient(email=row.email, name=row.name, unsubscribe_url=page, unsubscribe_mailto="",
                          preferences_url=page, message_id=msgid)
    return_path = (mail_verp_address(secret_key, mail_id=row.id, domain=settings.bounce_domain)
                   if settings.bounce_domain else parseaddr(sender)[1])
    return MailMessage(prepared.build(recipient), msgid, return_path)


@functools.lru_cache(maxsize=4)
def _prepared_digest(rendered: RenderedDigest, sender: str, list_id: str, signer, sender_name: str | None
                     ) -> Prepared:
    """A digest's batches run one after another in the same worker processes: its ~80 KB are encoded once
    per process, not once per batch. Keyed by everything the encoding reads, so a list whose sender or name
    an editor changes mid-send gets the new one from its next batch on."""
    return prepare(rendered, sender=sender, list_id=list_id, signer=signer, sender_name=sender_name)


def from_value(settings: Settings, mailing_list: MailingList) -> str:
    """The list's own --from as given (its display name is the editor's choice); else the address of
    PUBLISHER_FROM alone, so the blog's title becomes the display name (not "Publisher")."""
    if mailing_list.sender:
        return mailing_list.sender
    return parseaddr(settings.sender)[1]


def list_id_for(mailing_list: MailingList, domain: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in mailing_list.name.lower()).strip("-") or "list"
    return f"{slug}.{domain}"


def sender_domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"


def _signer(settings: Settings):
    """The DKIM signer when selector, domain and key are all configured."""
    if not (settings.dkim_selector and settings.dkim_domain and settings.dkim_key_file):
        return None
    from publisher.compose.dkim import load_signer

    return load_signer(settings)
