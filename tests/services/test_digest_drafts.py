"""The editor's intro note and subject for a list's next digest: shown in the preview, sent above the posts
in both parts, stored with the digest, and gone once it went out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from publisher.errors import InvalidInputError
from publisher.models import Digest
from publisher.models.base import utcnow
from publisher.services import digests, drafts
from publisher.services.subscribers import subscribe
from tests.support.consent import add_post, make_list

NOTE = "Hello from the workshop!\nThis week: yokes.\n\nSecond paragraph <b>with</b> & an ampersand."


@pytest.fixture
def news(db):
    mailing_list = make_list(db, name="news", since=utcnow() - timedelta(days=3))
    subscribe(db, mailing_list, email="dana@example.com", confirmed=True)
    add_post(db, mailing_list, "Knitting a seamless yoke", at=utcnow() - timedelta(hours=1))
    db.commit()
    return mailing_list


def test_preview_shows_the_note_above_the_posts_and_the_subject(db, consent_settings, news):
    drafts.save_draft(db, news, subject="Yokes, at last", intro_note=NOTE, editor_email="ed@example.org")
    db.commit()
    rendered = digests.preview_digest(db, consent_settings, news).rendered
    assert rendered.subject == "Yokes, at last"
    html, text = rendered.html, rendered.text
    assert html.index("Hello from the workshop! This week: yokes.") < html.index("class=\"post-title\"")
    assert "Second paragraph &lt;b&gt;with&lt;/b&gt; &amp; an ampersand." in html  # plain text, escaped
    assert "<b>with</b>" not in html
    assert text.index("Hello from the workshop! This week: yokes.\n\nSecond paragraph <b>with</b>") \
        < text.index("Knitting a seamless yoke")


def test_the_sent_digest_keeps_the_note_and_the_next_one_has_none(db, consent_settings, news):
    drafts.save_draft(db, news, subject="Yokes, at last", intro_note=NOTE)
    db.commit()
    digest = digests.compose_digest(db, consent_settings, news)
    db.commit()
    assert digest.subject == "Yokes, at last" and digest.intro_note == NOTE.strip()
    assert "Hello from the workshop!" in digest.html and "Hello from the workshop!" in digest.text
    assert drafts.draft_of(db, news.id) is None

    add_post(db, news, "Sleeves next", at=utcnow())
    second = digests.compose_digest(db, consent_settings, news)
    db.commit()
    assert second.intro_note is None and "Hello from the workshop!" not in second.html
    assert "Sleeves next" in second.subject
    assert db.get(Digest, digest.id).intro_note == NOTE.strip()


def test_a_long_link_in_the_note_is_never_broken_in_the_text_part(db, consent_settings, news):
    link = "https://example.org/" + "a-long-path-" * 10
    drafts.save_draft(db, news, subject="", intro_note=f"Read this first: {link} — it explains the yoke.")
    db.commit()
    text = digests.preview_digest(db, consent_settings, news).rendered.text
    assert link in text.splitlines()  # on a line of its own, whole
    assert "Read this first:" in text.splitlines() and "— it explains the yoke." in text.splitlines()


def test_without_a_draft_the_template_subject_and_no_note(db, consent_settings, news):
    rendered = digests.preview_digest(db, consent_settings, news).rendered
    assert rendered.subject == "Knitting a seamless yoke"  # one post: its title (issue 15's default)
    assert 'class="intro' not in rendered.html


def test_emptying_both_fields_removes_the_draft(db, news):
    drafts.save_draft(db, news, subject="x", intro_note="y")
    assert drafts.save_draft(db, news, subject="  ", intro_note="\n") is None
    assert drafts.draft_of(db, news.id) is None


@pytest.mark.parametrize("subject, note, message", [
    ("Two\u202elines", "", "control or invisible"),
    ("x" * 201, "", "too long"),
    ("", "bell\x07", "control character"),
    ("", "n" * 5001, "too long"),
])
def test_hostile_subjects_and_notes_are_refused(db, news, subject, note, message):
    with pytest.raises(InvalidInputError, match=message):
        drafts.save_draft(db, news, subject=subject, intro_note=note)


def test_a_subject_with_a_line_break_becomes_one_line(db, consent_settings, news):
    drafts.save_draft(db, news, subject="Yokes\r\nBcc: victim@example.com", intro_note="")
    db.commit()
    assert digests.preview_digest(db, consent_settings, news).rendered.subject == "Yokes Bcc: victim@example.com"
