"""Small server-rendered SVG charts (no script, no CDN): a line over time, and horizontal bars. Each chart
has a <title> and a text alternative, and scales to the width of the page (viewBox)."""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 600, 160, 28


def line_chart(points: list[tuple[datetime, int]], *, title: str, label: str, time_format: str) -> Markup:
    if not points:
        return Markup("")
    top = max(max(v for _, v in points), 1)
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)
    coords = " ".join(f"{PAD + i * step:.1f},{HEIGHT - PAD - v / top * (HEIGHT - 2 * PAD):.1f}"
                      for i, (_, v) in enumerate(points))
    first, last = points[0][0].strftime(time_format), points[-1][0].strftime(time_format)
    summary = f"{title}: highest {top}, latest {points[-1][1]}, from {first} to {last}"
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(summary)}">'
        f"<title>{escape(summary)}</title>"
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
        f'<text x="{PAD}" y="{PAD - 10}" class="tick">{top} {escape(label)}</text>'
        f'<polyline points="{coords}" class="series"/>'
        f'<text x="{PAD}" y="{HEIGHT - 8}" class="tick">{escape(first)}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" class="tick" text-anchor="end">{escape(last)}</text>'
        "</svg>")


def bar_chart(bars: list[tuple[str, int]], *, title: str) -> Markup:
    if not bars:
        return Markup("")
    row, label_width = 22, 200
    height = row * len(bars) + 10
    top = max(max(v for _, v in bars), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">'
             f"<title>{escape(title)}</title>"]
    for i, (name, value) in enumerate(bars):
        y = 5 + i * row
        width = value / top * (WIDTH - label_width - 60)
        parts.append(f'<text x="{label_width - 6}" y="{y + 15}" class="tick" text-anchor="end">{escape(name)}</text>'
                     f'<rect x="{label_width}" y="{y + 3}" width="{width:.1f}" height="{row - 8}" class="bar"/>'
                     f'<text x="{label_width + width + 6:.1f}" y="{y + 15}" class="tick">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
