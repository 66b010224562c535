from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from publisher.web.schemas import BodyId

Email = Annotated[str, StringConstraints(min_length=3, max_length=320)]


class SubscriberOut(BaseModel):
    email: str
    name: str | None
    list_name: str
    status: str = Field(description="pending | confirmed | unsubscribed")
    source: str | None
    subscribed_at: datetime | None
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    cadence: str | None
    timezone: str | None


class SearchOut(BaseModel):
    total: int
    subscribers: list[SubscriberOut]


class SubscriberAdd(BaseModel):
    email: Email
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    confirmed: bool = Field(False, description="consent obtained elsewhere: skip the confirmation mail")


class ImportOut(BaseModel):
    format: str
    encoding: str
    added: int
    unchanged: int
    suppressed: list[str]
    errors: list[str] = Field(description="one line per rejected row: 'line N: reason'")


class Suppress(BaseModel):
    email: Email
    list_id: BodyId | None = Field(None, description="only from this list; none: from every list")


class Wipe(BaseModel):
    email: Email


class Wiped(BaseModel):
    erased: dict[str, int]
