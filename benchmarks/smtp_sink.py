"""A fast SMTP sink for benchmarks and chaos tests.

It accepts mail (or refuses it by a fault plan) and writes one line per message received to a log, so a test
counts what a server really got per recipient instead of trusting the ledger to grade itself. aiosmtpd is
correct but slower than the send rates we measure, so this speaks just enough SMTP, with PIPELINING.

    python benchmarks/smtp_sink.py --port 2525 --log received.log [--faults] [--keep DIR]

--keep DIR writes the first 20 messages received to DIR/<n>.eml (dot-stuffing undone), for a check of what
really arrived (the DKIM signatures of the send benchmark).

Fault plan (--faults), decided per recipient by a hash so every run and every retry agree:
  20% answer 421 or 451 to RCPT on their first 1-3 attempts, then accept;
   5% answer 550 to RCPT, always;
   2% have their connection dropped right after the message's final dot (the message counts as received:
      the server got it, the client cannot know).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import signal
import sys
from collections import Counter
from pathlib import Path


def fault_of(recipient: str) -> tuple[str, int]:
    """("temp", failures) | ("perm", 0) | ("drop", 0) | ("ok", 0) for a recipient."""
    bucket = int(hashlib.sha256(recipient.lower().encode()).hexdigest()[:8], 16) % 1000
    if bucket < 200:
        return "temp", 1 + bucket % 3
    if bucket < 250:
        return "perm", 0
    if bucket < 270:
        return "drop", 0
    return "ok", 0


KEEP = 20


class Sink:
    def __init__(self, log_path: Path, faults: bool, keep: Path | None = None):
        self.log = open(log_path, "a", buffering=1)  # line-buffered: a reader sees whole lines
        self.faults, self.keep, self.kept = faults, keep, 0
        self.attempts: Counter[str] = Counter()

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 sink ESMTP\r\n")
        recipients: list[str] = []
        try:
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n")
                elif verb == b"MAIL":
                    recipients = []
                    writer.write(b"250 OK\r\n")
                elif verb == b"RCPT":
                    reply = self._rcpt(line, recipients)
                    writer.write(reply)
                    if reply.startswith(b"421"):
                        await writer.drain()
                        return
                elif verb == b"DATA":
                    if not await self._data(reader, writer, recipients):
                        return
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    return
                else:  # HELO, RSET, NOOP
                    recipients = [] if verb == b"RSET" else recipients
                    writer.write(b"250 OK\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def _rcpt(self, line: bytes, recipients: list[str]) -> bytes:
        address = line.split(b"<", 1)[-1].split(b">", 1)[0].decode("utf-8", "replace")
        self.attempts[address] += 1
        if self.faults:
            kind, failures = fault_of(address)
            if kind == "perm":
                return b"550 5.1.1 no such user\r\n"
            if kind == "temp" and self.attempts[address] <= failures:
                return b"421 4.3.2 busy, closing\r\n" if failures == 2 else b"451 4.7.1 try again later\r\n"
        recipients.append(address)
        return b"250 OK\r\n"

    async def _data(self, reader, writer, recipients: list[str]) -> bool:
        if not recipients:
            writer.write(b"503 no valid recipients\r\n")
            return True
        writer.write(b"354 go ahead\r\n")
        await writer.drain()
        data = await reader.readuntil(b"\r\n.\r\n")
        if self.keep and self.kept < KEEP:
            self.kept += 1
            unstuffed = data[:-3].replace(b"\r\n..", b"\r\n.")
            (self.keep / f"{self.kept}.eml").write_bytes(unstuffed[1:] if unstuffed.startswith(b"..") else unstuffed)
        for address in recipients:
            self.log.write(address + "\n")
        if self.faults and any(fault_of(a)[0] == "drop" for a in recipients):
            return False  # drop the line without a reply
        writer.write(b"250 2.0.0 queued\r\n")
        return True


async def serve(port: int, sink: Sink) -> None:
    server = await asyncio.start_server(sink.session, "127.0.0.1", port, limit=64 * 1024 * 1024, backlog=512)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    print(f"sink listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await stop.wait()


def received_counts(log_path: Path) -> Counter[str]:
    """How many messages each recipient got, from the sink's log."""
    if not log_path.exists():
        return Counter()
    return Counter(line for line in log_path.read_text().splitlines() if line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--keep", type=Path, help="write the first messages received to this folder")
    args = parser.parse_args()
    try:
        import uvloop  # noqa: F401 - faster if present, not required
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    asyncio.run(serve(args.port, Sink(args.log, args.faults, args.keep)))


if __name__ == "__main__":
    sys.exit(main())
