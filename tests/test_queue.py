"""Enqueue after commit, in one place: a task asked for inside a transaction is sent when it commits, never
when it rolls back (the rows it was for do not exist), and a savepoint's rollback keeps the outer ones."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from publisher import queue


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    with Session(engine) as session:
        sent: list[tuple[str, tuple]] = []
        queue.dispatch_with(session, lambda task, args: sent.append((task, args)))
        session.info["sent"] = sent
        yield session


def test_a_task_is_sent_only_once_the_transaction_commits(session):
    session.execute(text("select 1"))
    queue.enqueue(session, "send_digest", 7)
    assert session.info["sent"] == []  # a worker woken now would not see the digest
    session.commit()
    assert session.info["sent"] == [("send_digest", (7,))]
    session.commit()
    assert session.info["sent"] == [("send_digest", (7,))]  # sent once


def test_a_rolled_back_transaction_sends_nothing(session):
    session.execute(text("select 1"))
    queue.enqueue(session, "send_digest", 7)
    session.rollback()
    session.commit()
    assert session.info["sent"] == []


def test_a_savepoint_rolled_back_keeps_what_the_transaction_queued(session):
    session.execute(text("select 1"))
    queue.enqueue(session, "poll_feed", 1, 2)
    savepoint = session.begin_nested()
    savepoint.rollback()
    session.commit()
    assert session.info["sent"] == [("poll_feed", (1, 2))]


def test_a_failing_dispatch_does_not_undo_the_commit(session, caplog, monkeypatch):
    monkeypatch.setattr(queue, "_eager", lambda: False)  # a broker, not the in-process queue of the CLI

    def broken(task, args):
        raise ConnectionError("broker down")

    queue.dispatch_with(session, broken)
    session.execute(text("create table t (x int)"))
    queue.enqueue(session, "send_digest", 7)
    session.commit()  # the rows are kept; the sweeper finds the work
    assert session.execute(text("select count(*) from t")).scalar() == 0
    assert "could not queue send_digest" in caplog.text
