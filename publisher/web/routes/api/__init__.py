"""The REST API under /api/v1: everything the editor's pages do, for scripts. Each handler parses, calls
one use case (publisher/services), and returns its value; refusals come from the one mapping in
publisher/web/errors.py. Every route needs an editor (session cookie with its CSRF token, or an API token as
`Authorization: Bearer`); wiping a person needs an admin."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from publisher.web import auth
from publisher.web.errors import documented
from publisher.web.routes.api import digests, feeds, lists, subscribers

router = APIRouter(prefix="/api/v1", dependencies=[Depends(auth.require_editor)],
                   responses=documented(401, 403, 422))
for module in (feeds, lists, subscribers, digests):
    router.include_router(module.router)
