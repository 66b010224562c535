"""GDPR: export everything held on a person; wipe it, leaving only a hash that keeps them from being re-added."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect, select, text

from publisher.errors import NotFoundError
from publisher.models import Suppression
from publisher.models.base import utcnow
from publisher.services import gdpr, ratelimit
from publisher.services.digests import compose_digest
from publisher.services.importer import import_csv
from publisher.services.subscribers import SuppressedAddressError, subscribe
from tests.support.consent import add_post, make_list

PERSON, NAME, IP = "Wendy.Wiped@Example.com", "Wendy Wipe-Me", "198.51.100.77"


def _personal_rows(session) -> list[str]:
    """Every cell of every table that holds the address, the name or the IP, in any case."""
    hits = []
    for table in inspect(session.get_bind()).get_table_names():
        for row in session.execute(text(f'SELECT * FROM "{table}"')).all():
            for value in row:
                if isinstance(value, str) and any(s.lower() in value.lower() for s in (PERSON, NAME, IP)):
                    hits.append(f"{table}: {value[:60]}")
    return hits


@pytest.fixture
def wendy(db, consent_settings):
    news, other = make_list(db), make_list(db, name="other")
    subscribe(db, news, email=PERSON, name=NAME, confirmed=True, source="form", consent_ip=IP)
    subscribe(db, other, email=PERSON, name=NAME)
    ratelimit.record(db, ratelimit.CONFIRM_MAIL, PERSON.lower(), now=utcnow())
    ratelimit.record(db, ratelimit.SIGNUP_PER_IP, IP, now=utcnow())
    add_post(db, news, "A post", at=utcnow())
    digest = compose_digest(db, consent_settings, news)
    db.execute(text("UPDATE deliveries SET last_reply = :r"), {"r": f"250 ok for <{PERSON}>"})
    db.commit()
    return news, digest


def test_export_data_holds_everything_about_the_person(db, wendy):
    data = gdpr.export_data(db, PERSON)
    json.dumps(data)  # JSON-ready
    assert data["subscriber"]["name"] == NAME
    assert {s["status"] for s in data["subscriptions"]} == {"confirmed", "pending"}
    assert data["subscriptions"][0]["consent_ip"] == IP
    assert len(data["deliveries"]) == 1 and data["deliveries"][0]["email"] == PERSON.replace("Example.com", "example.com")


def test_after_a_wipe_no_personal_row_remains_and_the_person_is_never_re_added(db, wendy, tmp_path):
    news, _ = wendy
    assert _personal_rows(db)  # the scan finds them before
    counts = gdpr.wipe(db, PERSON)
    db.commit()
    left = _personal_rows(db)
    print(f"\nwipe removed {counts}; personal cells left: {len(left)}")
    assert left == []
    [entry] = db.scalars(select(Suppression).where(Suppression.list_id.is_(None))).all()
    assert entry.email is None and len(entry.email_hash) == 64 and entry.reason == "wiped"
    with pytest.raises(SuppressedAddressError):
        subscribe(db, news, email=PERSON.lower(), confirmed=True)
    path = tmp_path / "again.csv"
    path.write_text(f"email,name,status\n{PERSON},{NAME},confirmed\n")
    report = import_csv(db, news, path)
    db.commit()
    assert report.added == 0 and len(report.suppressed) == 1 and _personal_rows(db) == []
    with pytest.raises(NotFoundError):
        gdpr.export_data(db, "nobody@example.com")
