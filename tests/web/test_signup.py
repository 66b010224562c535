"""Sign-up through the public form and the API: double opt-in by a real SMTP server, the honeypot, and the
abuse limits (figures printed: run with -s to see them)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from publisher.db import session_scope
from publisher.models import RateEvent, Subscriber, Subscription
from tests.web.conftest import client_from


def _confirm_link(smtp, address: str) -> str:
    [mail] = smtp.to(address)
    body = mail.message.get_body(("plain",)).get_content()
    return re.search(r"https://news\.example\.org(/confirm/\S+)", body).group(1)


def _status(address: str) -> str | None:
    with session_scope() as session:
        return session.scalar(select(Subscription.status).join(Subscriber).where(Subscriber.email == address))


def test_form_sign_up_is_pending_until_the_mailed_link_is_confirmed(client, news, smtp):
    form = client.get("/subscribe/news")
    assert form.status_code == 200 and 'name="email"' in form.text and "<script" not in form.text
    done = client.post("/subscribe/news", data={"email": "reader@example.com", "name": "Reader", "website": ""})
    assert done.status_code == 200 and "Check your inbox" in done.text
    assert _status("reader@example.com") == "pending"
    mail = smtp.to("reader@example.com")[0].message
    assert mail["Subject"] == "Confirm your subscription to news blog"  # the blog's name, not the list's
    link = _confirm_link(smtp, "reader@example.com")

    page = client.get(link)  # a mail scanner opening the link confirms nothing
    assert page.status_code == 200 and "<form method=\"post\"" in page.text
    assert _status("reader@example.com") == "pending"
    confirmed = client.post(link)
    assert confirmed.status_code == 200 and "You are subscribed" in confirmed.text
    assert _status("reader@example.com") == "confirmed"
    with session_scope() as session:
        subscription = session.scalar(select(Subscription))
        assert subscription.source == "form" and subscription.consent_ip == "testclient"
        assert subscription.consent_at is not None


def test_honeypot_sign_ups_store_nothing_and_send_nothing(client, news, smtp):
    page = client.post("/subscribe/news", data={"email": "bot@example.com", "website": "http://spam.example"})
    assert page.status_code == 200 and "Check your inbox" in page.text  # the bot learns nothing
    assert _status("bot@example.com") is None and smtp.messages == []


def test_bad_address_is_shown_on_the_form(client, news, smtp):
    page = client.post("/subscribe/news", data={"email": "not-an-address"})
    assert page.status_code == 422 and "not a valid email address" in page.text
    assert smtp.messages == []


def test_one_ip_gets_at_most_five_accepted_sign_ups_an_hour(client, news, smtp):
    codes = [client.post("/subscribe/news", data={"email": f"user{i}@example.com"}).status_code for i in range(1000)]
    accepted, refused = codes.count(200), codes.count(429)
    print(f"\n1,000 sign-ups from one IP: {accepted} accepted, {refused} refused (429), "
          f"{len(smtp.messages)} confirmation mails")
    assert accepted == 5 and refused == 995
    assert len(smtp.messages) == 5
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 5


def test_one_victim_address_gets_at_most_one_confirmation_mail_a_day(app, news, smtp):
    codes = []
    for i in range(1000):
        client = client_from(app, f"10.{i // 250}.{i % 250}.1")
        if i % 2:
            codes.append(client.post("/api/subscribe", json={"list": "news", "email": "victim@example.com"}).status_code)
        else:
            codes.append(client.post("/subscribe/news", data={"email": "victim@example.com"}).status_code)
    mails = len(smtp.to("victim@example.com"))
    print(f"\n1,000 sign-ups of one address from 1,000 IPs (form + API): {mails} confirmation mail(s); "
          f"answers {sorted(set(codes))}")
    assert mails == 1
    assert set(codes) <= {200, 202}  # the same answer every time: nobody learns whether a mail went
    assert _status("victim@example.com") == "pending"


def test_the_api_counts_against_the_same_limits(app, news, smtp):
    client = client_from(app, "192.0.2.7")
    codes = [client.post("/api/subscribe", json={"list": "news", "email": f"a{i}@example.com"}).status_code
             for i in range(4)]
    codes += [client.post("/subscribe/news", data={"email": f"b{i}@example.com"}).status_code for i in range(3)]
    assert codes == [202, 202, 202, 202, 200, 429, 429]
    refused = client.post("/api/subscribe", json={"list": "news", "email": "c@example.com"})
    assert refused.status_code == 429 and "try again later" in refused.json()["error"]
    assert client_from(app, "192.0.2.8").post("/api/subscribe", json={"list": "news", "email": "d@example.com"}
                                               ).status_code == 202
    assert client.post("/api/subscribe", json={"list": "nope", "email": "e@example.com"}).status_code == 404


def test_limits_are_kept_in_the_database_without_clear_addresses(client, news, smtp):
    client.post("/subscribe/news", data={"email": "reader@example.com"})
    with session_scope() as session:
        keys = session.scalars(select(RateEvent.key)).all()
    assert len(keys) == 2 and all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys)


def test_unknown_list_is_a_clear_404(client, news):
    page = client.get("/subscribe/nope")
    assert page.status_code == 404 and "no list called" in page.text


def test_the_embeddable_snippet_is_a_plain_form_posting_here(client, news):
    page = client.get("/subscribe/news/embed")
    assert page.status_code == 200
    assert 'action="https://news.example.org/subscribe/news"' in page.text and "<script" not in page.text
    assert 'name="website"' in page.text  # the honeypot travels with it
