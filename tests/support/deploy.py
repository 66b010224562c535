"""Run the real `publisher` command, as a user would, against a given database, broker and mail server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Publisher:
    workdir: Path
    env: dict[str, str]
    scaled: bool = False
    _workers: list[subprocess.Popen] = field(default_factory=list)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "publisher", *args]

    def run(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
        result = subprocess.run(self.command(*args), cwd=self.workdir, env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"publisher {' '.join(args)} exited {result.returncode}:\n"
                                 f"stdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    def start_worker(self, concurrency: int = 2) -> subprocess.Popen:
        log = open(self.workdir / f"worker-{len(self._workers)}.log", "wb")
        process = subprocess.Popen(self.command("worker", "--concurrency", str(concurrency)), cwd=self.workdir,
                                   env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._workers.append(process)
        return process

    def stop_workers(self) -> None:
        for process in self._workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self._workers:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self._workers.clear()

    def query(self, sql: str) -> list[tuple]:
        """Rows of one SELECT on the deployment's database (what its own tables recorded)."""
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.env["PUBLISHER_DATABASE_URL"].replace(
            "postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(sqlalchemy.text(sql))]
        finally:
            engine.dispose()

    def audit_log(self) -> list[tuple[str, str, str]]:
        """(actor, action, target) of each audit entry, oldest first."""
        return self.query("SELECT actor, action, target FROM audit_log ORDER BY id")

    def worker_logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("worker-*.log")))


def base_env(workdir: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env.update({
        "PUBLISHER_DATABASE_URL": f"sqlite:///{workdir / 'publisher.db'}",
        "PUBLISHER_OUTBOX_DIR": str(workdir / "outbox"),
        "PUBLISHER_DATA_DIR": str(workdir / ".publisher"),
        "PUBLISHER_BASE_URL": "https://news.example.org",
        "PUBLISHER_FROM": "Example Blog <news@example.org>",
        "PUBLISHER_ALLOW_PRIVATE_NETWORKS": "true",
        "PUBLISHER_SECRET_KEY": "test-secret-key-not-for-production",
    })
    env.update(overrides)
    return env
