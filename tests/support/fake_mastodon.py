"""A fake Mastodon instance speaking the real API's shapes: /api/v1|v2/instance, verify_credentials,
POST /api/v1/statuses with Idempotency-Key (a repeated key returns the status it made, as Mastodon does for an
hour), PUT /api/v1/statuses/:id (edits), GET /api/v1/accounts/:id/statuses. Statuses over the instance's
limit are refused with 422, counted by Mastodon.py's own get_status_length (an independent counter)."""

from __future__ import annotations

import html
import itertools
import re
from datetime import UTC, datetime

from mastodon import Mastodon

from tests.support.fake_http import FakeService, Request

ACCOUNT_ID = "109000000000000001"
_URL = re.compile(r"https?://[^\s<>\"]+")


class FakeMastodon(FakeService):
    def __init__(self, *, token: str = "mastodon-token", max_characters: int = 500):
        self.token, self.max_characters = token, max_characters
        self.statuses: list[dict] = []  # newest last
        self.idempotency: dict[str, str] = {}  # key -> status id
        self._ids = itertools.count(110000000000000000)
        super().__init__()

    @property
    def account(self) -> dict:
        return {"id": ACCOUNT_ID, "username": "blog", "acct": "blog", "display_name": "The Blog", "locked": False,
                "bot": True, "created_at": "2024-01-01T00:00:00.000Z", "note": "", "url": f"{self.url}/@blog",
                "avatar": "", "header": "", "followers_count": 0, "following_count": 0, "statuses_count":
                len(self.statuses), "fields": [], "emojis": []}

    def forget_keys(self) -> None:
        """What an hour does: Mastodon no longer remembers our idempotency keys."""
        self.idempotency.clear()

    def route(self, request: Request):
        path = request.path.rstrip("/")
        if request.method == "GET" and path in ("/api/v1/instance", "/api/v2/instance"):
            return 200, {}, self._instance(v2=path.endswith("v2/instance"))
        if request.bearer != self.token:
            return 401, {}, {"error": "The access token is invalid"}
        if request.method == "GET" and path == "/api/v1/accounts/verify_credentials":
            return 200, {}, self.account
        if request.method == "GET" and path == f"/api/v1/accounts/{ACCOUNT_ID}/statuses":
            limit = int(request.query.get("limit", 20))
            return 200, {}, list(reversed(self.statuses))[:limit]
        if request.method == "POST" and path == "/api/v1/statuses":
            return self._create(request)
        if request.method == "PUT" and path.startswith("/api/v1/statuses/"):
            return self._edit(path.rsplit("/", 1)[1], request.form())
        return 404, {}, {"error": "Record not found"}

    def _instance(self, *, v2: bool) -> dict:
        statuses = {"max_characters": self.max_characters, "max_media_attachments": 4,
                    "characters_reserved_per_url": 23}
        info = {"domain": "127.0.0.1", "title": "Fake", "version": "4.3.0", "source_url": "", "description": "",
                "languages": ["en"], "configuration": {"statuses": statuses, "urls": {"streaming": ""}},
                "registrations": {"enabled": False}, "contact": {"email": ""}, "rules": []}
        if not v2:
            info.update(uri="127.0.0.1", max_toot_chars=self.max_characters)
        return info

    def _create(self, request: Request):
        key = request.headers.get("idempotency-key")
        if key and key in self.idempotency:
            return 200, {}, self._by_id(self.idempotency[key])
        text = request.form().get("status", "")
        length = Mastodon.get_status_length(text)
        if length > self.max_characters:
            return 422, {}, {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"}
        status_id = str(next(self._ids))
        status = {"id": status_id, "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                  "uri": f"{self.url}/users/blog/statuses/{status_id}", "url": f"{self.url}/@blog/{status_id}",
                  "content": _content(text), "text": text, "visibility": "public", "sensitive": False,
                  "spoiler_text": "", "account": self.account, "media_attachments": [], "mentions": [], "tags": [],
                  "emojis": [], "reblogs_count": 0, "favourites_count": 0, "replies_count": 0, "edited_at": None,
                  "reblog": None, "in_reply_to_id": None, "in_reply_to_account_id": None, "language": "en"}
        self.statuses.append(status)
        if key:
            self.idempotency[key] = status_id
        return 200, {}, status

    def _edit(self, status_id: str, form: dict):
        status = self._by_id(status_id)
        if status is None:
            return 404, {}, {"error": "Record not found"}
        status.update(text=form.get("status", ""), content=_content(form.get("status", "")),
                      edited_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"))
        return 200, {}, status

    def _by_id(self, status_id: str) -> dict | None:
        return next((s for s in self.statuses if s["id"] == status_id), None)


def _content(text: str) -> str:
    """As Mastodon renders a plain-text status: paragraphs, <br />, links made anchors."""
    def paragraph(block: str) -> str:
        escaped = html.escape(block, quote=False)
        linked = _URL.sub(lambda m: f'<a href="{m.group()}" rel="nofollow noopener" target="_blank">'
                                    f'{m.group()}</a>', escaped)
        return "<p>" + linked.replace("\n", "<br />") + "</p>"
    return "".join(paragraph(block) for block in text.split("\n\n"))
