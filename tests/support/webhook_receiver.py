"""A webhook receiver as a careful integrator writes one: it checks X-Publisher-Signature against the shared
secret (refusing a bad one with 401) and keeps each event once by its X-Publisher-Event id."""

from __future__ import annotations

import hashlib
import hmac

from tests.support.fake_http import FakeService, Request


class WebhookReceiver(FakeService):
    def __init__(self, *, secret: str | None = "webhook-secret"):
        self.secret = secret
        self.events: dict[str, dict] = {}  # event id -> payload, each once
        self.deliveries: list[str] = []  # event ids in arrival order (a retry appears twice)
        super().__init__()

    def route(self, request: Request):
        if request.path != "/hook" or request.method != "POST":
            return 404, {}, {"error": "no such hook"}
        if self.secret is not None:
            expected = "sha256=" + hmac.new(self.secret.encode(), request.body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, request.headers.get("x-publisher-signature", "")):
                return 401, {}, {"error": "bad signature"}
        event_id = request.headers.get("x-publisher-event")
        if not event_id:
            return 400, {}, {"error": "no event id"}
        self.deliveries.append(event_id)
        self.events.setdefault(event_id, request.json())
        return 202, {"Location": f"{self.url}/events/{event_id}"}, {"ok": True}
