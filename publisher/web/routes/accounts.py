"""Editor accounts on the web: one's own API tokens, and (admins) the editors and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from publisher.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from publisher.services import api_tokens, audit, editors
from publisher.web import auth
from publisher.web.deps import SessionDep
from publisher.web.pages import editor_page

router = APIRouter(prefix="/editor", include_in_schema=False)

AUDIT_PAGE = 100


@router.get("/tokens")
def tokens_page(request: Request, session: SessionDep, editor: auth.CurrentEditor) -> Response:
    return _tokens(request, session, editor)


@router.post("/tokens")
def create_token(request: Request, session: SessionDep, editor: auth.CurrentEditor,
                 name: Annotated[str, Form()] = "") -> Response:
    if editor.id is None:
        return _tokens(request, session, editor, status=400,
                       error="PUBLISHER_API_TOKEN is no account: log in as an editor to make tokens")
    try:
        token, row = api_tokens.create(session, editor, name=name)
    except InvalidInputError as exc:
        return _tokens(request, session, editor, status=400, error=str(exc))
    return _tokens(request, session, editor, status=201, new_token=token, new_name=row.name)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, session: SessionDep, editor: auth.CurrentEditor, token_id: int) -> Response:
    try:
        api_tokens.revoke(session, editor, token_id)
    except NotFoundError as exc:
        return _tokens(request, session, editor, status=404, error=str(exc))
    return RedirectResponse("/editor/tokens", status_code=303)


def _tokens(request: Request, session, editor, *, status: int = 200, **context) -> Response:
    tokens = api_tokens.tokens_of(session, editor) if editor.id is not None else []
    return editor_page(request, "editor/tokens.html", {"tokens": tokens, **context}, status=status)


@router.get("/editors")
def editors_page(request: Request, session: SessionDep, admin: auth.CurrentAdmin) -> Response:
    return _editors(request, session)


@router.post("/editors")
def add_editor(request: Request, session: SessionDep, admin: auth.CurrentAdmin,
               email: Annotated[str, Form(max_length=400)] = "", password: Annotated[str, Form()] = "",
               is_admin: Annotated[bool, Form()] = False) -> Response:
    try:
        added = editors.add_editor(session, email=email, password=password, is_admin=is_admin, actor=admin)
    except (InvalidInputError, AlreadyExistsError) as exc:
        return _editors(request, session, status=400, error=str(exc), email=email)
    return _editors(request, session, status=201, message=f"Added {added.email} as {added.role}.")


@router.post("/editors/remove")
def remove_editor(request: Request, session: SessionDep, admin: auth.CurrentAdmin,
                  email: Annotated[str, Form(max_length=400)] = "") -> Response:
    try:
        editors.remove_editor(session, email=email, actor=admin)
    except (InvalidInputError, NotFoundError) as exc:
        return _editors(request, session, status=400, error=str(exc))
    return RedirectResponse("/editor/editors", status_code=303)


def _editors(request: Request, session, *, status: int = 200, **context) -> Response:
    return editor_page(request, "editor/editors.html", {"editors": editors.list_editors(session), **context},
                       status=status)


@router.get("/audit")
def audit_page(request: Request, session: SessionDep, admin: auth.CurrentAdmin, action: str = "",
               before: int | None = None) -> Response:
    entries = audit.recent(session, limit=AUDIT_PAGE, action=action or None, before_id=before)
    older = entries[-1].id if len(entries) == AUDIT_PAGE else None
    return editor_page(request, "editor/audit.html", {"entries": entries, "action": action, "older": older})
