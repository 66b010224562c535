"""The delivery engine against a real SMTP server: the ledger moves only after the server answered, each
reply class leads where it must, and an editor's pause, resume and cancel hold."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from publisher.errors import MailerAuthError
from publisher.models import Delivery, DeliveryEvent, Digest, MailingList
from publisher.models.base import utcnow
from publisher.services import controls, delivery, messages
from publisher.services.suppression import is_suppressed
from publisher.store import ledger
from tests.support.ledger import ledger_settings, make_send, open_session
from tests.support.smtp import free_port

PEOPLE = [f"reader{i}@example.com" for i in range(10)]


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request, tmp_path, smtp):
    """The engine's tests run on SQLite and, when PUBLISHER_TEST_DATABASE_URL is set, on PostgreSQL."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return ledger_settings(tmp_path, url, smtp_url=smtp.url, claim_chunk=3)


@pytest.fixture
def session(settings):
    with open_session(settings) as session:
        yield session


def _statuses(session, digest_id) -> dict[str, str]:
    session.expire_all()
    return {d.email: d.status for d in session.scalars(select(Delivery).where(Delivery.digest_id == digest_id))}


def test_a_batch_sends_each_row_once_and_marks_it_sent(session, settings, smtp):
    digest_id = make_send(session, PEOPLE)
    outcome = delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=100)
    assert outcome.sent == 10
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == sorted(PEOPLE)
    assert set(_statuses(session, digest_id).values()) == {"sent"}
    assert session.get(Digest, digest_id).status == "sent"
    # Running the same batch again (a redelivered task) sends nothing more.
    assert delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=100).sent == 0
    assert len(smtp.messages) == 10


def test_every_state_change_is_an_event_with_the_reply(session, settings, smtp):
    digest_id = make_send(session, PEOPLE[:2])
    delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=100)
    events = session.scalars(select(DeliveryEvent).order_by(DeliveryEvent.id)).all()
    assert [e.status for e in events] == ["sending", "sending", "sent", "sent"]
    assert all(e.reply.startswith("250") for e in events if e.status == "sent")


def test_replies_lead_to_retry_failure_suppression_or_unknown(session, settings, smtp):
    smtp.refuse_rcpt(PEOPLE[1], "451 4.7.1 greylisted, try again in 300 seconds")
    smtp.refuse_rcpt(PEOPLE[2], "550 5.1.1 no such user")
    smtp.drop_after_data(PEOPLE[3])
    digest_id = make_send(session, PEOPLE[:5])
    delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=100)
    statuses = _statuses(session, digest_id)
    assert statuses == {PEOPLE[0]: "sent", PEOPLE[1]: "soft_failed", PEOPLE[2]: "hard_failed",
                        PEOPLE[3]: "unknown", PEOPLE[4]: "sent"}
    assert is_suppressed(session, PEOPLE[2]) and not is_suppressed(session, PEOPLE[1])
    greylisted = session.scalar(select(Delivery).where(Delivery.email == PEOPLE[1]))
    assert greylisted.next_attempt_at >= utcnow() + timedelta(seconds=290)  # the server's hint is honoured


def test_soft_failures_are_retried_when_due_and_given_up_after_max_attempts(session, settings, smtp):
    smtp.refuse_rcpt(PEOPLE[0], "421 4.3.2 busy")
    digest_id = make_send(session, PEOPLE[:1])
    for attempt in range(settings.max_attempts):
        delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=10)
        session.expire_all()
        row = session.scalar(select(Delivery))
        assert row.attempts == attempt + 1
        session.execute(Delivery.__table__.update().values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        session.commit()
        due = [digest_id] if row.status == "soft_failed" else []
        assert delivery.sweep(session, settings) == due
    assert _statuses(session, digest_id) == {PEOPLE[0]: "hard_failed"}
    assert "gave up after 6 attempts" in session.scalar(select(Delivery.last_reply))
    assert not is_suppressed(session, PEOPLE[0])  # a server that stayed busy says nothing about the address


def test_unknown_rows_are_never_swept_back(session, settings, smtp):
    smtp.drop_after_data(PEOPLE[0])
    digest_id = make_send(session, PEOPLE[:1])
    delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=10)
    assert delivery.sweep(session, settings, now=utcnow() + timedelta(hours=1)) == []
    assert _statuses(session, digest_id) == {PEOPLE[0]: "unknown"}
    assert len(smtp.messages) == 0 or len(smtp.to(PEOPLE[0])) <= 1


def test_rows_left_sending_by_a_dead_worker_are_handed_back_when_their_lease_ends(session, settings, smtp):
    digest_id = make_send(session, PEOPLE[:4])
    claimed_at, lease = utcnow(), timedelta(seconds=settings.claim_lease_seconds)
    ledger.claim_pending(session, digest_id=digest_id, after_id=0, limit=2, now=claimed_at, token="dead", lease=lease)
    assert delivery.sweep(session, settings, now=claimed_at + lease - timedelta(milliseconds=1)) == []
    assert delivery.sweep(session, settings, now=claimed_at + lease + timedelta(milliseconds=1)) == [digest_id]
    delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=10)
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == sorted(PEOPLE[:4])
    events = session.scalars(select(DeliveryEvent.reply).where(DeliveryEvent.status == "pending")).all()
    assert len(events) == 2 and all("lease ended" in reply for reply in events)


