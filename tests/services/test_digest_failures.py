"""Whatever a post's title holds, its digest is composed and sent; a digest that cannot be prepared fails
visibly (status `failed`, the reason, `publisher status --json`), is never retried by itself, and does not hold
back the list's later digests."""

from __future__ import annotations

import email
import json
import shutil
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import select

from publisher.compose.render import SUBJECT_LIMIT
from publisher.errors import InvalidInputError
from publisher.models import Delivery, Digest
from publisher.models.base import utcnow
from publisher.services import controls, delivery, digests
from publisher.services.schedule import compose_due_digests
from publisher.services.status import collect_status
from tests.compose.sample import TEMPLATES
from tests.support.deploy import Publisher, base_env
from tests.support.ledger import add_posts, hand_back_everything, ledger_settings, make_list, open_session
from tests.support.mail import header_value

READERS = ["ada@example.org", "bob@example.org", "cy@example.org"]


@pytest.fixture
def settings(tmp_path, smtp):
    return ledger_settings(tmp_path, smtp_url=smtp.url)


@pytest.fixture
def session(settings):
    with open_session(settings) as session:
        yield session


def _send(session, settings, mailing_list) -> Digest:
    digest = digests.compose_digest(session, settings, mailing_list)
    session.commit()
    delivery.deliver_batch(session, settings, digest_id=digest.id, after_id=0, limit=100)
    session.expire_all()
    return session.get(Digest, digest.id)


def _subject(received) -> str:
    return email.message_from_bytes(received.data, policy=policy.default)["Subject"]


TITLES = {
    "1200 chars, no space": "A" * 1200,
    "1200 chars, mixed scripts": ("Crème Straße и 日本語 עברית العربية ไทย " * 40)[:1200].replace(" ", ""),
    "emoji": "😀👩‍👩‍👧🏳️‍🌈" * 200,
    "control characters": "Tab\there\x00nul\x1b[31mred\x7fdel\u2028line\x85next",
    "looks like RFC 2047": "=?utf-8?b?SGFja2Vk?= =?iso-8859-1?q?=41?= =?x?",
    "CRLF header injection": "Hello\r\nBcc: victim@example.net\r\n\r\nbody",
}


@pytest.mark.parametrize("title", TITLES.values(), ids=TITLES.keys())
def test_any_title_is_composed_and_sent_with_a_subject_within_limits(session, settings, smtp, title):
    mailing_list = make_list(session, READERS)
    add_posts(session, mailing_list, ["Second post", title])  # the newest, named by the subject
    digest = _send(session, settings, mailing_list)
    assert digest.status == "sent"
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == READERS
    for received in smtp.messages:
        subject = _subject(received)
        assert subject.startswith("news blog: 2 new posts — ") and len(subject) <= SUBJECT_LIMIT
        assert "\n" not in subject and "\x00" not in subject and "\x1b" not in subject
        assert email.message_from_bytes(received.data, policy=policy.default)["Bcc"] is None
        raw = header_value(received.data, "Subject")
        head = received.data.split(b"\r\n\r\n", 1)[0]
        assert all(len(line) <= 78 for line in head.split(b"\r\nSubject:")[1].split(b"\r\nDate:")[0].split(b"\r\n"))
        if "=?utf-8?b?SGFja2Vk?=" in title:  # text that looks encoded arrives as the text it is
            assert "=?utf-8?b?SGFja2Vk?=" in subject and raw != subject
    cleaned = " ".join(title.replace("\x00", " ").split())
    if len(cleaned) > 100:
        assert "…" in _subject(smtp.messages[0])


def _fragile_templates(tmp_path):
    """A custom template whose subject names the second post: it cannot render a one-post digest."""
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES, root)
    shutil.copytree(root / "email" / "digest", root / "email" / "fragile")
    (root / "email" / "fragile" / "subject.txt").write_text("{{ posts[0].title }} then {{ posts[1].title }}\n")
    return root


