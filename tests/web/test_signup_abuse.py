"""Sign-up abuse through the real form and the JSON API, with a real SMTP server: anyone may type anyone's
address, so a sign-up changes nothing about a person we know; names are one bounded line of text; the daily
confirmation mail is counted per mailbox (+tags folded); X-Forwarded-For is believed from trusted proxies
only; international addresses get a clear answer; and a request that fails uses up no limit."""

from __future__ import annotations

import itertools
import re

import pytest
from sqlalchemy import func, select

from publisher.config import get_settings
from publisher.db import session_scope
from publisher.models import RateEvent, Subscriber, Subscription
from publisher.models.base import utcnow
from publisher.services.delivery import deliver_batch
from publisher.services.digests import compose_digest
from publisher.services.subscribers import subscribe
from publisher.tokens import PREFERENCES, SubscriptionRef, make_token
from tests.support.consent import add_post
from tests.web.conftest import client_from

IPS = (f"198.51.{i // 200}.{i % 200 + 1}" for i in itertools.count())


def _sign_up(app, email: str, name: str | None = None, *, api: bool, ip: str | None = None, headers=None):
    client = client_from(app, ip or next(IPS))
    if api:
        return client.post("/api/subscribe", json={"list": "news", "email": email, "name": name}, headers=headers)
    return client.post("/subscribe/news", data={"email": email, "name": name or ""}, headers=headers)


def _confirm_links(smtp, address: str) -> list[str]:
    links = []
    for mail in smtp.to(address):
        body = mail.message.get_body(("plain",)).get_content()
        links.append(re.search(r"https://news\.example\.org(/confirm/\S+)", body).group(1))
    return links


def _person(address: str):
    with session_scope() as session:
        subscriber = session.scalar(select(Subscriber).where(Subscriber.email == address))
        if subscriber is None:
            return None
        subs = session.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber.id)).all()
        return (subscriber.id, subscriber.email, subscriber.name,
                [(s.status, s.consent_at, s.consent_ip, s.source, s.confirmed_at) for s in subs])


def _counted() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(RateEvent))


def _subscribers() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Subscriber))


# --- a known address: nothing changes -------------------------------------------------------------------

@pytest.mark.parametrize("known_name", ["Ann", None])
def test_sign_ups_for_a_confirmed_address_change_nothing(app, settings, news, smtp, known_name):
    with session_scope() as session:
        subscribe(session, news, email="ann@example.com", name=known_name, confirmed=True)
    before = _person("ann@example.com")
    spellings = ["ann@example.com", "ANN@example.com", " ann@EXAMPLE.com "]
    names = ["Mallory", "Dear customer, visit evil.example", None]
    for n, (address, name) in enumerate(itertools.product(spellings, names)):
        assert _sign_up(app, address, name, api=n % 2 == 1).status_code in (200, 202)
    assert _person("ann@example.com") == before and smtp.to("ann@example.com") == []
    with session_scope() as session:  # and the next digest greets her as before
        add_post(session, news, "A post", at=utcnow())
        digest = compose_digest(session, settings, news)
        session.commit()
        deliver_batch(session, settings, digest_id=digest.id, after_id=0, limit=10)
    [mail] = smtp.to("ann@example.com")
    greeting = next(line for line in mail.message.get_body(("plain",)).get_content().splitlines()
                    if line.startswith("Hi "))
    assert mail.message["To"] == ("Ann <ann@example.com>" if known_name else "ann@example.com")
    assert greeting == ("Hi Ann," if known_name else "Hi there,")


def test_a_stranger_cannot_name_a_pending_sign_up(app, news, smtp, monkeypatch):
    monkeypatch.setenv("PUBLISHER_CONFIRM_MAIL_LIMIT_PER_DAY", "5")  # so the stranger's mails go out too
    get_settings.cache_clear()
    assert _sign_up(app, "vic@example.com", "Victoria", api=False).status_code == 200
    for name in ("Mallory", "Idiot", None):
        assert _sign_up(app, "vic@example.com", name, api=True).status_code == 202
    assert _person("vic@example.com")[2] is None  # nobody's word is taken before the owner's click
    owner, *strangers = _confirm_links(smtp, "vic@example.com")
    client = client_from(app, "192.0.2.1")
    assert client.post(owner).status_code == 200
    for link in strangers:  # later clicks on the mails strangers caused change nothing
        assert client.post(link).status_code == 200
    assert _sign_up(app, "vic@example.com", "Mallory again", api=False).status_code == 200
    _, _, name, [(status, *_)] = _person("vic@example.com")
    assert (name, status) == ("Victoria", "confirmed")


