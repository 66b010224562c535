"""docker-compose.yml cannot run here (no Docker engine); what it promises is read from the file itself."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def _services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_flower_needs_a_password_and_listens_on_localhost_unless_told():
    flower = _services()["flower"]
    auth = flower["environment"]["FLOWER_BASIC_AUTH"]
    # ${VAR:?message}: compose refuses to start without it; no default password can slip in.
    assert re.fullmatch(r"\$\{FLOWER_BASIC_AUTH:\?[^}]+\}", auth), auth
    for port in flower["ports"]:
        host = str(port).rsplit(":", 2)[0]
        assert host == "${FLOWER_BIND:-127.0.0.1}", port
