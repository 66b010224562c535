"""Webhooks: the whole post as JSON, signed (`X-Publisher-Signature: sha256=HMAC(secret, body)`), with a
stable event id (`X-Publisher-Event`) a receiver can deduplicate on: a retry after a timeout or a 5xx is the
same event with the same id, so a receiver that keeps ids sees each post once."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from publisher.crosspost.poster import Posted, Publication, request
from publisher.crosspost.summary import WEBHOOK, Rules
from publisher.ingest.ssrf import Policy

SIGNATURE_HEADER = "X-Publisher-Signature"
EVENT_HEADER = "X-Publisher-Event"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookPoster:
    platform = "webhook"

    def __init__(self, *, url: str, secret: str | None, client: httpx.Client, policy: Policy,
                 hashtags: bool = True):
        self.url, self.secret, self.client = url, secret, client
        self.policy, self.hashtags = policy, hashtags

    def rules(self) -> Rules:
        return Rules("webhook", limit=WEBHOOK.limit, hashtags=self.hashtags)

    def verify(self) -> str:
        self._send({"event": "ping", "id": "ping"}, "ping")
        return f"{self.url} answered the signed ping"

    def find(self, publication: Publication) -> Posted | None:
        return None  # the event id is the receiver's key: sending the same event again is safe

    def publish(self, publication: Publication) -> Posted:
        edit = publication.remote_id is not None
        event_id = f"{publication.key}.{publication.revision[:16]}" if edit else publication.key
        response = self._send({"event": "post.updated" if edit else "post.published", "id": event_id,
                               "text": publication.summary.text, "post": publication.document}, event_id)
        return Posted(event_id, response.headers.get("location"), f"{response.status_code} from the receiver")

    def _send(self, payload: dict, event_id: str) -> httpx.Response:
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", EVENT_HEADER: event_id}
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        return request(self.client, "POST", self.url, content=body, headers=headers, what="webhook",
                       policy=self.policy)

    def close(self) -> None:
        self.client.close()