def test_a_stranger_signing_up_an_unsubscribed_person_changes_nothing(app, news, smtp):
    with session_scope() as session:
        sub = subscribe(session, news, email="gone@example.com", name="Gone", confirmed=True)
        sub.status = "unsubscribed"
    before = _person("gone@example.com")
    assert _sign_up(app, "gone@example.com", "Mallory", api=False).status_code == 200
    assert _person("gone@example.com") == before  # still unsubscribed, consent record untouched
    [link] = _confirm_links(smtp, "gone@example.com")  # only the owner's click brings them back
    assert client_from(app, "192.0.2.44").post(link).status_code == 200
    _, _, name, [(status, _, consent_ip, *_)] = _person("gone@example.com")
    assert (name, status, consent_ip) == ("Gone", "confirmed", "192.0.2.44")


# --- names ---------------------------------------------------------------------------------------------

BAD_NAMES = {
    "CR": "Ann\rBcc: x@evil.example", "LF": "Ann\nBcc: x@evil.example", "CRLF": "Ann\r\nSubject: hi",
    "trailing newline": "Ann\n", "NUL": "Ann\x00", "tab": "Ann\tLee", "escape": "\x1b[31mAnn", "DEL": "Ann\x7f",
    "NEL": "Ann\x85Lee", "line separator": "Ann\u2028Lee", "paragraph separator": "Ann\u2029Lee",
    "RLO override": "Ann\u202egnp.exe", "LRO override": "\u202dAnn", "RLI isolate": "\u2067Ann\u2069",
    "RLM": "Ann\u200f", "ALM": "\u061cAnn", "zero-width space": "A\u200bnn", "BOM": "\ufeffAnn",
    "soft hyphen": "An\u00adn", "10 KB": "A" * 10240, "101 characters": "B" * 101,
    "1,000 emoji (12 KB once form-encoded, under the body cap)": "😀" * 1000,
}
GOOD_NAMES = {
    "Zoë": "Zoë", "Zoe\u0308": "Zoë", "José María": "José María", "李小龙": "李小龙", "O'Brien": "O'Brien",
    "Anne-Marie": "Anne-Marie", "👩\u200d💻 Dev": "👩\u200d💻 Dev", "محمد علي": "محمد علي",
    "  Padded   Name  ": "Padded Name", "Ann\u00a0Lee": "Ann Lee", "x" * 100: "x" * 100,
    "Ann <ann@evil.example>": "Ann <ann@evil.example>", "\"Quoted\" Name": "\"Quoted\" Name",
}


@pytest.mark.parametrize("api", [False, True], ids=["form", "api"])
def test_names_that_are_not_one_bounded_line_are_refused_and_leave_nothing(app, news, smtp, api):
    for n, (what, name) in enumerate(BAD_NAMES.items()):
        response = _sign_up(app, f"person{n}@example.com", name, api=api)
        assert response.status_code == (400 if api else 422), what
        message = response.json()["error"] if api else response.text
        assert "name" in message and ("one line" in message or "too long" in message), what
    assert (_subscribers(), _counted(), smtp.messages) == (0, 0, [])


@pytest.mark.parametrize("api", [False, True], ids=["form", "api"])
def test_good_names_are_kept_as_given_once_the_owner_confirms(app, news, smtp, api):
    for n, (given, kept) in enumerate(GOOD_NAMES.items()):
        address = f"good{n}@example.com"
        assert _sign_up(app, address, given, api=api).status_code in (200, 202)
        [link] = _confirm_links(smtp, address)
        assert client_from(app, "192.0.2.1").post(link).status_code == 200
        assert _person(address)[2] == kept, given


# --- one confirmation mail per mailbox -------------------------------------------------------------------

