"""What the editor's page handlers share: rendering, the after-action redirect and its notice."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from publisher.errors import PublisherError
from publisher.web.pages import editor_page

# Notices a redirect may ask for by key (a notice is never taken from the URL as text: a link someone sends
# an editor cannot make our page say what they want).
NOTICES = {
    "feed_added": "Feed added; its current posts are the baseline.",
    "feed_paused": "Feed paused: it is not polled until you resume it.",
    "feed_resumed": "Feed resumed: it is polled at the next tick.",
    "feed_removed": "Feed removed.",
    "list_created": "List created.",
    "list_saved": "List saved.",
    "subscriber_added": "Subscriber added.",
    "suppressed": "Address suppressed: it gets no more mail.",
    "wiped": "Everything held on that person was erased; a hash keeps them from being re-added.",
    "draft_saved": "Saved: the intro note and subject go out with the next digest.",
    "test_sent": "Test sent.",
    "send_started": "Sending: follow the progress below.",
    "nothing_new": "Nothing new since the last digest: nothing was sent.",
    "paused": "Send paused.",
    "resumed": "Send resumed.",
    "cancelled": "Send cancelled.",
    "list_paused": "Scheduled digests of this list are paused.",
    "list_resumed": "Scheduled digests of this list are back on.",
}


def page(request: Request, template: str, /, status: int = 200, **context) -> Response:
    notice = NOTICES.get(request.query_params.get("done", ""))
    return editor_page(request, f"editor/{template}", {"notice": notice, **context}, status=status)


def done(path: str, key: str, **params) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode({'done': key, **params})}", status_code=303)


def problem(exc: PublisherError) -> str:
    """An error as the page shows it: the message, which says what to do."""
    return str(exc) or exc.__class__.__name__
