"""Two schedulers running side by side for 48 simulated hours (two app instances on one database): exactly one
digest per list and period, and every subscriber gets every post exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from publisher.compose.schedule import latest_slot
from publisher.models import Digest
from publisher.services.schedule import compose_due_digests
from publisher.services.subscribers import subscribe
from tests.support.consent import add_post, make_list, received
from tests.support.ledger import open_session


def test_two_schedulers_for_48_hours_compose_each_period_once(db, consent_settings):
    start = datetime(2026, 10, 24, tzinfo=UTC)  # the 25th is Europe's autumn daylight-saving change
    lists = {
        "daily-paris": make_list(db, name="daily-paris", cadence="daily", send_at="08:00", timezone="Europe/Paris",
                                 since=start, last_slot_at=latest_slot(start, cadence="daily", send_at="08:00",
                                                                       timezone="Europe/Paris")),
        "daily-tokyo": make_list(db, name="daily-tokyo", cadence="daily", send_at="21:30", timezone="Asia/Tokyo",
                                 since=start, last_slot_at=latest_slot(start, cadence="daily", send_at="21:30",
                                                                       timezone="Asia/Tokyo")),
    }
    for name, mailing_list in lists.items():
        subscribe(db, mailing_list, email=f"reader@{name}.example.com", confirmed=True)
    db.commit()

    steps = [start + timedelta(minutes=10 * i) for i in range(48 * 6)]
    barrier = threading.Barrier(2)

    def scheduler() -> None:
        with open_session(consent_settings, migrate=False) as session:
            for now in steps:
                barrier.wait()  # both schedulers tick at the same simulated moment
                if threading.current_thread().name == "first" and now.minute == 0 and now.hour % 6 == 0:
                    for mailing_list in lists.values():  # a post every six hours on every list
                        add_post(session, session.merge(mailing_list), f"{mailing_list.name} {now:%d %H}h", at=now)
                    session.commit()
                barrier.wait()
                compose_due_digests(session, consent_settings, now)

    threads = [threading.Thread(target=scheduler, name=name) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    db.expire_all()
    digests = db.scalars(select(Digest).order_by(Digest.id)).all()
    per_period = Counter((d.list_id, d.cutoff_at.date()) for d in digests)
    assert digests and set(per_period.values()) == {1}, per_period
    assert len(digests) == 4  # two lists, two daily slots each within the 48 hours
    for name in lists:
        titles = received(db, f"reader@{name}.example.com")
        assert len(titles) == len(set(titles)) > 0  # each post once