MAILBOXES = {
    "victim@example.com": ["victim@example.com", "victim+1@example.com", "VICTIM+news@EXAMPLE.com",
                           "victim+a+b@example.com", "victim+@example.com", "Victim+X@Example.Com",
                           "victim+" + "x" * 40 + "@example.com", "victim+%7e@example.com"],
    "reader@gmail.com": ["reader@gmail.com", "re.ader@gmail.com", "r.e.a.d.e.r+1@gmail.com",
                         "reader+x@googlemail.com", "READER@GMAIL.COM", "Re.Ader+Y@GoogleMail.com"],
}


@pytest.mark.parametrize("api", [False, True], ids=["form", "api"])
def test_plus_tags_do_not_multiply_confirmation_mails(app, news, smtp, api):
    for mailbox, spellings in MAILBOXES.items():
        for address in spellings * 3:
            assert _sign_up(app, address, None, api=api).status_code in (200, 202)
        received = [m for m in smtp.messages if m.rcpt_tos[0].lower() in {a.lower() for a in spellings}]
        print(f"\n{len(spellings) * 3} sign-ups of {len(spellings)} spellings of {mailbox}: "
              f"{len(received)} confirmation mail(s)")
        assert len(received) == 1
    # The addresses stay as typed (only the limit folds them), and other people are not folded in.
    assert _person("victim+1@example.com") is not None and _person("VICTIM+news@example.com") is not None
    for other in ("victi@example.com", "victimb@example.com", "reader@example.com"):
        assert _sign_up(app, other, None, api=api).status_code in (200, 202) and len(smtp.to(other)) == 1


# --- whom to believe about the client's address -------------------------------------------------------------

def _consent_ips() -> list[str]:
    with session_scope() as session:
        return session.scalars(select(Subscription.consent_ip).order_by(Subscription.id)).all()


@pytest.mark.parametrize("api", [False, True], ids=["form", "api"])
def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(app, news, smtp, api):
    codes = [_sign_up(app, f"u{i}@example.com", api=api, ip="198.51.100.20",
                      headers={"X-Forwarded-For": f"203.0.113.{i}, 10.0.0.1"}).status_code for i in range(20)]
    assert codes.count(429) == 15 and len(codes) - 15 == 5
    assert set(_consent_ips()) == {"198.51.100.20"}


@pytest.mark.parametrize("api", [False, True], ids=["form", "api"])
def test_forwarded_for_from_a_trusted_proxy_names_the_client(app, news, smtp, monkeypatch, api):
    monkeypatch.setenv("PUBLISHER_TRUSTED_PROXIES", "10.0.0.0/8")
    get_settings.cache_clear()
    proxy = "10.1.2.3"
    for i in range(12):  # twelve clients behind one proxy: each has its own limit
        response = _sign_up(app, f"c{i}@example.com", api=api, ip=proxy,
                            headers={"X-Forwarded-For": f"6.6.6.{i}, 203.0.113.{i}"})
        assert response.status_code in (200, 202)
    assert _consent_ips() == [f"203.0.113.{i}" for i in range(12)]
    # One client rotating what it writes left of the proxy's hop is still one client.
    codes = [_sign_up(app, f"r{j}@example.com", api=api, ip=proxy,
                      headers={"X-Forwarded-For": f"1.1.1.{j}, 203.0.113.50, 10.9.9.9"}).status_code
             for j in range(10)]
    assert codes.count(429) == 5
    # A peer outside the proxies claiming to be one is just a peer.
    codes = [_sign_up(app, f"d{j}@example.com", api=api, ip="198.51.100.77",
                      headers={"X-Forwarded-For": f"203.0.113.{100 + j}"}).status_code for j in range(7)]
    assert codes.count(429) == 2


def test_one_ipv6_network_counts_as_one_source(app, news, smtp):
    codes = [_sign_up(app, f"v6n{i}@example.com", api=bool(i % 2), ip=f"2001:db8:1:2::{i:x}").status_code
             for i in range(1, 9)]
    assert codes.count(429) == 3


# --- international addresses ---------------------------------------------------------------------------

