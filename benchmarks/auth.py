"""What accounts cost: one password check (argon2id, deliberately slow), and what authentication adds to a
request (a session cookie or an API token: one indexed lookup by SHA-256, no password hashing).

Prints the median of an argon2id hash and verify (argon2-cffi's defaults: t=3, m=64 MiB, p=4), and requests per
second for an authenticated API call by cookie and by bearer token, through the real app on a temporary SQLite
database (in-process, no network).
Run: .venv/bin/python benchmarks/auth.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _median_seconds(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="publisher-auth-bench-"))
    os.environ.update(PUBLISHER_DATABASE_URL=f"sqlite:///{folder / 'p.db'}", PUBLISHER_DATA_DIR=str(folder / "data"),
                      PUBLISHER_SECRET_KEY="bench", PUBLISHER_BASE_URL="https://news.example.org")
    from fastapi.testclient import TestClient

    from publisher.services import editors
    from publisher.services.database import upgrade_database
    from publisher.web.app import create_app
    from tests.support.editors import ADMIN, log_in, make_api_token, make_editor

    upgrade_database()
    stored = editors._hasher.hash(ADMIN.password)
    print(f"argon2id hash:   {_median_seconds(lambda: editors._hasher.hash(ADMIN.password), 5) * 1000:7.1f} ms")
    print(f"argon2id verify: {_median_seconds(lambda: editors._hasher.verify(stored, ADMIN.password), 5) * 1000:7.1f} ms")

    make_editor(ADMIN)
    app = create_app()
    browser = TestClient(app, base_url="https://news.example.org")
    log_in(browser, ADMIN)
    script = TestClient(app, base_url="https://news.example.org",
                        headers={"Authorization": f"Bearer {make_api_token(ADMIN)}"})
    runs = 200
    for name, client, path in (("cookie /api/sends", browser, "/api/sends"),
                               ("bearer /api/sends", script, "/api/sends")):
        seconds = _median_seconds(lambda: client.get(path), runs)
        print(f"{name:20s} {1 / seconds:7.0f} requests/s (median {seconds * 1000:.2f} ms, {runs} runs)")


if __name__ == "__main__":
    main()
