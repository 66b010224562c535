"""`digest send --wait` shows the rate of now, over the last seconds: a send sending 4 a second says 4/s,
whether it began a second ago or an hour ago, and a send that stalled says 0/s at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from publisher.models import Delivery, DeliveryStatus, Digest
from publisher.models.base import utcnow
from publisher.services import controls
from tests.support.ledger import ledger_settings, make_send, open_session


def _sent(session, digest_id: int, ages_in_seconds: list[float], now) -> None:
    ids = [d.id for d in session.query(Delivery).filter_by(digest_id=digest_id).order_by(Delivery.id)]
    for delivery_id, age in zip(ids, ages_in_seconds, strict=False):
        session.execute(update(Delivery).where(Delivery.id == delivery_id)
                        .values(status=DeliveryStatus.SENT.value, sent_at=now - timedelta(seconds=age)))
    session.commit()


def _started(session, digest_id: int, seconds_ago: float, now) -> None:
    session.execute(update(Digest).where(Digest.id == digest_id).values(created_at=now - timedelta(seconds=seconds_ago)))
    session.commit()


def test_the_rate_is_the_current_one_not_a_minute_average(tmp_path):
    session = open_session(ledger_settings(tmp_path))
    now = utcnow()
    digest_id = make_send(session, [f"r{i}@example.com" for i in range(200)])
    _started(session, digest_id, 3600, now)
    # 40 in the last 10 seconds (4/s), after a slow start: 20 in the 50 seconds before.
    _sent(session, digest_id, [i * 0.25 for i in range(40)] + [11 + i * 2.5 for i in range(20)], now)
    state = controls.progress(session, digest_id, now=now)
    assert state.rate_per_second == 4.0
    assert state.eta_seconds == 35.0  # 140 left at 4/s


def test_a_send_that_began_seconds_ago_is_not_averaged_over_a_minute(tmp_path):
    session = open_session(ledger_settings(tmp_path))
    now = utcnow()
    digest_id = make_send(session, [f"r{i}@example.com" for i in range(100)])
    _started(session, digest_id, 2, now)
    _sent(session, digest_id, [i * 0.1 for i in range(20)], now)  # 20 in its first 2 seconds
    assert controls.progress(session, digest_id, now=now).rate_per_second == 10.0


def test_a_stalled_send_reads_zero_at_once(tmp_path):
    session = open_session(ledger_settings(tmp_path))
    now = utcnow()
    digest_id = make_send(session, [f"r{i}@example.com" for i in range(100)])
    _started(session, digest_id, 120, now)
    _sent(session, digest_id, [15 + i * 0.1 for i in range(50)], now)  # busy until 15 seconds ago
    state = controls.progress(session, digest_id, now=now)
    assert state.rate_per_second == 0 and state.eta_seconds is None
