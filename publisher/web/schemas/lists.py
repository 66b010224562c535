from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from publisher.web.schemas.feeds import Url

Cadence = Literal["immediate", "daily", "weekly", "monthly"]
Day = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Sender = Annotated[str, StringConstraints(min_length=3, max_length=500)]
Clock = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Zone = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Template = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ListOut(BaseModel):
    id: int
    name: str
    sender: str | None = Field(description="None: PUBLISHER_FROM")
    cadence: str
    send_at: str
    timezone: str
    day: str
    template: str
    content_mode: str
    paused: bool
    feeds: list[str]
    subscribers: dict[str, int] = Field(description="by status: pending, confirmed, unsubscribed")


class ListDetail(ListOut):
    snippet: str = Field(description="HTML for a Blogger HTML/JavaScript gadget: a plain sign-up form")


class ListCreate(BaseModel):
    name: Name
    feeds: list[Url] = Field(min_length=1, max_length=50)
    cadence: Cadence = "daily"
    send_at: Clock = "08:00"
    timezone: Zone = "UTC"
    day: Day = "monday"
    sender: Sender | None = None
    content_mode: Literal["full", "excerpt"] = "full"
    template: Template = "digest"


class ListCreated(BaseModel):
    list: ListOut
    added_feeds: list[str] = Field(description="feeds added now (their posts taken as the baseline)")


class ListUpdate(BaseModel):
    """Only what is given changes. `sender: ""` goes back to PUBLISHER_FROM."""

    feeds: list[Url] | None = Field(None, min_length=1, max_length=50)
    cadence: Cadence | None = None
    send_at: Clock | None = None
    timezone: Zone | None = None
    day: Day | None = None
    sender: Annotated[str, StringConstraints(max_length=500)] | None = None
    content_mode: Literal["full", "excerpt"] | None = None
    template: Template | None = None
    paused: bool | None = None


class Schedule(BaseModel):
    cadence: Cadence
    send_at: Clock
    timezone: Zone = "UTC"
    day: Day = "monday"
    paused: bool = False
