"""Freezing an audience in the database (INSERT ... SELECT): the right people get a ledger row, the suppressed
have their watermark moved but no row, a composer that lost the race leaves no digest behind; the fan-out's
batch boundaries come from the database. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from publisher.models import Delivery, Digest, Subscription, Suppression
from publisher.models.suppression import address_hash
from publisher.models.base import utcnow
from publisher.services.delivery import batch_plan
from publisher.services.digests import SEND_NOW, compose_digest, compose_edition
from publisher.services.subscribers import subscribe
from publisher.store import ledger
from tests.support.consent import add_post, make_list


def _list_with(db, emails: list[str], *, posts: int = 2):
    mailing_list = make_list(db, name="news")
    for email in emails:
        subscribe(db, mailing_list, email=email, confirmed=True)
    for n in range(posts):
        add_post(db, mailing_list, f"Post {n}", at=utcnow() - timedelta(minutes=10 - n))
    db.commit()
    return mailing_list


def test_the_audience_is_frozen_without_the_suppressed_and_all_watermarks_move(db, consent_settings):
    emails = [f"reader{n}@example.com" for n in range(7)]
    mailing_list = _list_with(db, emails)
    # Suppressed while still confirmed (as a row written beside the subscription, without ending it, leaves it).
    db.add(Suppression(email_hash=address_hash(emails[2]), email=emails[2], reason="hard_bounce"))
    subscribe(db, mailing_list, email="pending@example.com")  # not confirmed: not in the audience
    db.commit()

    digest = compose_digest(db, consent_settings, mailing_list)
    db.commit()
    rows = db.scalars(select(Delivery.email).where(Delivery.digest_id == digest.id).order_by(Delivery.id)).all()
    assert sorted(rows) == sorted(set(emails) - {emails[2]}) and digest.recipient_count == 6
    marks = db.scalars(select(Subscription.seen_until).where(Subscription.list_id == mailing_list.id,
                                                             Subscription.status == "confirmed")).all()
    assert len(marks) == 7 and all(mark == digest.cutoff_at for mark in marks)  # the suppressed one too

    # Nothing new for anyone now: a second composer (a race lost, or a second click) makes no digest at all.
    assert compose_edition(db, consent_settings, mailing_list, edition=SEND_NOW, now=utcnow()) == []
    db.commit()
    assert db.scalar(select(func.count()).select_from(Digest)) == 1


def test_subscribers_at_different_watermarks_get_one_digest_each(db, consent_settings):
    mailing_list = _list_with(db, ["early@example.com", "late@example.com"], posts=1)
    first = compose_digest(db, consent_settings, mailing_list)
    db.commit()
    subscribe(db, mailing_list, email="newcomer@example.com", confirmed=True)
    add_post(db, mailing_list, "Post after the first digest", at=utcnow())
    db.commit()

    digests = compose_edition(db, consent_settings, mailing_list, edition=SEND_NOW, now=utcnow())
    db.commit()
    audiences = {d.post_count: set(db.scalars(select(Delivery.email).where(Delivery.digest_id == d.id)))
                 for d in digests}
    assert first.recipient_count == 2
    # The two who had the first digest get the one new post; the newcomer starts after the list's last digest.
    assert audiences == {1: {"early@example.com", "late@example.com", "newcomer@example.com"}}


def test_batches_start_where_the_database_numbers_them(db, consent_settings):
    emails = [f"reader{n:03d}@example.com" for n in range(45)]
    mailing_list = _list_with(db, emails, posts=1)
    digest = compose_digest(db, consent_settings, mailing_list)
    db.commit()
    ids = db.scalars(select(Delivery.id).where(Delivery.digest_id == digest.id).order_by(Delivery.id)).all()
    settings = consent_settings.model_copy(update={"batch_size": 20})
    assert batch_plan(db, settings, digest.id) == [0, ids[19], ids[39]]  # 20 + 20 + 5
    assert batch_plan(db, consent_settings.model_copy(update={"batch_size": 45}), digest.id) == [0]
    assert batch_plan(db, consent_settings.model_copy(update={"batch_size": 15}), digest.id) == [0, ids[14], ids[29]]
    assert ledger.has_unsettled(db, digest.id)
    db.execute(Delivery.__table__.update().where(Delivery.id.in_(ids[:44])).values(status="sent"))
    assert batch_plan(db, settings, digest.id) == [0] and ledger.has_unsettled(db, digest.id)
    db.execute(Delivery.__table__.update().values(status="sent"))
    assert batch_plan(db, settings, digest.id) == [] and not ledger.has_unsettled(db, digest.id)
