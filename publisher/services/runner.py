"""Starting the long-running parts: the embedded process tree, a scaled worker, the scheduler."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

import uvicorn

from publisher.config import Settings
from workers.celery_app import EMBEDDED_QUEUE_ENV

log = logging.getLogger("publisher.serve")

# After SIGTERM or Ctrl-C, the web server gets this long to finish its requests, and the worker this long
# (counted from the same signal) to finish its task; then it is killed. Killing is safe: the ledger hands a
# dead worker's rows back. Both together stay under the 10 s that service managers wait before SIGKILL.
WEB_GRACE_SECONDS = 3
WORKER_GRACE_SECONDS = 7


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
    from publisher.logs import uvicorn_log_config

    env = _child_env(settings)
    if "base_url" not in settings.model_fields_set:
        # Links in mails and pages must point at this server, on the port it really listens on.
        env["PUBLISHER_BASE_URL"] = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
    os.environ.update(env)  # the web app enqueues into the same queue as the worker reads, with the same URL
    from publisher.config import get_settings
    from workers.celery_app import reconfigure

    get_settings.cache_clear()
    reconfigure()  # this process was configured on import, before the queue was named: queue, do not run inline
    worker = None
    if with_worker:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        schedule_file = str((settings.data_dir / "celerybeat-schedule").resolve())
        worker = _Supervised(_celery("worker", "--beat", "--schedule", schedule_file, "--pool", "threads",
                                     "--concurrency", "2", "--loglevel", "INFO"), env)
        worker.start()
    # uvicorn re-raises the signal it caught once it has shut down; SIGTERM's default action would end this
    # process on the spot and orphan the worker. As an exception, it unwinds to the `finally` below.
    signal.signal(signal.SIGTERM, _raise_system_exit)
    # proxy_headers off: whom to believe about the client's address is the app's decision
    # (PUBLISHER_TRUSTED_PROXIES), not uvicorn's default of trusting 127.0.0.1.
    config = uvicorn.Config("publisher.web.app:create_app", factory=True, host=host, port=port, log_level="info",
                            log_config=uvicorn_log_config(settings), proxy_headers=False,
                            timeout_graceful_shutdown=WEB_GRACE_SECONDS)
    try:
        _Server(config, on_exit=worker.begin_stop if worker else None).run()
    finally:
        if worker:
            worker.stop()


def _raise_system_exit(signum, _frame) -> None:
    raise SystemExit(128 + signum)


class _Server(uvicorn.Server):
    """uvicorn's server, telling us the moment a stop signal arrives, so the worker stops alongside the web
    server instead of after it."""

    def __init__(self, config: uvicorn.Config, *, on_exit):
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig, frame) -> None:
        if self._on_exit:
            self._on_exit()
        super().handle_exit(sig, frame)


class _Supervised:
    """A child process (and its own children, in a process group of their own) restarted if it dies, so a
    crashed worker never leaves the web app sending nothing; stopped with its whole group."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.argv, self.env = argv, env
        self.process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._stop_began: float | None = None
        self._watcher = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self.process = self._spawn()
        self._watcher.start()

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(self.argv, env=self.env, start_new_session=True, preexec_fn=_die_with_parent)

    def _watch(self) -> None:
        while not self._stopping.wait(2.0):
            code = self.process.poll()
            if code is not None and not self._stopping.is_set():
                log.error("worker exited with status %s; restarting it", code)
                time.sleep(3.0)  # a worker that cannot start must not spin the CPU
                if not self._stopping.is_set():
                    self.process = self._spawn()

    def begin_stop(self) -> None:
        """Ask the worker (and the scheduler inside it) to finish up: Celery's warm shutdown."""
        if self._stop_began is None:
            self._stop_began = time.monotonic()
            self._stopping.set()
            self._signal(signal.SIGTERM)

    def stop(self) -> None:
        self.begin_stop()
        remaining = WORKER_GRACE_SECONDS - (time.monotonic() - self._stop_began)
        try:
            self.process.wait(timeout=max(remaining, 0.1))
        except subprocess.TimeoutExpired:
            log.warning("worker still busy after %ss: killing it (its claimed rows are handed back)",
                        WORKER_GRACE_SECONDS)
        self._signal(signal.SIGKILL)  # whatever of the group is left: the beat process, parser processes
        self.process.wait()

    def _signal(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass


def _load_prctl():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None  # not Linux: the signal handlers above still stop the worker


_prctl = _load_prctl()  # resolved here: the child between fork and exec must not import anything


def _die_with_parent() -> None:
    """In the child, before exec: the kernel sends SIGTERM if `publisher serve` itself dies (even by SIGKILL),
    so a killed server never leaves a worker sending on its own."""
    if _prctl is not None:
        _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run_worker(settings: Settings, *, concurrency: int, beat: bool) -> None:
    args = ["worker", "--concurrency", str(concurrency), "--loglevel", "INFO"]
    if beat:
        args += ["--beat", "--schedule", str((settings.data_dir / "celerybeat-schedule").resolve())]
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.execvpe(sys.executable, _celery(*args), _child_env(settings))


def run_scheduler(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    schedule_file = str((settings.data_dir / "celerybeat-schedule").resolve())
    os.execvpe(sys.executable, _celery("beat", "--schedule", schedule_file, "--loglevel", "INFO"),
               _child_env(settings))
