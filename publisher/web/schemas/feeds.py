from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

Url = Annotated[str, StringConstraints(min_length=8, max_length=2048, pattern=r"^https?://\S+$")]


class FeedOut(BaseModel):
    id: int
    url: str
    name: str | None
    title: str | None
    site_url: str | None
    status: str = Field(description="active | paused | retired")
    hub_url: str | None
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_http_status: int | None
    last_error: str | None
    consecutive_failures: int
    next_poll_at: datetime | None
    poll_interval_minutes: float | None
    hub_state: str
    hub_expires_at: datetime | None
    hub_error: str | None


class FeedAdd(BaseModel):
    url: Url
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    backfill: int = Field(0, ge=0, le=100, description="treat the N newest existing posts as news")


class FeedAdded(BaseModel):
    feed: FeedOut
    baseline: int = Field(description="existing posts taken as the baseline")
    moved_from: str | None = Field(description="the URL given, when it redirected permanently to feed.url")


class FeedCheck(BaseModel):
    url: Url


class CheckedPost(BaseModel):
    id: str
    title: str
    link: str | None
    published: str | None
    updated: str | None
    author: str | None
    categories: list[str]
    content_html: str
    image_url: str | None


class FeedChecked(BaseModel):
    title: str
    link: str | None
    hub: str | None
    warning: str | None
    posts: list[CheckedPost]
