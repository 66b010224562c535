"""A folder of .eml files: the mail server of a first run, and of anyone who wants to look before sending."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path


class OutboxMailer:
    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, *, envelope_from: str, recipient: str, message: bytes, message_id: str,
             before_data: Callable[[], None] | None = None,
             while_waiting: Callable[[], None] | None = None,
             next_envelope: tuple[str, str] | None = None) -> str:
        """A file per message; `next_envelope` has nothing to go ahead of here."""
        if before_data:
            before_data()
        # Named by Message-ID, which is stable per digest x subscriber: a retry overwrites, never duplicates.
        name = re.sub(r"[^A-Za-z0-9._-]", "_", message_id.strip("<>")) + ".eml"
        final = self.folder / name
        partial = final.with_suffix(".eml.part")
        with open(partial, "wb") as handle:
            handle.write(message)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(final)  # atomic: a reader never sees half a message
        if while_waiting:
            while_waiting()  # nothing to wait for here; called all the same, as the contract says
        return f"250 written to {final}"

    def close(self) -> None:
        pass
