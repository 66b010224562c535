"""Dependencies shared by routes, as Annotated aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from publisher.config import Settings, get_settings
from publisher.db import session_scope


def _session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


# scope="function": the request's transaction commits (and the tasks it queued are sent) BEFORE the answer
# leaves, so a client told "202, digest 12" can read digest 12 at once, and a failed commit is a 500, not a
# success that did not happen. (FastAPI's default ends a yield dependency after the response is sent.)
SessionDep = Annotated[Session, Depends(_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def page_templates() -> Jinja2Templates:
    return Jinja2Templates(directory=str(get_settings().resolved_templates_dir() / "web"))
