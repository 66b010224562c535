"""Bluesky (AT Protocol, XRPC over HTTP): a session from createSession, refreshed with refreshSession; the post
written with com.atproto.repo.putRecord under a record key derived from post x target, so a retry rewrites
the same record instead of adding one (createRecord with a taken key answers 500: bluesky-social/indigo#873);
the link as a facet and an external embed card, its thumbnail uploaded with uploadBlob."""

from __future__ import annotations

import hashlib

import httpx

from publisher.crosspost.poster import Posted, Publication, request
from publisher.crosspost.summary import BLUESKY, Rules
from publisher.errors import CrosspostError, CrosspostRefusedError, CrosspostRetryError
from publisher.ingest.ssrf import Policy

COLLECTION = "app.bsky.feed.post"
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable, as the AT Protocol's TIDs
DESCRIPTION_LIMIT = 300


def record_key(micros: int, seed: str) -> str:
    """A TID (13 characters: 53 bits of microseconds, 10 bits of clock id) that is the same for the same post
    x target: the time is when its ledger row was made, the clock id and low microseconds come from the seed."""
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:4], "big")
    micros = (micros // 1000) * 1000 + digest % 1000  # same millisecond; two posts of one instant differ
    value = ((micros & ((1 << 53) - 1)) << 10) | (digest >> 22 & 0x3FF)
    return "".join(_TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


class BlueskyPoster:
    platform = "bluesky"

    def __init__(self, *, service: str, handle: str, password: str, client: httpx.Client,
                 policy: Policy, session_state: dict | None = None, hashtags: bool = True,
                 thumbnail_bytes: int = 1_000_000):
        self.service, self.handle, self.client = service.rstrip("/"), handle, client
        self.policy, self.hashtags, self.thumbnail_bytes = policy, hashtags, thumbnail_bytes
        self._password = password
        self.session_state = session_state  # read back by the caller, which keeps it (encrypted)
        self.session_changed = False

    def rules(self) -> Rules:
        return Rules("bluesky", limit=BLUESKY.limit, link_display=BLUESKY.link_display, hashtags=self.hashtags)

    def verify(self) -> str:
        self.session_state = None  # a fresh login proves the app password, not just a cached session
        info = self._xrpc("GET", "com.atproto.server.getSession", "checking the app password")
        return f"@{info.get('handle', self.handle)} ({info.get('did')}) on {self.service}"

    def find(self, publication: Publication) -> Posted | None:
        return None  # putRecord under a fixed key is idempotent: sending it again is the way to make sure

    def publish(self, publication: Publication) -> Posted:
        summary = publication.summary
        external = {"uri": summary.link, "title": publication.document.get("title") or summary.link,
                    "description": publication.description[:DESCRIPTION_LIMIT]}
        thumb = self._thumbnail(publication.image_url)
        if thumb:
            external["thumb"] = thumb
        record = {"$type": COLLECTION, "text": summary.text, "facets": summary.facets(),
                  "createdAt": publication.created_at.isoformat().replace("+00:00", "Z"),
                  "embed": {"$type": "app.bsky.embed.external", "external": external}}
        did = self._session()["did"]
        answer = self._xrpc("POST", "com.atproto.repo.putRecord", "writing the post",
                            json={"repo": did, "collection": COLLECTION, "rkey": publication.key, "record": record})
        uri = answer.get("uri") if isinstance(answer, dict) else None
        if not isinstance(uri, str) or not uri.endswith(f"/{publication.key}"):
            raise ValueError(f"putRecord answered without the record's URI: {str(answer)[:200]}")
        url = f"https://bsky.app/profile/{self.session_state.get('handle') or did}/post/{publication.key}"
        return Posted(uri, url, f"record {uri} written")

    def close(self) -> None:
        self.client.close()

    def _thumbnail(self, image_url: str | None) -> dict | None:
        """The card's picture, uploaded as a blob; a picture we cannot fetch costs the card its picture only."""
        if not image_url:
            return None
        try:
            response = request(self.client, "GET", image_url, what="fetching the thumbnail",
                               policy=self.policy)
        except CrosspostError:
            return None
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        if not kind.startswith("image/") or len(response.content) > self.thumbnail_bytes:
            return None
        return self._xrpc("POST", "com.atproto.repo.uploadBlob", "uploading the thumbnail", content=response.content,
                          headers={"Content-Type": kind}).get("blob")

    def _session(self) -> dict:
        if not self.session_state:
            self._login()
        return self.session_state

    def _login(self) -> None:
        self.session_state = self._call("POST", "com.atproto.server.createSession", "logging in", json={
            "identifier": self.handle, "password": self._password}).json()
        self.session_changed = True

    def _refresh(self) -> None:
        try:
            self.session_state = self._call("POST", "com.atproto.server.refreshSession", "refreshing the session",
                                            token=self.session_state["refreshJwt"]).json()
        except (CrosspostRefusedError, _Expired):  # the refresh token expired too (or was revoked): log in again
            self._login()
        self.session_changed = True

    def _xrpc(self, method: str, nsid: str, what: str, **kwargs) -> dict:
        """A call with the session's access token; an expired one is refreshed once and the call repeated."""
        self._session()
        try:
            return self._call(method, nsid, what, token=self.session_state["accessJwt"], **kwargs).json()
        except _Expired:
            self._refresh()
            return self._call(method, nsid, what, token=self.session_state["accessJwt"], **kwargs).json()

    def _call(self, method: str, nsid: str, what: str, *, token: str | None = None, headers: dict | None = None,
              **kwargs) -> httpx.Response:
        headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        url = f"{self.service}/xrpc/{nsid}"
        try:
            return request(self.client, method, url, what=f"Bluesky: {what}", headers=headers,
                           policy=self.policy, **kwargs)
        except CrosspostRefusedError as exc:  # (a CrosspostAuthError is one too)
            if token and (exc.code == "ExpiredToken" or exc.status == 401):
                raise _Expired(str(exc), status=exc.status, code=exc.code) from exc
            raise


class _Expired(CrosspostRetryError):
    """The access token expired: refresh the session and repeat the call."""

