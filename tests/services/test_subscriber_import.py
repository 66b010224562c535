"""CSV import (generic, FeedBurner, follow.it) and export: bad rows reported by line, the rest imported,
idempotent, provenance kept, suppressed addresses kept out."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from sqlalchemy import func, select

from publisher.models import Subscriber, Subscription
from publisher.services import suppression
from publisher.services.importer import import_csv
from publisher.services.subscribers import export_csv, subscribe, unsubscribe
from tests.support.consent import make_list

GENERIC = """email,name,status,subscribed_at,ip,source
ann@example.com,Ann,confirmed,2021-03-04T05:06:07Z,203.0.113.9,blog sidebar
not-an-address,Bad,confirmed,,,
bob@example.com,Bob,pending,2020-01-02,,
carol@example.com,,unsubscribed,,,
dave@example.com,Dave,confirmed,yesterday,,
erin@example.com,Erin,confirmed,,999.1.1.1,
frank@example.com,Frank,maybe,,,
,No address,confirmed,,,
gina@example.com,Gina,active,,,
"""


def _write(tmp_path, text: str, name: str = "subs.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_generic_csv_reports_each_bad_row_and_imports_the_rest(db, tmp_path):
    news = make_list(db)
    report = import_csv(db, news, _write(tmp_path, GENERIC))
    db.commit()
    print("\n" + "\n".join(report.errors))
    assert [e.split(":")[0] for e in report.errors] == ["line 3", "line 6", "line 7", "line 8", "line 9"]
    assert "not a valid email address" in report.errors[0]
    assert "not a date" in report.errors[1] and "not an IP address" in report.errors[2]
    assert "unknown status" in report.errors[3]
    assert report.added == 4 and report.format == "generic"
    statuses = dict(db.execute(select(Subscriber.email, Subscription.status).join(Subscription)).all())
    assert statuses == {"ann@example.com": "confirmed", "bob@example.com": "pending",
                        "carol@example.com": "unsubscribed", "gina@example.com": "confirmed"}
    ann = db.scalar(select(Subscription).join(Subscriber).where(Subscriber.email == "ann@example.com"))
    assert (ann.consent_at, ann.consent_ip, ann.source) == (datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC),
                                                           "203.0.113.9", "blog sidebar")

    again = import_csv(db, news, _write(tmp_path, GENERIC))  # idempotent
    db.commit()
    assert again.added == 0 and again.unchanged == 4 and len(again.errors) == 5
    assert db.scalar(select(func.count()).select_from(Subscription)) == 4


def test_suppressed_and_unsubscribed_addresses_stay_out_after_reimport(db, tmp_path):
    news = make_list(db)
    first = subscribe(db, news, email="gone@example.com", confirmed=True)
    unsubscribe(db, subscriber_id=first.subscriber_id, list_id=news.id)
    suppression.suppress(db, "bounced@example.com", reason=suppression.HARD_BOUNCE, source="test")
    db.commit()
    csv = "email,status\ngone@example.com,confirmed\nbounced@example.com,confirmed\nnew@example.com,confirmed\n"
    report = import_csv(db, news, _write(tmp_path, csv))
    db.commit()
    assert report.suppressed == ["line 3: bounced@example.com is on the suppression list (hard_bounce): it gets no mail"]
    statuses = dict(db.execute(select(Subscriber.email, Subscription.status).join(Subscription)).all())
    assert statuses == {"gone@example.com": "unsubscribed", "new@example.com": "confirmed"}


def test_feedburner_export_is_recognised(db, tmp_path):
    news = make_list(db)
    text = "Email,Subscribed,Status\nfb1@example.com,06/17/2009 09:52,Active\nfb2@example.com,04/30/2009 01:37,Pending Verification\n"
    report = import_csv(db, news, _write(tmp_path, text, "feedburner.csv"))
    db.commit()
    assert report.format == "feedburner" and report.errors == [] and report.added == 2
    rows = {s.subscriber.email: s for s in db.scalars(select(Subscription))}
    assert rows["fb1@example.com"].status == "confirmed" and rows["fb2@example.com"].status == "pending"
    assert rows["fb1@example.com"].consent_at == datetime(2009, 6, 17, 9, 52, tzinfo=UTC)
    assert rows["fb1@example.com"].source == "import:feedburner:feedburner.csv"


def test_follow_it_export_is_recognised(db, tmp_path):
    news = make_list(db)
    text = "Email address,Followed since,Status\nfi@example.com,2022-05-13 10:00:00,active\n"
    report = import_csv(db, news, _write(tmp_path, text, "followit.csv"))
    db.commit()
    assert report.format == "follow.it" and report.errors == [] and report.added == 1


def test_export_round_trips_through_import(db, tmp_path):
    news = make_list(db)
    import_csv(db, news, _write(tmp_path, GENERIC))
    db.commit()
    out = io.StringIO()
    assert export_csv(db, news, out) == 4
    other = make_list(db, name="copy")
    report = import_csv(db, other, _write(tmp_path, out.getvalue(), "export.csv"))
    assert report.errors == [] and report.added == 4
