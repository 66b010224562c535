"""`publisher dkim keygen`: make a DKIM key and print the DNS record that publishes it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from publisher.cli.output import console
from publisher.compose.dkim import generate_key
from publisher.config import get_settings
from publisher.errors import AlreadyExistsError

app = typer.Typer(help="DKIM signing keys.", no_args_is_help=True)


@app.command("keygen")
def keygen(
    selector: Annotated[str | None, typer.Option(help="DKIM selector (default PUBLISHER_DKIM_SELECTOR or 'publisher').")] = None,
    domain: Annotated[str | None, typer.Option(help="Signing domain (default PUBLISHER_DKIM_DOMAIN or the sender's).")] = None,
    out: Annotated[Path | None, typer.Option(help="Private key file (default PUBLISHER_DKIM_KEY_FILE or dkim.pem).")] = None,
    bits: Annotated[int, typer.Option(help="RSA key size.")] = 2048,
    algorithm: Annotated[str, typer.Option(help="rsa, or ed25519 for a second signature beside RSA (RFC 8463).")
                         ] = "rsa",
) -> None:
    """Write a new private key and print the TXT record to publish in DNS."""
    settings = get_settings()
    ed25519 = algorithm == "ed25519"
    selector = selector or (settings.dkim_ed25519_selector if ed25519 else settings.dkim_selector) or \
        ("publisher-ed" if ed25519 else "publisher")
    domain = domain or settings.dkim_domain or settings.sender.rpartition("@")[2].strip("> ")
    out = out or (settings.dkim_ed25519_key_file if ed25519 else settings.dkim_key_file) or \
        Path("dkim-ed25519.pem" if ed25519 else "dkim.pem")
    if out.exists():
        raise AlreadyExistsError(f"{out} exists; move it away or pass --out (a published key must not be lost)")
    pair = generate_key(selector, domain, bits=bits, algorithm=algorithm)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, even briefly
    with os.fdopen(fd, "wb") as handle:
        handle.write(pair.private_pem)
    console.print(f"Wrote the private key to {out}. Publish this TXT record:", highlight=False)
    # A TXT string holds at most 255 characters; a 2048-bit key's record is longer, so it goes as several.
    chunks = [pair.txt_record[i:i + 250] for i in range(0, len(pair.txt_record), 250)]
    typer.echo(f"{pair.dns_name}. IN TXT " + " ".join(f'"{chunk}"' for chunk in chunks))
    prefix = "PUBLISHER_DKIM_ED25519" if ed25519 else "PUBLISHER_DKIM"
    console.print(f"Then set {prefix}_SELECTOR={selector} PUBLISHER_DKIM_DOMAIN={domain} "
                  f"{prefix}_KEY_FILE={out.resolve()}", highlight=False)
