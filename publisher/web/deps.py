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


SessionDep = Annotated[Session, Depends(_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def page_templates() -> Jinja2Templates:
    return Jinja2Templates(directory=str(get_settings().resolved_templates_dir() / "web"))
