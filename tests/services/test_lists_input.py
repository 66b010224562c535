"""A list's name and sender go into mail headers, URLs and pages: CR, LF and other control characters are
refused when the list is created (by the service, so the CLI and the coming web app both refuse them), and
--from must be exactly one valid address."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from publisher.errors import InvalidInputError
from publisher.models import MailingList
from publisher.services.lists import insert_list as create_list
from tests.support.consent import make_list

FEED = "https://blog.example.org/base/feed"

BAD_NAMES = ["news\r\nBcc: x@evil.example", "news\n", "\rnews", "ne\x00ws", "tab\tname", "esc\x1bname",
             "\u202enews", "news\u2028weekly", "zero\u200bwidth", "news\x85", "", "   ", "x" * 201]
GOOD_NAMES = ["Weekly News", "Nouvelles d'été", "日本語のニュース", "news-2026", "x" * 200]
BAD_SENDERS = ["Blog <news@example.org>\r\nBcc: x@evil.example", "news@example.org\n", "\r\nnews@example.org",
               "Blog\t<news@example.org>", "\x00news@example.org", "Blog <news@example.org>\u2028",
               "a@example.org, b@example.org", "a@example.org; b@example.org", "Blog", "Blog <news@example.org",
               "Blog <news@example.org> extra", "Blog news@example.org", "news@", "<>", "", "Blog <jöhn@example.org>",
               "Blog <news@[192.0.2.1]>", '"unterminated <news@example.org>', "group: a@example.org, b@example.org;"]
GOOD_SENDERS = ["Blog <news@example.org>", "news@example.org", '"Blog, Inc." <news@example.org>',
                "Blög <news@bücher.de>", "<news@example.org>"]


@pytest.fixture
def feed(db):
    make_list(db, name="base")
    return FEED


def test_list_names_with_control_characters_are_refused(db, feed):
    for name in BAD_NAMES:
        with pytest.raises(InvalidInputError) as caught:
            create_list(db, name=name, feed_urls=[feed])
        assert "\n" not in str(caught.value) and "name" in str(caught.value), repr(name)
    for n, name in enumerate(GOOD_NAMES):
        create_list(db, name=name, feed_urls=[feed])
    assert db.scalar(select(func.count()).select_from(MailingList)) == 1 + len(GOOD_NAMES)


def test_senders_must_be_one_clean_address(db, feed):
    for sender in BAD_SENDERS:
        with pytest.raises(InvalidInputError) as caught:
            create_list(db, name="news", feed_urls=[feed], sender=sender)
        assert "\n" not in str(caught.value) and "--from" in str(caught.value), repr(sender)
    assert db.scalar(select(func.count()).select_from(MailingList)) == 1
    for n, sender in enumerate(GOOD_SENDERS):
        assert create_list(db, name=f"news{n}", feed_urls=[feed], sender=sender).sender == sender
