"""From a ledger row to the bytes of its message: everything per digest is prepared once, per row only the
personal parts (name, signed links, Message-ID, return path) are made."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from publisher.compose.message import Prepared, Recipient, prepare
from publisher.compose.render import RenderedDigest
from publisher.compose.verp import message_id, verp_address
from publisher.config import Settings
from publisher.models import Delivery, Digest, MailingList
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
    def for_digest(cls, settings: Settings, digest: Digest, mailing_list: MailingList) -> DigestMailing:
        sender = mailing_list.sender or settings.sender
        domain = sender_domain(sender)
        rendered = RenderedDigest(subject=digest.subject, html=digest.html, text=digest.text)
        return cls(settings=settings, secret_key=settings.resolved_secret_key(), list_id=mailing_list.id,
                   sender_address=parseaddr(sender)[1], domain=domain,
                   prepared=prepare(rendered, sender=sender, list_id=list_id_for(mailing_list, domain),
                                    signer=_signer(settings)))

    def message_for(self, row: Delivery) -> bytes:
        return self.prepared.build(self.recipient(row))

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
