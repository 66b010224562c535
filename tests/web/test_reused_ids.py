"""Links outlive people: Ann signs up, confirms, gets a digest; she is wiped (or plainly deleted) and Bob signs
up, on SQLite often with the very id Ann had. Every link, VERP address and Message-ID Ann's mails carried is
dead (404/410 with a page saying so): nothing of Bob's shown, nothing of Bob's changed. On SQLite and
PostgreSQL, through the real form, a real SMTP server and the real web app."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from publisher.config import get_settings
from publisher.db import session_scope
from publisher.models import BounceEvent, Subscriber, Subscription, UnverifiedReport
from publisher.models.base import utcnow
from publisher.services import gdpr
from publisher.services.bounces import handle_inbound
from publisher.services.database import upgrade_database
from publisher.services.delivery import deliver_batch
from publisher.services.digests import compose_digest
from publisher.services.suppression import is_suppressed
from publisher.tokens import UNSUBSCRIBE
from publisher.web.app import create_app
from tests.support.bounces import report
from tests.support.consent import add_post, make_list
from tests.support.deploy import base_env

BASE = "https://news.example.org"


@pytest.fixture(params=["sqlite", "postgres"])
def site(request, tmp_path, smtp, monkeypatch):
    overrides = {"PUBLISHER_SMTP_URL": smtp.url, "PUBLISHER_BOUNCE_DOMAIN": "bounces.example.org"}
    if request.param == "postgres":
        overrides["PUBLISHER_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    for key, value in base_env(tmp_path, **overrides).items():
        if key.startswith("PUBLISHER_"):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    upgrade_database()
    with session_scope() as session:
        news = make_list(session, name="news")
    yield TestClient(create_app(), base_url=BASE), news, request.param
    get_settings.cache_clear()


def _sign_up_and_confirm(client, smtp, address: str, name: str) -> str:
    assert client.post("/subscribe/news", data={"email": address, "name": name}).status_code == 200
    body = smtp.to(address)[-1].message.get_body(("plain",)).get_content()
    confirm = re.search(rf"{BASE}(/confirm/\S+)", body).group(1)
    assert client.post(confirm).status_code == 200
    return confirm


def _digest_to(smtp, news, address: str):
    settings = get_settings()
    with session_scope() as session:
        add_post(session, news, f"Post for {address}", at=utcnow())
        digest = compose_digest(session, settings, news)
        session.commit()
        deliver_batch(session, settings, digest_id=digest.id, after_id=0, limit=100)
    return smtp.to(address)[-1]


def _links_of(mail, confirm: str) -> dict[str, str]:
    message = mail.message
    html = message.get_body(("html",)).get_content()
    return {
        "confirm": confirm,
        "unsubscribe": message["List-Unsubscribe"].split(",")[0].strip(" <>").removeprefix(BASE),
        "preferences": re.search(rf'href="{re.escape(BASE)}(/preferences/[^"]+)"', html).group(1),
    }


def _bob(session) -> tuple:
    bob = session.scalar(select(Subscriber).where(Subscriber.email == "bob@example.com"))
    status = session.scalar(select(Subscription.status).where(Subscription.subscriber_id == bob.id))
    return bob.id, bob.name, status


@pytest.mark.parametrize("removal", ["wipe", "delete"])
def test_every_old_link_verp_and_message_id_is_dead_for_the_newcomer(site, smtp, removal):
    client, news, database = site
    confirm = _sign_up_and_confirm(client, smtp, "ann@example.com", "Ann")
    mail = _digest_to(smtp, news, "ann@example.com")
    links = _links_of(mail, confirm)
    assert "ann@example.com" in client.get(links["preferences"]).text  # alive while Ann is there
    with session_scope() as session:
        ann_id = session.scalar(select(Subscriber.id).where(Subscriber.email == "ann@example.com"))
        if removal == "wipe":
            gdpr.wipe(session, "ann@example.com")
        else:
            session.delete(session.get(Subscriber, ann_id))
    _sign_up_and_confirm(client, smtp, "bob@example.com", "Bob Newcomer")
    _digest_to(smtp, news, "bob@example.com")
    with session_scope() as session:
        before = _bob(session)
    print(f"\n{database}, {removal}: Ann had id {ann_id}, Bob got id {before[0]}")

    answers = {}
    for what, path in links.items():
        for method in ("GET", "POST"):
            response = client.request(method, path, data={"List-Unsubscribe": "One-Click", "name": "Hacked",
                                                          f"list-{news.id}": "on"})
            answers[f"{method} {what}"] = response.status_code
            assert response.status_code in (404, 410), (method, what, response.status_code)
            assert "This link does not work" in response.text
            assert "bob@example.com" not in response.text and "Bob" not in response.text
    settings = get_settings()
    with session_scope() as session:  # a late bounce and a late complaint about Ann's digest
        for kind, rcpt in (("hard", mail.mail_from), ("complaint", "fbl@example.org")):
            intake = handle_inbound(session, settings, rcpt_tos=[rcpt],
                                    data=report(kind, rcpt=rcpt, message_id=mail.message["Message-ID"]))
            assert intake.handled == [] and len(intake.unverified) == 1
    with session_scope() as session:
        assert _bob(session) == before and before[1:] == ("Bob Newcomer", "confirmed")
        assert not is_suppressed(session, "bob@example.com")
        assert session.scalar(select(BounceEvent.id)) is None
        assert len(session.scalars(select(UnverifiedReport.id)).all()) == 2
    print(f"Ann's links: {answers}")


def test_a_link_from_before_links_named_their_holder_is_refused_with_410(site, smtp):
    """Links minted before this release named a bare id, which SQLite may have given to someone else."""
    client, news, _ = site
    _sign_up_and_confirm(client, smtp, "bob@example.com", "Bob")
    with session_scope() as session:
        bob_id = session.scalar(select(Subscriber.id))
    old = URLSafeSerializer(get_settings().resolved_secret_key(), salt=UNSUBSCRIBE).dumps([bob_id, news.id])
    for method in ("GET", "POST"):
        for path in (f"/unsubscribe/{old}", f"/preferences/{old}"):
            response = client.request(method, path, data={"List-Unsubscribe": "One-Click"})
            assert response.status_code == 410 and "bob@example.com" not in response.text
    with session_scope() as session:
        assert _bob(session)[2] == "confirmed"
