from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from publisher.web.schemas.subscribers import Email


class PreviewOut(BaseModel):
    list_name: str
    subject: str
    html: str
    text: str
    post_count: int
    only_old_posts: bool = Field(description="nothing is new: the preview shows the list's latest posts")
    intro_note: str
    draft_subject: str = Field(description="the subject the editor wrote ('' : the template's)")


class FindingOut(BaseModel):
    feature: str
    title: str
    client: str
    level: str = Field(description="unsupported | partial | ignored")
    version: str
    notes: list[str]
    url: str


class LintOut(BaseModel):
    unsupported: int
    partial: int
    ignored: int
    findings: list[FindingOut]


class Draft(BaseModel):
    """Both empty: no draft (the template's subject, no note)."""

    subject: Annotated[str, StringConstraints(max_length=400)] = ""
    intro_note: Annotated[str, StringConstraints(max_length=10000)] = ""


class TestSendIn(BaseModel):
    to: Email


class TestSendOut(BaseModel):
    to: str
    subject: str
    mail_id: int  # the test mail's row in the mails ledger (queued; sent by a worker, retried like any mail)


class SendOut(BaseModel):
    digest_id: int | None = Field(description="None: nothing new, nothing sent")
    status: str | None
    reason: str | None
    posts: int
    recipients: int


class ProgressOut(BaseModel):
    digest_id: int
    status: str
    reason: str | None
    recipients: int
    sent: int
    failed: int
    pending: int
    retrying: int
    cancelled: int
    rate_per_second: float
    eta_seconds: float | None


class CancelOut(ProgressOut):
    cancelled_recipients: int


class PastDigestOut(BaseModel):
    digest_id: int
    list_name: str
    subject: str
    status: str
    reason: str | None
    edition: str | None
    created_at: datetime
    finished_at: datetime | None
    posts: int
    recipients: int
    sent: int
    failed: int
    cancelled: int
    unsubscribes: int
