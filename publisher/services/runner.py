"""Starting the long-running parts: the embedded process tree, a scaled worker, the scheduler."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

from publisher.config import Settings
from workers.celery_app import EMBEDDED_QUEUE_ENV

log = logging.getLogger("publisher.serve")


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.celery_app", *args]


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    if settings.embedded:
        # The processes of one `publisher serve` share a queue kept in a folder: no Redis needed.
        env[EMBEDDED_QUEUE_ENV] = str((settings.data_dir / "queue").resolve())
    return env


def run_server(settings: Settings, *, host: str, port: int, with_worker: bool) -> None:
    """The web app in this process; a worker with the scheduler beside it, stopped when we stop."""
    import uvicorn

    env = _child_env(settings)
    os.environ.update(env)  # the web app enqueues into the same queue as the worker reads
    worker = None
    if with_worker:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        schedule_file = str((settings.data_dir / "celerybeat-schedule").resolve())
        worker = _Supervised(_celery("worker", "--beat", "--schedule", schedule_file, "--pool", "threads",
                                     "--concurrency", "2", "--loglevel", "INFO"), env)
        worker.start()
    try:
        uvicorn.run("publisher.web.app:create_app", factory=True, host=host, port=port, log_level="info")
    finally:
        if worker:
            worker.stop()


class _Supervised:
    """A child process restarted if it dies, so a crashed worker never leaves the web app sending nothing."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.argv, self.env = argv, env
        self.process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, env=self.env)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stopping.wait(2.0):
            code = self.process.poll()
            if code is not None and not self._stopping.is_set():
                log.error("worker exited with status %s; restarting it", code)
                time.sleep(3.0)  # a worker that cannot start must not spin the CPU
                self.process = subprocess.Popen(self.argv, env=self.env)

    def stop(self) -> None:
        self._stopping.set()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def run_worker(settings: Settings, *, concurrency: int, beat: bool) -> None:
    args = ["worker", "--concurrency", str(concurrency), "--loglevel", "INFO"]
    if beat:
        args += ["--beat", "--schedule", str((settings.data_dir / "celerybeat-schedule").resolve())]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.execvpe(sys.executable, _celery(*args), _child_env(settings))


def run_scheduler(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    schedule_file = str((settings.data_dir / "celerybeat-schedule").resolve())
    os.execvpe(sys.executable, _celery("beat", "--schedule", schedule_file, "--loglevel", "INFO"),
               _child_env(settings))
