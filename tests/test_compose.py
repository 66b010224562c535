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


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _publisher_services() -> dict:
    """The services built from this project's image (they share the x-publisher block)."""
    return {name: s for name, s in _services().items() if s.get("image") == "publisher:latest"}


def test_each_publisher_command_is_a_real_command_with_real_options():
    import click
    import typer

    from publisher.cli import app

    root = typer.main.get_command(app)
    services = _publisher_services()
    assert {"migrate", "web", "worker", "scheduler"} <= set(services)
    for name, service in services.items():
        program, *args = service["command"]
        assert program == "publisher", (name, service["command"])
        command, context = root, None
        while isinstance(command, click.Group):
            context = click.Context(command, info_name=command.name, parent=context)
            sub = command.get_command(context, args[0]) if args else None
            assert sub is not None, f"{name}: {args[0]!r} is not a publisher command"
            command, args = sub, args[1:]
        command.make_context(command.name, list(args), parent=context)  # raises on an unknown option or value


def test_each_variable_set_is_a_real_setting():
    from publisher.config import Settings

    known = set()
    for field_name, field in Settings.model_fields.items():
        known.add(f"PUBLISHER_{field_name.upper()}")
        choices = getattr(field.validation_alias, "choices", None) or []
        known |= {c for c in choices if isinstance(c, str)}
    compose = _compose()
    environments = [compose["x-publisher"]["environment"]] + [s.get("environment") or {} for s in _services().values()]
    example = [line.lstrip("# ").split("=", 1)[0] for line in (COMPOSE.parent / ".env.example").read_text().splitlines()
               if re.match(r"#? ?PUBLISHER_[A-Z_]+=", line)]
    for variable in [v for env in environments for v in env] + example:
        if variable.startswith("PUBLISHER_"):
            assert variable in known, f"{variable} is not a setting of publisher.config.Settings"


def test_every_required_variable_is_in_the_example_env_file():
    required = set(re.findall(r"\$\{([A-Z_]+):\?", COMPOSE.read_text()))
    example = set(re.findall(r"^([A-Z_]+)=", (COMPOSE.parent / ".env.example").read_text(), re.M))
    assert required and required <= example, required - example


class _Served:
    """`path in served`: the app answers GET path with anything but 404 (a route there, whatever it says)."""

    def __init__(self):
        from fastapi.testclient import TestClient

        from publisher.web.app import create_app

        self.client = TestClient(create_app())

    def __contains__(self, path: str) -> bool:
        return self.client.get(path).status_code != 404


def test_each_healthcheck_and_scrape_path_exists_in_the_app(tmp_path, monkeypatch):
    from publisher.config import get_settings

    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    get_settings.cache_clear()
    paths = _Served()
    assert "/no-such-path" not in paths
    checked = 0
    for name, service in _publisher_services().items():
        test = " ".join(service.get("healthcheck", {}).get("test", []))
        for path in re.findall(r"http://[^/\s']+(/[^\s')\"]*)", test):
            assert path in paths, f"{name}'s healthcheck asks {path}, which the app does not serve"
            checked += 1
    assert checked, "the web service needs an HTTP healthcheck"
    prometheus = yaml.safe_load((COMPOSE.parent / "deploy" / "prometheus.yml").read_text())
    for job in prometheus["scrape_configs"]:
        assert job["metrics_path"] in paths
        assert job["authorization"]["credentials_file"] == "/run/secrets/api_token"
        assert all(t.split(":")[0] in _services() for c in job["static_configs"] for t in c["targets"])
    assert "api_token" in _services()["prometheus"]["secrets"]
    get_settings.cache_clear()


def test_redis_keeps_queued_messages_and_never_evicts_them():
    command = " ".join(_services()["redis"]["command"])
    assert "--appendonly yes" in command and "--maxmemory-policy noeviction" in command
    assert any(v.endswith(":/data") for v in _services()["redis"]["volumes"])


def test_development_mail_goes_to_mailpit_unless_told_otherwise():
    environment = _compose()["x-publisher"]["environment"]
    assert environment["PUBLISHER_SMTP_URL"] == "${PUBLISHER_SMTP_URL:-smtp://mailpit:1025}"
    assert "mailpit" in _services()
    assert all(str(p).startswith("127.0.0.1:") for p in _services()["mailpit"]["ports"])


def test_every_long_running_service_has_a_healthcheck_or_says_why_not():
    """Workers and the scheduler are watched by their heartbeats (/ops, status), not by an HTTP check."""
    for name in ("postgres", "redis", "web", "mailpit"):
        assert "healthcheck" in _services()[name], name
