"""The inbound SMTP endpoint for bounces: an aiosmtpd server that hands each message to the bounce use case.
Point the MX (or a relay's forward) of the VERP bounce domain at it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiosmtpd.controller import Controller

log = logging.getLogger("publisher.bounces")

MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class _Handler:
    def __init__(self, handle: Callable[[list[str], bytes], object]):
        self._handle = handle

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        try:
            # The database work is blocking: keep it off the event loop.
            await asyncio.get_running_loop().run_in_executor(None, self._handle, list(envelope.rcpt_tos), data)
        except Exception:
            log.exception("could not process a bounce")
            return "451 4.3.0 try again later"
        return "250 2.0.0 OK"


def start_intake(handle: Callable[[list[str], bytes], object], *, host: str, port: int) -> Controller:
    """Start the server in a thread; the caller stops it with .stop()."""
    controller = Controller(_Handler(handle), hostname=host, port=port, data_size_limit=MAX_MESSAGE_BYTES)
    controller.start()
    return controller
