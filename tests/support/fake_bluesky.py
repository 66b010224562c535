"""A fake Bluesky PDS speaking XRPC as the real one: com.atproto.server.createSession / refreshSession /
getSession, com.atproto.repo.putRecord / createRecord / uploadBlob / getRecord, app.bsky.actor.getProfile.
Access tokens can be expired on demand (400 ExpiredToken), createRecord with a taken key answers 500 (as
bluesky-social/indigo#873 reports), and posts over 300 graphemes or with facets off their UTF-8 bytes are
refused, counted with uniseg (an independent grapheme counter)."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import time

from uniseg.graphemecluster import grapheme_clusters

from tests.support.fake_http import FakeService, Request

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


class FakeBluesky(FakeService):
    def __init__(self, *, handle: str = "blog.example.org", password: str = "app-pass-word"):
        self.handle, self.password = handle, password
        self.records: dict[str, dict] = {}  # rkey -> record (app.bsky.feed.post)
        self.writes: list[str] = []  # rkeys, in the order written (a rewrite appears twice)
        self.blobs: dict[str, bytes] = {}
        self.logins = 0
        self.access: set[str] = set()  # valid now
        self.refresh: set[str] = set()
        self.issued: set[str] = set()  # every access token ever given (an old one is "expired", not unknown)
        self._tokens = itertools.count(1)
        super().__init__()

    def expire_access_tokens(self) -> None:
        self.access.clear()

    def expire_refresh_tokens(self) -> None:
        self.refresh.clear()

    def route(self, request: Request):
        nsid = request.path.removeprefix("/xrpc/")
        if nsid == "com.atproto.server.createSession":
            return self._create_session(request.json())
        if nsid == "com.atproto.server.refreshSession":
            if request.bearer not in self.refresh:
                return 400, {}, {"error": "ExpiredToken", "message": "Token has expired"}
            self.refresh.discard(request.bearer)
            return 200, {}, self._session()
        if request.bearer not in self.access:
            if request.bearer in self.issued:
                return 400, {}, {"error": "ExpiredToken", "message": "Token has expired"}
            return 401, {}, {"error": "AuthenticationRequired", "message": "Authentication Required"}
        if nsid == "com.atproto.server.getSession":
            return 200, {}, {"handle": self.handle, "did": DID, "active": True}
        if nsid == "app.bsky.actor.getProfile":
            return 200, {}, {"did": DID, "handle": self.handle, "displayName": "The Blog"}
        if nsid == "com.atproto.repo.uploadBlob":
            return self._upload(request)
        if nsid in ("com.atproto.repo.putRecord", "com.atproto.repo.createRecord"):
            return self._write(request.json(), create=nsid.endswith("createRecord"))
        if nsid == "com.atproto.repo.getRecord":
            record = self.records.get(request.query.get("rkey"))
            if record is None:
                return 400, {}, {"error": "RecordNotFound", "message": "Could not locate record"}
            return 200, {}, {"uri": self._uri(request.query["rkey"]), "cid": _cid(str(record)), "value": record}
        return 501, {}, {"error": "MethodNotImplemented", "message": f"Method Not Implemented: {nsid}"}

    def _create_session(self, body: dict):
        if body.get("identifier") not in (self.handle, DID) or body.get("password") != self.password:
            return 401, {}, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
        self.logins += 1
        return 200, {}, self._session()

    def _session(self) -> dict:
        number = next(self._tokens)
        access, refresh = _jwt("com.atproto.access", number, 7200), _jwt("com.atproto.refresh", number, 90 * 86400)
        self.access.add(access)
        self.issued.add(access)
        self.refresh.add(refresh)
        return {"accessJwt": access, "refreshJwt": refresh, "handle": self.handle, "did": DID, "active": True}

    def _upload(self, request: Request):
        cid = _cid(request.body)
        self.blobs[cid] = request.body
        return 200, {}, {"blob": {"$type": "blob", "ref": {"$link": cid},
                                  "mimeType": request.headers.get("content-type", "*/*"), "size": len(request.body)}}

    def _write(self, body: dict, *, create: bool):
        rkey, record = body.get("rkey"), body.get("record") or {}
        if body.get("repo") not in (DID, self.handle) or body.get("collection") != "app.bsky.feed.post":
            return 400, {}, {"error": "InvalidRequest", "message": "wrong repo or collection"}
        if not rkey or not TID.match(rkey):
            return 400, {}, {"error": "InvalidRequest", "message": f"Invalid record key: {rkey!r}"}
        if create and rkey in self.records:
            return 500, {}, {"error": "InternalServerError", "message": "Internal Server Error"}
        problem = _invalid(record)
        if problem:
            return 400, {}, {"error": "InvalidRecord", "message": problem}
        self.records[rkey] = record
        self.writes.append(rkey)
        return 200, {}, {"uri": self._uri(rkey), "cid": _cid(str(record)), "validationStatus": "valid"}

    def _uri(self, rkey: str) -> str:
        return f"at://{DID}/app.bsky.feed.post/{rkey}"


def _invalid(record: dict) -> str | None:
    text = record.get("text", "")
    graphemes = len(list(grapheme_clusters(text)))
    if graphemes > 300:
        return f"Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes ({graphemes})"
    data = text.encode()
    for facet in record.get("facets", []):
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        if not 0 <= start < end <= len(data):
            return f"facet bytes {start}..{end} outside the text"
        try:
            data[start:end].decode()
        except UnicodeDecodeError:
            return f"facet bytes {start}..{end} split a character"
    if "createdAt" not in record:
        return "Record/createdAt is required"
    return None


def _jwt(scope: str, number: int, lifetime: int) -> str:
    """A JWT as the PDS issues them (atproto's client reads `exp` to refresh ahead of time); unsigned here."""
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    now = int(time.time())
    return ".".join([part({"typ": "at+jwt", "alg": "ES256K"}),
                     part({"scope": scope, "sub": DID, "iat": now, "exp": now + lifetime, "jti": str(number)}),
                     "c2lnbmF0dXJl"])


def _cid(data) -> str:
    return "bafkrei" + hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()[:52]
