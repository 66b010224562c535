"""kill -9 during a send, down to the physical limit: every row is settled right after its 250, so a killed
sender can mail twice only the message it had in hand; its claim is a lease that a live worker renews and a
dead one lets run out, so its other rows come back after the lease (seconds), not after a fixed 600 s."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from publisher.models import Delivery
from publisher.models.base import utcnow
from publisher.services import delivery
from tests.support.deploy import Publisher, base_env
from tests.support.ledger import add_posts, ledger_settings, make_list, open_session

READERS = [f"reader{i}@example.org" for i in range(8)]
IN_HAND = READERS[4]


def _wait_for(condition, what: str, deadline: float = 60) -> None:
    """Until `condition()` holds; the deadline only keeps a broken run from hanging, it is no measure."""
    give_up = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < give_up, f"gave up waiting for {what}"
        time.sleep(0.02)


def _rows(session) -> dict[str, Delivery]:
    session.expire_all()
    return {d.email: d for d in session.scalars(select(Delivery))}


def test_a_killed_sender_mails_twice_only_the_message_in_hand_and_its_claim_returns_after_the_lease(
        tmp_path, smtp):
    lease = 3
    env = base_env(tmp_path, PUBLISHER_SMTP_URL=smtp.url, PUBLISHER_CLAIM_LEASE_SECONDS=str(lease),
                   PUBLISHER_CLAIM_CHUNK="25")
    cli = Publisher(tmp_path, env)
    cli.run("init")
    settings = ledger_settings(tmp_path, database_url=env["PUBLISHER_DATABASE_URL"], smtp_url=smtp.url,
                               claim_lease_seconds=lease)
    with open_session(settings, migrate=False) as session:
        add_posts(session, make_list(session, READERS), ["A post"])
        smtp.stall_after_data(IN_HAND)  # the server has the message; its 250 waits
        with open(tmp_path / "send.log", "wb") as log:
            sender = subprocess.Popen(cli.command("digest", "send", "--list", "news"), cwd=tmp_path, env=env,
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_for(lambda: smtp.to(IN_HAND), "the sender to reach the fifth reader")
        os.killpg(sender.pid, signal.SIGKILL)
        sender.wait()
        killed_at = utcnow()

        rows = _rows(session)
        digest_id = rows[IN_HAND].digest_id
        # Settled one by one: what the server accepted before the kill is recorded as sent.
        assert {e: r.status for e, r in rows.items()} == {e: "sent" if e < IN_HAND else "sending" for e in READERS}
        claimed = [r for r in rows.values() if r.status == "sending"]
        # The dead sender's lease ends within one lease of its death...
        assert all(r.lease_until <= killed_at + timedelta(seconds=lease) for r in claimed)
        first_end = min(r.lease_until for r in claimed)
        assert delivery.sweep(session, settings, now=first_end - timedelta(milliseconds=1)) == []
        # ...and then its rows come back, seconds after the kill, nowhere near the old 600 s.
        last_end = max(r.lease_until for r in claimed)
        assert delivery.sweep(session, settings, now=last_end + timedelta(milliseconds=1)) == [digest_id]
        assert {r.status for e, r in _rows(session).items() if e >= IN_HAND} == {"pending"}

        smtp.release_stalls()
        delivery.deliver_batch(session, settings, digest_id=digest_id, after_id=0, limit=100)
        counts = Counter(r for m in smtp.messages for r in m.rcpt_tos)
        assert set(counts) == set(READERS)
        # The physical limit: one message, the one between the server's 250 and our record of it.
        assert {e: c for e, c in counts.items() if c > 1} == {IN_HAND: 2}
        assert {r.status for r in _rows(session).values()} == {"sent"}


def test_a_live_worker_keeps_its_claim_however_long_the_server_takes(tmp_path, smtp):
    settings = ledger_settings(tmp_path, smtp_url=smtp.url, claim_lease_seconds=1)
    with open_session(settings) as session:
        add_posts(session, make_list(session, READERS), ["A post"])
        from publisher.services.digests import compose_digest

        digest_id = compose_digest(session, settings, session.merge(_list(session))).id
        session.commit()
        release = smtp.stall_after_data(IN_HAND)
        sender = threading.Thread(target=_deliver, args=(settings, digest_id))
        sender.start()
        try:
            _wait_for(lambda: smtp.to(IN_HAND), "the sender to reach the fifth reader")
            held = _rows(session)[IN_HAND]
            first_lease_end = held.claimed_at + timedelta(seconds=1)
            # The server keeps us waiting past the first lease: the worker, alive, renews it...
            _wait_for(lambda: _rows(session)[IN_HAND].lease_until > first_lease_end, "a renewal of the lease")
            # ...so a sweeper running after the first lease ended takes nothing from it.
            assert delivery.sweep(session, settings, now=first_lease_end + timedelta(milliseconds=1)) == []
            assert _rows(session)[IN_HAND].status == "sending"
        finally:
            release.set()
            sender.join()
    counts = Counter(r for m in smtp.messages for r in m.rcpt_tos)
    assert counts == Counter(READERS)


def _list(session):
    from publisher.models import MailingList

    return session.scalar(select(MailingList))


def _deliver(settings, digest_id: int) -> None:
    with open_session(settings, migrate=False) as own:
        delivery.deliver_batch(own, settings, digest_id=digest_id, after_id=0, limit=100)
