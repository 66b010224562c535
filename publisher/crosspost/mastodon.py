"""Mastodon: POST /api/v1/statuses with an Idempotency-Key (the instance keeps it an hour, so a retry within
it returns the same status instead of a second one); PUT /api/v1/statuses/:id for an edit; the instance's own
limits from /api/v2/instance; our earlier status found in the account's statuses after an unseen outcome."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import httpx

from publisher.crosspost.poster import Posted, Publication, request
from publisher.crosspost.summary import MASTODON, Rules
from publisher.errors import CrosspostError, CrosspostRetryError
from publisher.ingest.ssrf import Policy

RECENT_STATUSES = 40  # the API's maximum page
CLOCK_SKEW = timedelta(minutes=5)  # between our clock and the instance's


class MastodonPoster:
    platform = "mastodon"

    def __init__(self, *, instance: str, token: str, client: httpx.Client, policy: Policy,
                 hashtags: bool = True, limits: dict | None = None):
        self.instance, self.client = instance.rstrip("/"), client
        self.policy, self.hashtags = policy, hashtags
        self.limits = limits
        self._auth = {"Authorization": f"Bearer {token}"}
        self._account_id: str | None = None

    def rules(self) -> Rules:
        """The instance's limits (fetched once per poster), the defaults when it does not say."""
        if self.limits is None:
            self.limits = self._instance_limits()
        return Rules("mastodon", limit=self.limits.get("max_characters", MASTODON.limit),
                     url_length=self.limits.get("characters_reserved_per_url", MASTODON.url_length),
                     hashtags=self.hashtags)

    def _instance_limits(self) -> dict:
        try:
            info = self._call("GET", "/api/v2/instance", "reading the instance's limits", auth=False).json()
        except CrosspostRetryError:
            raise
        except CrosspostError:
            return {}  # an older server without /api/v2/instance: Mastodon's defaults
        statuses = ((info or {}).get("configuration") or {}).get("statuses") or {}
        return {key: int(statuses[key]) for key in ("max_characters", "characters_reserved_per_url")
                if isinstance(statuses.get(key), int)}

    def verify(self) -> str:
        account = self._call("GET", "/api/v1/accounts/verify_credentials", "checking the token").json()
        self._account_id = str(account["id"])
        return f"@{account.get('acct') or account.get('username')} on {self.instance}"

    def find(self, publication: Publication) -> Posted | None:
        """Our status for this post among the account's recent ones: one whose content links to the post, made
        after the post was recorded for this account (a status the author wrote by hand before is not ours)."""
        if self._account_id is None:
            self.verify()
        statuses = self._call("GET", f"/api/v1/accounts/{self._account_id}/statuses",
                              "looking for an earlier status", params={"limit": RECENT_STATUSES}).json()
        link = publication.summary.link
        since = publication.created_at - CLOCK_SKEW
        for status in statuses or []:
            if _created(status) < since:
                continue
            content = html.unescape(status.get("content") or "")
            if f'href="{link}"' in content or link in (status.get("text") or ""):
                return _posted(status, "found among the account's recent statuses")
        return None

    def publish(self, publication: Publication) -> Posted:
        text = publication.summary.text
        if publication.remote_id:
            status = self._call("PUT", f"/api/v1/statuses/{publication.remote_id}", "editing the status",
                                json={"status": text}).json()
            return _posted(status, "edited")
        status = self._call("POST", "/api/v1/statuses", "posting the status", json={"status": text},
                            headers={"Idempotency-Key": publication.key}).json()
        return _posted(status, "created")

    def _call(self, method: str, path: str, what: str, *, auth: bool = True, headers: dict | None = None,
              **kwargs) -> httpx.Response:
        headers = {**(self._auth if auth else {}), **(headers or {})}
        return request(self.client, method, f"{self.instance}{path}", headers=headers, what=f"Mastodon: {what}",
                       policy=self.policy, **kwargs)

    def close(self) -> None:
        self.client.close()


def _posted(status, what: str) -> Posted:
    """A status as the API returns it; anything else is no proof that it exists (ValueError: retried)."""
    status_id = status.get("id") if isinstance(status, dict) else None
    if not isinstance(status_id, (str, int)) or isinstance(status_id, bool) or str(status_id) == "":
        raise ValueError(f"no status id in the answer: {str(status)[:200]}")
    url = status.get("url")
    return Posted(str(status_id), url if isinstance(url, str) else None, f"status {status_id} {what}")


def _created(status: dict) -> datetime:
    try:
        moment = datetime.fromisoformat(str(status.get("created_at")).replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)  # no date to go by: judged by its link alone