def test_a_row_that_stops_every_worker_holding_it_is_given_up(session, settings, smtp):
    """The row a dead worker had in hand counts an attempt; the rows behind it in its claim do not."""
    digest_id = make_send(session, PEOPLE[:3])
    lease, now = timedelta(seconds=settings.claim_lease_seconds), utcnow()
    for death in range(settings.max_attempts):
        rows = ledger.claim_pending(session, digest_id=digest_id, after_id=0, limit=3, now=now,
                                    token=f"worker-{death}", lease=lease)
        assert [r.email for r in rows] == PEOPLE[:3]
        now += 2 * lease
        delivery.sweep(session, settings, now=now)
    assert _statuses(session, digest_id) == {PEOPLE[0]: "hard_failed", PEOPLE[1]: "pending", PEOPLE[2]: "pending"}
    given_up = session.scalar(select(Delivery).where(Delivery.email == PEOPLE[0]))
    assert given_up.attempts == settings.max_attempts and "stopped" in given_up.last_reply
    assert [r.attempts for r in session.scalars(select(Delivery).where(Delivery.email != PEOPLE[0]))] == [0, 0]


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_concurrent_workers_never_claim_the_same_row(request, tmp_path, database):
    url = request.getfixturevalue("postgres_url") if database == "postgres" else None
    settings = ledger_settings(tmp_path, url)
    with open_session(settings) as session:
        digest_id = make_send(session, [f"p{i}@example.com" for i in range(300)])
    won: list[list[int]] = [[] for _ in range(4)]

    def worker(index: int) -> None:
        with open_session(settings, migrate=False) as own:
            while rows := ledger.claim_pending(own, digest_id=digest_id, after_id=0, limit=7, now=utcnow(),
                                               token=f"worker-{index}", lease=timedelta(seconds=20)):
                won[index].extend(r.id for r in rows)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [i for ids in won for i in ids]
    assert len(claimed) == 300 and len(set(claimed)) == 300


def test_pause_stops_claims_resume_continues_cancel_ends(session, settings, smtp):
    digest_id = make_send(session, PEOPLE)
    delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=4)
    controls.pause_send(session, digest_id)
    session.commit()  # as the request or command that paused it does
    assert delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=100).sent == 0
    assert controls.progress(session, digest_id).status == "paused"
    controls.resume_send(session, digest_id)
    session.commit()
    delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=3)
    assert controls.cancel_send(session, digest_id) == 3
    assert delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=100).sent == 0
    state = controls.progress(session, digest_id)
    assert (state.status, state.sent, state.cancelled) == ("cancelled", 7, 3)
    assert len(smtp.messages) == 7


def test_refused_login_pauses_the_send_with_the_reason(session, settings, smtp):
    settings = settings.model_copy(update={"smtp_url": smtp.url + "?tls=starttls"})  # the server has no STARTTLS
    digest_id = make_send(session, PEOPLE[:3])
    with pytest.raises(MailerAuthError):
        delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=10)
    state = controls.progress(session, digest_id)
    assert state.status == "paused" and "TLS" in state.reason
    assert set(_statuses(session, digest_id).values()) == {"pending"}  # nothing lost, nothing sent


def test_an_unreachable_server_fails_over_to_the_next(session, settings, smtp):
    dead = f"smtp://127.0.0.1:{free_port()}?weight=100"
    settings = settings.model_copy(update={"smtp_url": f"{dead}, {smtp.url}", "smtp_timeout": 2})
    digest_id = make_send(session, PEOPLE)
    assert delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=100).sent == 10
    assert len(smtp.messages) == 10


def test_retry_delay_backs_off_and_takes_hints(settings):
    first = delivery.retry_delay(settings, 0, "451 busy").total_seconds()
    third = delivery.retry_delay(settings, 2, "451 busy").total_seconds()
    assert 48 <= first <= 72 and 192 <= third <= 288
    assert delivery.retry_delay(settings, 0, "450 try again in 10 minutes").total_seconds() == 600


def test_an_address_suppressed_after_the_send_started_is_skipped(session, settings, smtp):
    from publisher.services.suppression import suppress

    digest_id = make_send(session, PEOPLE[:3])
    suppress(session, PEOPLE[1], reason="unsubscribe", source="test")
    session.commit()
    delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=10)
    assert _statuses(session, digest_id) == {PEOPLE[0]: "sent", PEOPLE[1]: "cancelled", PEOPLE[2]: "sent"}
    assert smtp.to(PEOPLE[1]) == []


def test_a_digest_is_encoded_once_per_process_and_an_editors_change_mid_send_still_counts(session, settings, smtp,
                                                                                       monkeypatch):
    """Batch after batch of the same digest reuse its encoded form; a list whose sender an editor changes
    between two batches sends the next batch from the new one."""
    messages._prepared_digest.cache_clear()  # earlier tests sent digests of the same content from this process
    encoded = []
    real = messages.prepare
    monkeypatch.setattr(messages, "prepare", lambda *a, **k: encoded.append(k["sender"]) or real(*a, **k))
    digest_id = make_send(session, PEOPLE[:6])
    rows = ledger.batch_starts(session, digest_id=digest_id, batch_size=2)
    for after_id in rows[:2]:
        delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=after_id, limit=2)
    assert len(encoded) == 1
    mailing_list = session.get(MailingList, session.get(Digest, digest_id).list_id)
    mailing_list.sender = "Renamed <renamed@example.org>"
    session.commit()
    delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=rows[2], limit=2)
    assert len(encoded) == 2
    senders = [m.message["From"] for m in smtp.messages]
    assert len(senders) == 6 and len(set(senders[:4])) == 1
    assert senders[4:] == ["Renamed <renamed@example.org>"] * 2
