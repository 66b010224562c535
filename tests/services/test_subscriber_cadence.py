"""Editions per list x cadence x time zone: each slot fires once at its local hour, across daylight-saving
changes; nothing is sent when nothing is new; each subscriber gets each post once, whatever they switch to."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import select

from publisher.compose.schedule import latest_slot
from publisher.models import Digest
from publisher.services.digests import compose_digest
from publisher.services.preferences import Choice, update_preferences
from publisher.services.schedule import compose_due_digests
from publisher.services.subscribers import subscribe
from tests.support.consent import add_post, make_list, received

PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")


def _run(session, settings, start: datetime, days: int, *, post_days: set[int], step=timedelta(minutes=20),
         on_day=None):
    """Tick every `step` for `days` days; a post appears at 12:00 UTC on each day in post_days."""
    now, posted = start, set()
    while now < start + timedelta(days=days):
        day = (now - start).days
        if day in post_days and day not in posted and now.hour >= 12:
            add_post(session, session.info["list"], f"post of day {day}", at=now)
            posted.add(day)
        if on_day and now.hour == 14 and now.minute < step.seconds // 60:
            on_day(day, now)
        compose_due_digests(session, settings, now)
        now += step
    return session.scalars(select(Digest).order_by(Digest.id)).all()


def test_daily_slots_fire_once_at_local_time_across_dst_in_two_zones(db, consent_settings):
    # 2026: the USA springs forward on March 8, Europe on March 29.
    start = datetime(2026, 3, 2, tzinfo=UTC)
    news = make_list(db, cadence="daily", send_at="08:00", timezone="Europe/Paris", since=start,
                     last_slot_at=latest_slot(start, cadence="daily", send_at="08:00", timezone="Europe/Paris"))
    db.info["list"] = news
    subscribe(db, news, email="paris@example.com", confirmed=True)
    ny = subscribe(db, news, email="ny@example.com", confirmed=True)
    update_preferences(db, ny.subscriber_id, name=None, choices={news.id: Choice(True, "", "America/New_York")},
                       now=start)
    db.commit()
    quiet_days = {5, 6, 20}
    digests = _run(db, consent_settings, start, 32, post_days=set(range(32)) - quiet_days)

    post_times = [start + timedelta(days=d, hours=12) for d in range(32) if d not in quiet_days]
    local = Counter()
    for digest in digests:
        zone = NEW_YORK if "America/New_York" in digest.edition else PARIS
        at = digest.cutoff_at.astimezone(zone)
        assert (at.hour, at.minute) == (8, 0), f"{digest.edition} fired at {at}"
        local[(zone.key, at.date())] += 1
    print(f"\n32 simulated days across both DST switches: {len(digests)} digests, "
          f"all at 08:00 local, at most one per zone per day")
    assert max(local.values()) == 1
    for zone, email in ((PARIS, "paris@example.com"), (NEW_YORK, "ny@example.com")):
        slots = _local_slots(zone, start, start + timedelta(days=32))
        # A slot sends only when something arrived since the previous one: quiet days send nothing.
        due = [s for prev, s in pairwise(slots) if any(prev < t <= s for t in post_times)]
        assert sorted(d for (z, d) in local if z == zone.key) == [s.astimezone(zone).date() for s in due]
        titles = received(db, email)
        assert len(titles) == len(set(titles)), f"{email} got a post twice"
        assert len(titles) == sum(1 for t in post_times if t <= slots[-1])


def _local_slots(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Every 08:00 local between start and end, as UTC instants (the one before start included)."""
    day, slots = (start - timedelta(days=1)).astimezone(zone).date(), []
    while (slot := datetime(day.year, day.month, day.day, 8, tzinfo=zone).astimezone(UTC)) < end:
        slots.append(slot)
        day += timedelta(days=1)
    return slots


def test_switching_cadence_loses_no_post_and_repeats_none(db, consent_settings):
    start = datetime(2026, 6, 1, tzinfo=UTC)  # a Monday
    news = make_list(db, cadence="daily", send_at="08:00", timezone="UTC", since=start,
                     last_slot_at=latest_slot(start, cadence="daily", send_at="08:00", timezone="UTC"))
    db.info["list"] = news
    subscribe(db, news, email="stays@example.com", confirmed=True)
    switches = subscribe(db, news, email="switches@example.com", confirmed=True)
    db.commit()

    def switch(day, now):
        if day == 2:  # Wednesday afternoon: daily -> weekly (Mondays)
            update_preferences(db, switches.subscriber_id, name=None, choices={news.id: Choice(True, "weekly", "")},
                               now=now)
        if day == 9:  # the next Wednesday: back to daily, in another zone
            update_preferences(db, switches.subscriber_id, name=None,
                               choices={news.id: Choice(True, "daily", "Asia/Tokyo")}, now=now)
        db.commit()

    _run(db, consent_settings, start, 14, post_days=set(range(13)), on_day=switch)
    everything = [f"post of day {d}" for d in range(13)]
    for email in ("stays@example.com", "switches@example.com"):
        titles = received(db, email)
        print(f"\n{email}: {len(titles)} posts received, {len(set(titles))} distinct, of {len(everything)}")
        assert len(titles) == len(set(titles)), f"{email} got a post twice"
        assert sorted(titles) == sorted(everything), f"{email} lost a post"


def test_monthly_and_weekly_slots():
    now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    assert latest_slot(now, cadence="monthly", send_at="08:00", timezone="Europe/Paris") == \
        datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
    early = datetime(2026, 4, 1, 5, 0, tzinfo=UTC)  # before 08:00 Paris on April 1st: still March's slot
    assert latest_slot(early, cadence="monthly", send_at="08:00", timezone="Europe/Paris").day == 1
    assert latest_slot(early, cadence="monthly", send_at="08:00", timezone="Europe/Paris").month == 3
    assert latest_slot(now, cadence="weekly", send_at="08:00", timezone="UTC", weekday=2).date() == \
        datetime(2026, 3, 25).date()


def test_send_now_is_one_digest_and_then_nothing(db, consent_settings):
    news = make_list(db)
    subscribe(db, news, email="a@example.com", confirmed=True)
    subscribe(db, news, email="b@example.com")  # pending: gets nothing but the confirmation
    add_post(db, news, "Hello", at=datetime.now(UTC))
    digest = compose_digest(db, consent_settings, news)
    assert digest.recipient_count == 1 and digest.post_count == 1
    assert compose_digest(db, consent_settings, news) is None
    assert received(db, "b@example.com") == []
