"""The embedded queue: kombu's SQLAlchemy transport on a SQLite file, polled ten times a second.

kombu polls a SQL queue (there is no blocking pop as on Redis), by default once a second while it is empty,
and a new post crosses three queue hops (compose, batch, and the web app's wake-up) before it is mailed: up to
3 s of waiting, measured by benchmarks/latency.py. An empty poll is one indexed SELECT on a local file
(~0.1 ms), so ten a second cost an idle worker well under 1 % of a core, and a hop ~50 ms on average.
The interval is a class attribute here because this transport hands every transport option, the
`polling_interval` one included, to SQLAlchemy's create_engine, which refuses it."""

from __future__ import annotations

from kombu.transport import TRANSPORT_ALIASES, sqlalchemy

POLLING_SECONDS = 0.1


class Transport(sqlalchemy.Transport):
    polling_interval = POLLING_SECONDS  # the sleep between empty polls of the worker's drain loop


# kombu takes a transport from a URL only by its alias (never an import path written in a URL).
ALIAS = "publisher-sqla"
TRANSPORT_ALIASES[ALIAS] = f"{__name__}:Transport"


def broker_url(path: str) -> str:
    return f"{ALIAS}+sqlite:///{path}"