def test_a_digest_that_cannot_be_rendered_fails_visibly_and_later_digests_go_out(tmp_path, smtp):
    settings = ledger_settings(tmp_path, smtp_url=smtp.url, templates_dir=_fragile_templates(tmp_path))
    with open_session(settings) as session:
        mailing_list = make_list(session, READERS, template="fragile")
        other = make_list(session, ["dee@example.org"], name="other")
        add_posts(session, mailing_list, ["Lonely post"])
        add_posts(session, other, ["Other list's post"])
        now = utcnow()
        composed = compose_due_digests(session, settings, now)
        failed = next(d for d in composed if d.list_id == mailing_list.id)
        assert failed.status == "failed" and "cannot be rendered" in failed.status_reason
        assert failed.recipient_count == 3
        # The other list is not held back by it.
        sent = next(d for d in composed if d.list_id == other.id)
        delivery.deliver_batch(session, settings, digest_id=sent.id, after_id=0, limit=100)
        assert [m.rcpt_tos for m in smtp.messages] == [("dee@example.org",)]
        # Never retried by itself: the scheduler and the sweeper leave it alone, whenever they run.
        for minutes in (1, 10, 600):
            assert [d for d in compose_due_digests(session, settings, now + timedelta(minutes=minutes))
                    if d.list_id == mailing_list.id] == []
            assert hand_back_everything(session, settings) == []
        state = collect_status(session, settings)["sends"]
        assert [(s["digest_id"], s["status"]) for s in state] == [(failed.id, "failed")]
        assert "cannot be rendered" in state[0]["reason"] and state[0]["recipients"] == 3
        # Later posts reach the list's subscribers in the next digest: the watermarks moved past the failed one.
        add_posts(session, mailing_list, ["Next post", "And another"])
        later = compose_due_digests(session, settings, utcnow())
        assert [d.status for d in later] == ["sending"] and later[0].post_count == 2
        delivery.deliver_batch(session, settings, digest_id=later[0].id, after_id=0, limit=100)
        assert sorted(r for m in smtp.messages[1:] for r in m.rcpt_tos) == READERS
        # It cannot be resumed (nothing was rendered); cancelling lets it go.
        with pytest.raises(InvalidInputError, match="holds nothing to send"):
            controls.resume_send(session, failed.id)
        controls.cancel_send(session, failed.id)
        assert collect_status(session, settings)["sends"] == []


def test_a_digest_that_cannot_be_prepared_for_sending_fails_then_resumes_after_the_fix(tmp_path, smtp):
    settings = ledger_settings(tmp_path, smtp_url=smtp.url)
    with open_session(settings) as session:
        mailing_list = make_list(session, READERS)
        add_posts(session, mailing_list, ["A post"])
        digest = digests.compose_digest(session, settings, mailing_list)
        session.commit()
        broken = settings.model_copy(update={"sender": "My Blog, no address"})  # a setting typed wrong
        for _ in range(5):  # the task redelivered, the sweeper, the stall detector: it stays failed
            outcome = delivery.deliver_batch(session, broken, digest_id=digest.id, after_id=0, limit=100)
            assert outcome.digest_failed and "sender" in outcome.digest_failed
            assert hand_back_everything(session, broken) == []
        session.expire_all()
        assert session.get(Digest, digest.id).status == "failed"
        assert smtp.messages == []
        rows = session.scalars(select(Delivery.status).where(Delivery.digest_id == digest.id)).all()
        assert rows == ["pending"] * 3  # who still waits for it is kept
        controls.resume_send(session, digest.id)
        session.commit()  # as the command that resumed it does
        delivery.deliver_batch(session, settings, digest_id=digest.id, after_id=0, limit=100)
        assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == READERS
        session.expire_all()
        assert session.get(Digest, digest.id).status == "sent"


def test_publisher_status_shows_a_failed_digest(tmp_path, smtp):
    env = base_env(tmp_path, PUBLISHER_SMTP_URL=smtp.url, PUBLISHER_TEMPLATES_DIR=str(_fragile_templates(tmp_path)))
    cli = Publisher(tmp_path, env)
    cli.run("init")
    settings = ledger_settings(tmp_path, database_url=env["PUBLISHER_DATABASE_URL"])
    with open_session(settings, migrate=False) as session:
        add_posts(session, make_list(session, READERS, template="fragile"), ["Lonely post"])
    result = cli.run("digest", "send", "--list", "news", check=False)
    assert result.returncode == 1 and "failed" in result.stderr and "cannot be rendered" in result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(cli.run("status", "--json").stdout)
    assert [(s["status"], s["recipients"]) for s in report["sends"]] == [("failed", 3)]
    assert "posts[1]" in report["sends"][0]["reason"] or "no element 1" in report["sends"][0]["reason"]
    assert "failed" in cli.run("status").stdout
