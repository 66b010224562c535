"""The editor's pages under /editor/: dashboard, feeds, lists, subscribers, digests, history.

Every route here sits behind `auth.require_editor` (set once, on this router, so no page can forget it): an
anonymous browser is sent to the login page, and a form posted with the session cookie but without its CSRF
token gets 403. Handlers parse the form, call one service, commit, record the act in the audit log, and
redirect (post/redirect/get) or show the page again with the error."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from publisher.web import auth
from publisher.web.routes.editor import dashboard, digests, feeds, lists, subscribers

router = APIRouter(prefix="/editor", dependencies=[Depends(auth.require_editor)], include_in_schema=False)
for module in (dashboard, feeds, lists, subscribers, digests):
    router.include_router(module.router)
