"""What one batch run holds while it sends: a claim token, the lease that keeps its rows while the process
lives, and the records of its attempts, written beside the sending.

Both run on threads of their own, with connections of their own: the lease is renewed whatever the sending
thread waits for (a slow server), and a row's record travels to the database while the next message is
signed and its envelope answered, so settling each row after its 250 costs almost no time."""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from publisher.db import record_connection
from publisher.models.base import utcnow
from publisher.store import ledger
from publisher.store.ledger import Outcome

log = logging.getLogger("publisher.delivery")


@dataclass(frozen=True)
class Claim:
    digest_id: int
    lease: timedelta
    token: str = field(default_factory=lambda: uuid.uuid4().hex)  # one per batch run: the rows it holds


class LeaseKeeper:
    """Renews the claim every quarter lease while this process lives. A killed worker stops renewing,
    and its rows come back to the sweeper within a lease of its death."""

    def __init__(self, engine: Engine, claim: Claim):
        self.engine, self.claim = engine, claim
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{claim.token[:8]}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _renew(self) -> None:
        with Session(self.engine) as session:
            while not self._stop.wait(self.claim.lease.total_seconds() / 4):
                try:
                    ledger.renew_lease(session, digest_id=self.claim.digest_id, token=self.claim.token,
                                       until=utcnow() + self.claim.lease)
                    session.commit()
                except SQLAlchemyError as exc:  # the next round tries again; the lease covers three misses
                    session.rollback()
                    log.warning("digest %s: could not renew the claim lease: %s", self.claim.digest_id, exc)


class Recorder:
    """Settles rows from its own thread, in the order given. The sending thread calls `settled()` before
    a message's data leaves (the `before_data` hook of a Mailer): a message can only be accepted once the
    record of the one before it is committed, so a kill leaves at most one accepted message unrecorded."""

    def __init__(self, engine: Engine, claim: Claim):
        self.engine, self.claim = engine, claim
        self._queue: queue.SimpleQueue[tuple[Outcome, datetime] | None] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._pending = 0
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"records-{claim.token[:8]}", daemon=True)

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._queue.put(None)
        self._thread.join()
        if exc[0] is None:
            self._raise_failure()

    def record(self, outcome: Outcome) -> None:
        """Queue this attempt's record (stamped now); `settled()` waits for it."""
        with self._idle:
            self._raise_failure()
            self._pending += 1
        self._queue.put((outcome, utcnow()))

    def settled(self) -> None:
        """Return once every record queued so far is committed; raise what stopped one."""
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0 or self._failure is not None)
            self._raise_failure()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        try:
            with record_connection(self.engine) as connection:
                while (item := self._queue.get()) is not None:
                    outcome, at = item
                    ledger.settle(connection, outcome, token=self.claim.token, now=at)
                    with self._idle:
                        self._pending -= 1
                        self._idle.notify_all()
        except BaseException as exc:  # noqa: BLE001 - handed to the sending thread, which stops the batch
            with self._idle:
                self._failure = exc
                self._idle.notify_all()
