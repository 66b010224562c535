"""What the send benchmark and the chaos runs share: a sink process, a fresh PostgreSQL database, a Redis
database, a prepared send of N recipients, worker processes, and a clock on the ledger."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SINK = ROOT / "benchmarks" / "smtp_sink.py"
# PUBLISHER_BENCH_REDIS_URL lets an engineer sharing this Redis keep the runs to a database of their own;
# CI leaves it unset and the runs use the test database.
DEFAULT_REDIS = os.environ.get("PUBLISHER_BENCH_REDIS_URL") or os.environ.get("PUBLISHER_TEST_REDIS_URL",
                                                                            "redis://127.0.0.1:6379/14")
DEFAULT_POSTGRES = os.environ.get("PUBLISHER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def sink(workdir: Path, *, faults: bool = False, keep: Path | None = None):
    port, log = free_port(), workdir / f"sink-{uuid.uuid4().hex[:6]}.log"
    args = [sys.executable, str(SINK), "--port", str(port), "--log", str(log)] + (["--faults"] if faults else []) \
        + (["--keep", str(keep)] if keep else [])
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    process.stdout.readline()  # "sink listening ..."
    try:
        yield f"smtp://127.0.0.1:{port}", log
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


@contextmanager
def fresh_database(admin_url: str = DEFAULT_POSTGRES):
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"publisher_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(admin_url).set(drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def environment(workdir: Path, *, database_url: str, broker_url: str, smtp_url: str, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env.update(PUBLISHER_DATABASE_URL=database_url, PUBLISHER_BROKER_URL=broker_url, PUBLISHER_SMTP_URL=smtp_url,
               PUBLISHER_DATA_DIR=str(workdir / ".publisher"), PUBLISHER_SECRET_KEY="benchmark-key-0123456789",
               PUBLISHER_FROM="Bench Blog <news@example.org>", PUBLISHER_BASE_URL="https://news.example.org",
               PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def apply_environment(env: dict) -> None:
    """Point this process (its settings, engine and Celery app) at the benchmark's services."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("PUBLISHER_")})
    from publisher.config import get_settings

    get_settings.cache_clear()
    from workers.celery_app import reconfigure

    reconfigure()


def prepare_send(recipients: int, *, posts: int = 10, post_bytes: int = 3000) -> int:
    """A list with `posts` new posts and `recipients` confirmed subscribers, composed into a digest (rendered
    once, audience frozen). Returns the digest id."""
    from sqlalchemy import insert

    from publisher.config import get_settings
    from publisher.db import session_scope
    from publisher.models import Feed, ListFeed, MailingList, Post, Subscriber, Subscription
    from publisher.models.base import utcnow
    from publisher.services.database import upgrade_database
    from publisher.services.digests import compose_digest

    upgrade_database()
    paragraph = "<p>" + ("A post about quilts, thread and patience. " * 12) + "</p>"
    with session_scope() as session:
        feed = Feed(url="https://bench.example.org/feeds/posts/default", title="Bench Blog", baseline_at=utcnow())
        mailing_list = MailingList(name="bench", cadence="daily", send_at="08:00", timezone="UTC")
        feed.next_poll_at = utcnow().replace(year=utcnow().year + 10)  # the benchmark polls nothing
        session.add_all([feed, mailing_list])
        session.flush()
        session.add(ListFeed(list_id=mailing_list.id, feed_id=feed.id, added_at=utcnow()))
        for n in range(posts):
            session.add(Post(feed_id=feed.id, identity=f"post-{n}", identity_hash=f"{n:064d}", title=f"Post {n}",
                             link=f"https://bench.example.org/{n}.html", author="Bench",
                             content_html=paragraph * (post_bytes // len(paragraph) + 1), content_hash=str(n),
                             published_at=utcnow(), first_seen_at=utcnow()))
        now = utcnow()
        ids = session.scalars(insert(Subscriber).returning(Subscriber.id), [
            {"email": f"reader{i}@bench.example.com", "name": f"Reader {i}", "created_at": now}
            for i in range(recipients)]).all()
        session.execute(insert(Subscription), [
            {"list_id": mailing_list.id, "subscriber_id": sid, "status": "confirmed", "created_at": now,
             "confirmed_at": now, "source": "bench"} for sid in ids])
        session.flush()
        digest = compose_digest(session, get_settings(), mailing_list)
        return digest.id


class Workers:
    """`publisher worker` processes (or another publisher command), killable and restartable."""

    def __init__(self, env: dict, workdir: Path, *, concurrency: int = 2, command: tuple[str, ...] = ("worker",),
                 name: str = "worker"):
        self.env, self.workdir, self.concurrency, self.command, self.name = env, workdir, concurrency, command, name
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        log = open(self.workdir / f"{self.name}-{len(self.processes)}.log", "wb")
        extra = ("--concurrency", str(self.concurrency)) if self.command == ("worker",) else ()
        process = subprocess.Popen([sys.executable, "-m", "publisher", *self.command, *extra],
                                   env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes.append(process)
        return process

    def kill_latest(self) -> None:
        """kill -9 the newest process and its children, as a crash or an OOM kill would."""
        process = self.processes[-1]
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)

    def kill_all(self, sig: int = signal.SIGKILL) -> None:
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    pass
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the live worker processes and their children have used so far: unlike a
        rate, it hardly moves when other people load the machine."""
        ticks = os.sysconf("SC_CLK_TCK")
        return sum(_cpu_ticks(pid) for process in self.processes for pid in _tree(process.pid)) / ticks

    def peak_rss_mb(self) -> float:
        """The largest peak resident set (VmHWM) among the live worker processes and their children."""
        peak = 0
        for process in self.processes:
            for pid in _tree(process.pid):
                peak = max(peak, _vm_hwm_kb(pid))
        return peak / 1024


def _tree(pid: int) -> list[int]:
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return pids
    for child in children:
        pids.extend(_tree(int(child)))
    return pids


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_ready(workdir: Path, count: int = 1, timeout: float = 60) -> None:
    """Until `count` worker logs say ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = sum(p.read_bytes().count(b"ready.") for p in workdir.glob("worker-*.log"))
        if ready >= count:
            return
        time.sleep(0.2)
    raise RuntimeError("workers did not become ready:\n" + "\n".join(
        p.read_text(errors="replace")[-2000:] for p in workdir.glob("worker-*.log")))


def ledger_settled(digest_id: int) -> tuple[bool, dict]:
    from publisher.db import session_scope
    from publisher.services import controls

    with session_scope() as session:
        state = controls.progress(session, digest_id)
    return state.pending == 0 and state.retrying == 0, state.__dict__
