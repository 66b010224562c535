"""Editor accounts: add, list, remove, change a password, and check one at login.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended profile); a hash
made with older parameters is upgraded at the next successful login."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from publisher.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from publisher.models import Editor
from publisher.services import audit
from publisher.services.subscribers import normalize_email

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # hashing is deliberately slow: a megabyte "password" must not cost more

_hasher = PasswordHasher()
# Checked against when the account does not exist, so an unknown address costs the same time as a known one
# (the answer's timing must not tell which addresses have accounts).
_DUMMY_HASH = _hasher.hash("no such account: a password nobody has")


class LastAdminError(InvalidInputError):
    """Removing or demoting this editor would leave nobody who can manage editors."""


def editor_email(raw: str) -> str:
    """An editor's login name: the address normalised, and lower case (nobody means Ann@ and ann@ as two)."""
    return normalize_email(raw).lower()


def check_password(password: str, *, email: str = "") -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInputError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInputError(f"the password must have at most {MAX_PASSWORD} characters")
    if email and password.strip().lower() == email.lower():
        raise InvalidInputError("the password must not be the email address")


def add_editor(session: Session, *, email: str, password: str, is_admin: bool = False,
               actor: Editor | None = None) -> Editor:
    address = editor_email(email)
    check_password(password, email=address)
    if find_editor(session, address) is not None:
        raise AlreadyExistsError(f"an editor {address} already exists")
    editor = Editor(email=address, password_hash=_hasher.hash(password), is_admin=is_admin)
    session.add(editor)
    session.flush()
    audit.record(session, actor, "editor_added", address, {"admin": is_admin})
    return editor


def list_editors(session: Session) -> list[Editor]:
    return list(session.scalars(select(Editor).order_by(Editor.email)))


def find_editor(session: Session, email: str) -> Editor | None:
    return session.scalar(select(Editor).where(Editor.email == email.strip().lower()))


def get_editor(session: Session, email: str) -> Editor:
    editor = find_editor(session, email)
    if editor is None:
        raise NotFoundError(f"no editor {email.strip()}")
    return editor


def remove_editor(session: Session, *, email: str, actor: Editor | None = None) -> None:
    """Remove an account; its sessions and API tokens die with it (ON DELETE CASCADE). Its audit entries
    stay, under its address."""
    editor = get_editor(session, email)
    if editor.is_admin and _admin_count(session) == 1:
        raise LastAdminError(f"{editor.email} is the last admin: add another admin first")
    session.delete(editor)
    session.flush()
    audit.record(session, actor, "editor_removed", editor.email)


def set_password(session: Session, *, email: str, password: str, actor: Editor | None = None) -> None:
    """A new password. The account's browser sessions end (whoever knew the old one is logged out); its API
    tokens stay (revoke them on the tokens page)."""
    from publisher.services import web_sessions

    editor = get_editor(session, email)
    check_password(password, email=editor.email)
    editor.password_hash = _hasher.hash(password)
    web_sessions.end_all(session, editor)
    audit.record(session, actor, "password_changed", editor.email)


def change_own_password(session: Session, editor: Editor, *, current: str, new: str) -> None:
    """An editor's own change: the current password first (a borrowed session must not be enough)."""
    if not _verify(editor.password_hash, current[:MAX_PASSWORD]):
        raise InvalidInputError("the current password is not right")
    set_password(session, email=editor.email, password=new, actor=editor)


def authenticate(session: Session, *, email: str, password: str) -> Editor | None:
    """The editor whose password this is, else None (unknown address and wrong password look the same)."""
    editor = find_editor(session, email) if len(password) <= MAX_PASSWORD else None
    if editor is None:
        _verify(_DUMMY_HASH, password[:MAX_PASSWORD])
        return None
    if not _verify(editor.password_hash, password):
        return None
    if _hasher.check_needs_rehash(editor.password_hash):
        editor.password_hash = _hasher.hash(password)
    return editor


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _admin_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Editor).where(Editor.is_admin.is_(True))) or 0
