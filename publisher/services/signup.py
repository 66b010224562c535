"""Public sign-up with double opt-in: the form and the JSON API both come here, so every limit holds for both.

Abuse is met with silence, not errors that reveal anything: a bot filling the honeypot, a suppressed address
or an address that already had its confirmation mail today all see the same "check your inbox" answer.
Only the per-IP limit answers 429, since the caller already knows its own IP."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy.orm import Session

from publisher.config import Settings
from publisher.errors import NotFoundError, RateLimitedError
from publisher.models import Mail, MailingList, Subscription, SubscriptionStatus
from publisher.models.base import utcnow
from publisher.services import links, mails, ratelimit
from publisher.services.identity import identity_of
from publisher.services.messages import CONFIRM as CONFIRM_MAIL
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
    MAIL_QUEUED = "mail_queued"       # a confirmation mail is on its way (a worker sends it)
    QUIET = "quiet"                   # accepted, no mail (limit reached, suppressed, already confirmed, bot)


@dataclass(frozen=True)
class SignupResult:
    outcome: Outcome
    subscription_id: int | None = None


def request_signup(session: Session, settings: Settings, mailing_list: MailingList, *, email: str,
                   name: str | None, ip: str, honeypot: str = "", source: str = "form",
                   now: datetime | None = None) -> SignupResult:
    """Record a pending subscription and queue its confirmation mail, within the limits. Raises
    InvalidInputError for a bad address or name, RateLimitedError past the per-IP limit; a request that fails
    leaves no counted action behind. The mail server is not asked here: a worker sends the mail.

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
                        now=now, counted=counted)
    except BaseException:
        session.rollback()
        ratelimit.discard(session, counted)
        session.commit()
        raise


def _request(session: Session, settings: Settings, mailing_list: MailingList, *, address: str, name: str | None,
             ip: str, source: str, now: datetime, counted: list[int]) -> SignupResult:
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
    queued = _queue_confirmation(session, settings, mailing_list, subscription, name=name, now=now,
                                 counted=counted)
    return SignupResult(Outcome.MAIL_QUEUED if queued is not None else Outcome.QUIET, subscription.id)


def _queue_confirmation(session, settings: Settings, mailing_list: MailingList, subscription: Subscription, *,
                        name: str | None, now: datetime, counted: list[int]) -> Mail | None:
    """At most confirm_mail_limit_per_day mails per mailbox (victim+1@x and victim+2@x are one): the event
    is committed with the queued mail, so two racing requests cannot both pass. The mail itself goes from a
    worker (services.mails): a mail server that is slow or down delays it, never this request."""
    address = subscription.subscriber.email
    key = ratelimit.mailbox(address)
    if ratelimit.count_recent(session, ratelimit.CONFIRM_MAIL, key, window=timedelta(hours=24),
                              now=now) >= settings.confirm_mail_limit_per_day:
        return None
    counted.append(ratelimit.record(session, ratelimit.CONFIRM_MAIL, key, now=now).id)
    ref = SubscriptionRef(subscriber_id=subscription.subscriber_id, list_id=mailing_list.id)
    token = make_expiring_token(settings.resolved_secret_key(), CONFIRM, ref, email=address, name=name)
    variables = {"list_name": identity_of(session, mailing_list).title, "base_url": settings.base_url,
                 "confirm_url": f"{settings.base_url.rstrip('/')}/confirm/{token}",
                 "hours": int(settings.confirm_token_hours), "postal_address": settings.postal_address}
    mail = mails.queue_mail(session, settings, kind=CONFIRM_MAIL, template="confirm", variables=variables,
                            email=address, name=name or subscription.subscriber.name, mailing_list=mailing_list,
                            subscriber_id=subscription.subscriber_id)
    session.commit()
    return mail


@dataclass(frozen=True)
class Confirmation:
    """What became of the confirmation mail an editor's addition asks for."""

    mail_id: int | None  # the queued mail (services.mails.state tells how it went); None: not queued
    note: str | None  # why none was queued
    how_else: str  # what the editor can do if the mail does not reach them


def send_confirmation_now(session: Session, settings: Settings, mailing_list: MailingList,
                          subscription: Subscription) -> Confirmation:
    """An editor added someone without --confirmed: they get the same confirmation mail a sign-up sends
    (same daily limit per mailbox, queued and retried the same way)."""
    address, shown = subscription.subscriber.email, mailing_list.name
    how = (f"they can sign up themselves at {settings.base_url.rstrip('/')}/subscribe/{quote(shown, safe='')}, "
           f"or, if they consented already, `publisher subscribers confirm {address} --list {shown}`")
    mail = _queue_confirmation(session, settings, mailing_list, subscription, name=subscription.subscriber.name,
                               now=utcnow(), counted=[])
    if mail is None:
        return Confirmation(None, f"a confirmation mail already went to {address} in the last 24 hours: {how}", how)
    return Confirmation(mail.id, None, how)


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
