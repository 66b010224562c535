from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from publisher.cli.output import console, errors, print_json
from publisher.config import get_settings
from publisher.db import session_scope
from publisher.services import previews

app = typer.Typer(help="Compose, preview and send digests.", no_args_is_help=True)


PREVIEW_FORMATS = {"html": ".html", "text": ".txt", "eml": ".eml"}


@app.command("preview")
def preview(
    list_name: Annotated[str, typer.Option("--list", help="List name.")],
    fmt: Annotated[str, typer.Option("--format", help="html, text, eml, or all (needs --out DIR).")] = "html",
    out: Annotated[Path | None, typer.Option("--out", help="Write to FILE (a DIR with --format all).")] = None,
) -> None:
    """Render the next digest without sending or recording anything."""
    if fmt not in (*PREVIEW_FORMATS, "all"):
        raise typer.BadParameter("must be html, text, eml or all", param_hint="--format")
    if fmt == "all" and out is None:
        raise typer.BadParameter("--format all writes three files: give a directory with --out", param_hint="--out")
    with session_scope() as session:
        result = previews.preview_for(session, get_settings(), list_name=list_name)
    if result.only_old_posts:
        errors.print(f"note: nothing new for {list_name}, showing the {result.post_count} latest posts",
                     markup=False, highlight=False)
    data = {"html": result.html.encode(), "text": result.text.encode(), "eml": result.eml}
    if fmt == "all":
        out.mkdir(parents=True, exist_ok=True)
        for kind, suffix in PREVIEW_FORMATS.items():
            (out / f"digest{suffix}").write_bytes(data[kind])
        console.print(f"Wrote html, text and eml previews of {result.post_count} posts to {out}/digest.*")
    elif out:
        out.write_bytes(data[fmt])
        console.print(f"Wrote {fmt} preview of {result.post_count} posts to {out}")
    else:
        typer.echo(data[fmt].decode("utf-8", "replace"))


@app.command("lint")
def lint(
    list_name: Annotated[str, typer.Option("--list", help="List name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Report HTML/CSS of the list's next digest that Gmail, Outlook or Apple Mail do not (fully) support, and
    its HTML size against PUBLISHER_HTML_BUDGET_KB. Exits 1 when something is unsupported or over the budget."""
    settings = get_settings()
    with session_scope() as session:
        result = previews.preview_for(session, settings, list_name=list_name)
    findings = previews.lint_preview(result)
    counts = {level: sum(f.level == level for f in findings) for level in ("unsupported", "partial", "ignored")}
    size = previews.html_size(result, settings)
    if as_json:
        print_json({"list": list_name, **counts, "size": size.as_dict(), "findings": [f.as_dict() for f in findings]})
    else:
        _print_findings(findings, counts)
        console.print(size.describe(), style="bold red" if size.over_budget else None)
    if counts["unsupported"] or size.over_budget:
        raise typer.Exit(1)


def _print_findings(findings, counts: dict[str, int]) -> None:
    from rich.table import Table

    table = Table("level", "feature", "client", "notes")
    for finding in findings:
        style = {"unsupported": "bold red", "partial": "yellow", "ignored": "dim"}[finding.level]
        table.add_row(f"[{style}]{finding.level}[/]", f"{finding.title} ({finding.feature})",
                      f"{finding.client} {finding.version}", "; ".join(finding.notes))
    console.print(table)
    console.print(f"{counts['unsupported']} unsupported, {counts['partial']} partial, {counts['ignored']} ignored "
                  "(conditional CSS a client skips as a whole; the inline styles apply there)")