ACCEPTED = {
    "ann@bücher.de": "ann@xn--bcher-kva.de",
    "user@例え.jp": "user@xn--r8jz45g.jp", "bob@xn--bcher-kva.de": "bob@xn--bcher-kva.de",
    "zoe@münchen.example": "zoe@xn--mnchen-3ya.example", "kim@한국.kr": "kim@xn--3e0b707e.kr",
}
REFUSED = [
    "jöhn@example.com", "ａｎｎ@example.com", "用户@例子.广告", "δοκιμή@παράδειγμα.δοκιμή", "ann@xn--zz.com",
    "ann@☕.example", "ann@bücher..de", "\u202eann@example.com", "ann@exam\u200bple.com", "ann\x00@example.com",
    "ann\r\n@example.com", "a" * 400 + "@example.com", "ann@" + "b" * 300 + ".com", "ann@-bücher.de",
    "ann@bücher.de\nBcc: x@evil.example", "", "   ", "@", "ann@", "ann",
]


@pytest.mark.parametrize("api", [False, True], ids=["form", "api"])
def test_international_addresses_get_a_clear_answer_never_a_500(app, news, smtp, api):
    for n, address in enumerate(REFUSED):
        response = _sign_up(app, address, None, api=api)
        assert response.status_code == (400 if api else 422), repr(address)
        message = response.json()["error"] if api else response.text
        assert re.search(r"address|ASCII", message), repr(address)
    assert (_subscribers(), _counted(), smtp.messages) == (0, 0, [])
    for typed, sent_to in ACCEPTED.items():
        assert _sign_up(app, typed, None, api=api).status_code in (200, 202), typed
        assert len(smtp.to(sent_to)) == 1, typed  # sent with the domain in punycode
    # Every spelling of one international address is one subscriber (and one mailbox for the daily limit).
    for again in ("bob@bücher.de", "BOB@BÜCHER.DE", "Bob@XN--BCHER-KVA.DE"):
        assert _sign_up(app, again, None, api=api).status_code in (200, 202)
    assert _person("bob@xn--bcher-kva.de") is not None and _subscribers() == len(ACCEPTED)
    assert len(smtp.to("bob@xn--bcher-kva.de")) == 1


# --- failed requests use up no limit --------------------------------------------------------------------------

@pytest.mark.parametrize("api", [False, True], ids=["form", "api"])
def test_every_error_path_leaves_no_rate_limit_event(app, news, smtp, api):
    # (A mail server that refuses is no failure of the request any more: a worker sends the mail, see
    # tests/e2e/test_transactional_mail.py.)
    failures = [
        ("not-an-address", "Ann", (400 if api else 422)),
        ("ann@example.com", "Ann\r\nBcc: x@y", (400 if api else 422)),
        ("jöhn@example.com", None, (400 if api else 422)),
    ]
    for address, name, expected in failures:
        assert _sign_up(app, address, name, api=api, ip="192.0.2.99").status_code == expected, address
    client = client_from(app, "192.0.2.99")
    unknown = client.post("/api/subscribe", json={"list": "nope", "email": "x@example.com"}) if api else \
        client.post("/subscribe/nope", data={"email": "x@example.com"})
    assert unknown.status_code == 404
    if api:
        assert client.post("/api/subscribe", json={"list": "news", "email": ["x"]}).status_code == 422
        assert client.post("/api/subscribe", content=b"{not json").status_code == 422
    assert _counted() == 0
    # and the limits are whole afterwards: five sign-ups from that IP still go through
    codes = [_sign_up(app, f"ok{i}@example.com", api=api, ip="192.0.2.99").status_code for i in range(6)]
    assert codes[:5] == [202 if api else 200] * 5 and codes[5] == 429


def test_the_preference_center_refuses_the_same_bad_names(app, settings, news, smtp):
    with session_scope() as session:
        sub = subscribe(session, news, email="pat@example.com", name="Pat", confirmed=True)
        token = make_token(settings.resolved_secret_key(), PREFERENCES,
                           SubscriptionRef(sub.subscriber_id, news.id), email="pat@example.com")
    client = client_from(app, "192.0.2.5")
    for what, name in BAD_NAMES.items():
        page = client.post(f"/preferences/{token}", data={"name": name, f"list-{news.id}": "on"})
        assert page.status_code == 422 and "name" in page.text, what
    assert _person("pat@example.com")[2] == "Pat"
    assert client.post(f"/preferences/{token}", data={"name": " Zoe\u0308  Pat ", f"list-{news.id}": "on"}
                       ).status_code == 200
    assert _person("pat@example.com")[2] == "Zoë Pat"
