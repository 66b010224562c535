"""When the next poll happens: adaptive interval, server hints, backoff with jitter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from publisher.ingest.backoff import (
    after_failure,
    after_success,
    next_interval,
    retry_after_seconds,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_news_polls_sooner_and_quiet_later_within_bounds():
    assert next_interval(30, found_news=True, lower=5, upper=1440) == 15
    assert next_interval(30, found_news=False, lower=5, upper=1440) == 45
    assert next_interval(6, found_news=True, lower=5, upper=1440) == 5
    assert next_interval(1400, found_news=False, lower=5, upper=1440) == 1440


def test_success_is_jittered_and_respects_max_age():
    times = {after_success(NOW, 60, max_age=None, upper=1440) for _ in range(20)}
    assert len(times) > 1 and all(NOW + timedelta(minutes=54) <= t <= NOW + timedelta(minutes=66) for t in times)
    assert after_success(NOW, 10, max_age=3600, upper=1440) >= NOW + timedelta(hours=1)
    assert after_success(NOW, 10, max_age=10 ** 9, upper=1440) <= NOW + timedelta(days=1)


def test_failures_back_off_exponentially_up_to_the_cap():
    first = after_failure(NOW, 30, 1, retry_after=None, upper=1440)
    fourth = after_failure(NOW, 30, 4, retry_after=None, upper=1440)
    assert NOW + timedelta(minutes=24) <= first <= NOW + timedelta(minutes=36)
    assert NOW + timedelta(minutes=192) <= fourth <= NOW + timedelta(minutes=288)
    assert after_failure(NOW, 30, 50, retry_after=None, upper=1440) <= NOW + timedelta(minutes=1440 * 1.2)


@pytest.mark.parametrize("value, seconds", [("7200", 7200), ("Wed, 25 Nov 2026 14:00:00 GMT", 7200),
                                            ("Wed, 25 Nov 2026 11:00:00 GMT", 0), ("soon", None), (None, None)])
def test_retry_after_forms(value, seconds):
    assert retry_after_seconds(value, NOW) == seconds


def test_retry_after_wins_over_a_shorter_backoff():
    assert after_failure(NOW, 30, 1, retry_after="7200", upper=1440) >= NOW + timedelta(hours=2)
