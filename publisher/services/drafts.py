"""Use case: the intro note and subject an editor writes for a list's next digest.

The draft waits in `digest_drafts` until a digest of the list is composed (sent now or at its slot); that
digest takes the note and subject (services.digests) and the draft is deleted, so a note goes out once.
The preview shows the draft exactly as it will be sent."""

from __future__ import annotations

import unicodedata

from sqlalchemy import delete
from sqlalchemy.orm import Session

from publisher.errors import InvalidInputError
from publisher.models import DigestDraft, MailingList

MAX_SUBJECT = 200  # render.SUBJECT_LIMIT: a longer one would be cut in the inbox
MAX_NOTE = 5000


def draft_of(session: Session, list_id: int) -> DigestDraft | None:
    return session.get(DigestDraft, list_id)


def save_draft(session: Session, mailing_list: MailingList, *, subject: str, intro_note: str,
               editor_email: str | None = None) -> DigestDraft | None:
    """Keep what the editor wrote for the next digest; both empty removes the draft (None)."""
    subject, intro_note = _checked_subject(subject), _checked_note(intro_note)
    if not subject and not intro_note:
        discard_draft(session, mailing_list.id)
        return None
    draft = draft_of(session, mailing_list.id) or DigestDraft(list_id=mailing_list.id)
    draft.subject, draft.intro_note, draft.updated_by = subject or None, intro_note or None, editor_email
    session.add(draft)
    session.flush()
    return draft


def discard_draft(session: Session, list_id: int) -> None:
    session.execute(delete(DigestDraft).where(DigestDraft.list_id == list_id))


def _checked_subject(subject: str) -> str:
    subject = " ".join(subject.split())  # one line: a line break in a header would start another header
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in subject):
        raise InvalidInputError("the subject has a control or invisible character: use plain text")
    if len(subject) > MAX_SUBJECT:
        raise InvalidInputError(f"the subject is too long (at most {MAX_SUBJECT} characters)")
    return subject


def _checked_note(note: str) -> str:
    note = note.replace("\r\n", "\n").strip()
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in note):
        raise InvalidInputError("the intro note has a control character: use plain text")
    if len(note) > MAX_NOTE:
        raise InvalidInputError(f"the intro note is too long (at most {MAX_NOTE} characters)")
    return note
