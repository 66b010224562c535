"""Public sign-up with double opt-in: the form and the JSON API both come here, so every limit holds for both.

Abuse is met with silence, not errors that reveal anything: a bot filling the honeypot, a suppressed address
or an address that already had its confirmation mail today all see the same "check your inbox" answer.
Only the per-IP limit answers 429, since the caller already knows its own IP."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.deliver.mailer import Mailer, open_mailer
from publisher.errors import NotFoundError, RateLimitedError
from publisher.models import MailingList, Subscription, SubscriptionStatus
from publisher.models.base import utcnow
from publisher.services import links, ratelimit
from publisher.services.subscribers import (
    SuppressedAddressError,
    clean_name,
    confirm,
    normalize_email,
    subscribe,
)
from publisher.tokens import (
    CONFIRM,
    SubscriptionRef,
    make_expiring_token,
    read_expiring_token,
)


class Outcome(enum.StrEnum):
    MAIL_SENT = "mail_sent"           # a confirmation mail went out
    QUIET = "quiet"                   # accepted, no mail (limit reached, suppressed, already confirmed, bot)


@dataclass(frozen=True)
class SignupResult:
    outcome: Outcome
    subscription_id: int | None = None


def request_signup(session: Session, settings: Settings, mailing_list: MailingList, *, email: str,
                   name: str | None, ip: str, honeypot: str = "", source: str = "form",
                   mailer: Mailer | None = None, now: datetime | None = None) -> SignupResult:
    """Record a pending subscription and send its confirmation mail, within the limits. Raises
    InvalidInputError for a bad address or name, RateLimitedError past the per-IP limit, DeliveryError when
    the mail could not go; a request that fails leaves no counted action behind.

    A sign-up changes nothing about a person we already know (their name, a confirmed or ended
    subscription): anyone can type anyone's address. The name given travels in the confirmation link and
    is only taken when the mailbox owner follows it."""
    now = now or utcnow()
    if honeypot.strip():
        return SignupResult(Outcome.QUIET)  # a bot: pretend, store nothing
    address, name = normalize_email(email), clean_name(name)
    key = ratelimit.network(ip)
    if ratelimit.count_recent(session, ratelimit.SIGNUP_PER_IP, key, window=timedelta(hours=1),
                              now=now) >= settings.signup_limit_per_ip_hour:
        raise RateLimitedError("too many sign-ups from your network in the last hour: please try again later")
    counted = [ratelimit.record(session, ratelimit.SIGNUP_PER_IP, key, now=now).id]
    try:
        return _request(session, settings, mailing_list, address=address, name=name, ip=ip, source=source,
                        mailer=mailer, now=now, counted=counted)
    except BaseException:
        session.rollback()
        ratelimit.discard(session, counted)
        session.commit()
        raise


def _request(session: Session, settings: Settings, mailing_list: MailingList, *, address: str, name: str | None,
             ip: str, source: str, mailer: Mailer | None, now: datetime, counted: list[int]) -> SignupResult:
    try:
        subscription = subscribe(session, mailing_list, email=address, source=source, consent_at=now,
                                 consent_ip=ip)
    except SuppressedAddressError:
        session.commit()  # the sign-up still counts against the IP
        return SignupResult(Outcome.QUIET)
    session.commit()
    if subscription.status == SubscriptionStatus.CONFIRMED:
        return SignupResult(Outcome.QUIET, subscription.id)
    # Pending, or ended: asking again is allowed, and nothing changes until the new link is followed.
    sent = _send_confirmation(session, settings, mailing_list, subscription, name=name, mailer=mailer, now=now,
                              counted=counted)
    return SignupResult(Outcome.MAIL_SENT if sent else Outcome.QUIET, subscription.id)


def _send_confirmation(session, settings: Settings, mailing_list: MailingList, subscription: Subscription, *,
                       name: str | None, mailer: Mailer | None, now: datetime, counted: list[int]) -> bool:
    """At most confirm_mail_limit_per_day mails per mailbox (victim+1@x and victim+2@x are one): the event
    is committed before the mail goes, so two racing requests cannot both pass."""
    address = subscription.subscriber.email
    key = ratelimit.mailbox(address)
    if ratelimit.count_recent(session, ratelimit.CONFIRM_MAIL, key, window=timedelta(hours=24),
                              now=now) >= settings.confirm_mail_limit_per_day:
        return False
    counted.append(ratelimit.record(session, ratelimit.CONFIRM_MAIL, key, now=now).id)
    session.commit()
    message, message_id = confirmation_message(settings, mailing_list, subscription, name=name)
    own_mailer = mailer is None
    mailer = mailer or open_mailer(settings)
    try:
        mailer.send(envelope_from=parseaddr(mailing_list.sender or settings.sender)[1], recipient=address,
                    message=message, message_id=message_id)
    finally:
        if own_mailer:
            mailer.close()
    return True


def confirmation_message(settings: Settings, mailing_list: MailingList, subscription: Subscription, *,
                         name: str | None = None) -> tuple[bytes, str]:
    ref = SubscriptionRef(subscriber_id=subscription.subscriber_id, list_id=mailing_list.id)
    token = make_expiring_token(settings.resolved_secret_key(), CONFIRM, ref, email=subscription.subscriber.email,
                                name=name)
    env = Environment(loader=FileSystemLoader(settings.resolved_templates_dir() / "email" / "confirm"),
                      undefined=StrictUndefined, keep_trailing_newline=True)
    context = {"list_name": mailing_list.name, "name": name or subscription.subscriber.name,
               "confirm_url": f"{settings.base_url.rstrip('/')}/confirm/{token}",
               "hours": int(settings.confirm_token_hours), "postal_address": settings.postal_address}
    sender = mailing_list.sender or settings.sender
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = subscription.subscriber.email
    msg["Subject"] = env.get_template("subject.txt").render(context).strip()
    msg["Date"] = format_datetime(utcnow())
    message_id = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or "localhost")
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(env.get_template("body.txt").render(context))
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")), message_id


def confirm_signup(session: Session, settings: Settings, token: str, *, ip: str | None = None) -> Subscription:
    """Follow a confirmation link (the mailbox owner's click: the consent). Raises InvalidInputError
    (tampered), ExpiredTokenError (too old), NotFoundError (the subscriber was removed since)."""
    key = settings.resolved_secret_key()
    ref = read_expiring_token(key, CONFIRM, token, max_age_seconds=settings.confirm_token_hours * 3600)
    subscription = links.subscription(session, key, ref)
    if subscription.status == SubscriptionStatus.CONFIRMED:
        return subscription
    if subscription.status == SubscriptionStatus.UNSUBSCRIBED:  # coming back: this click is the new consent
        subscription.consent_at, subscription.consent_ip = utcnow(), ip or subscription.consent_ip
    if ref.name and not subscription.subscriber.name:
        subscription.subscriber.name = clean_name(ref.name)
    confirm(session, subscription)
    return subscription


def get_list_by_name(session: Session, name: str) -> MailingList:
    mailing_list = session.query(MailingList).filter_by(name=name).one_or_none()
    if mailing_list is None or mailing_list.paused:
        raise NotFoundError(f"there is no list called {name!r}")
    return mailing_list
