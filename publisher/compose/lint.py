"""Email-client lint: which HTML/CSS features of a rendered digest Gmail, Outlook or Apple Mail lack.

Support data comes from caniemail (publisher/compose/data/caniemail.json, made by scripts/caniemail_data.py),
taken at each client's most recent tested version. Each feature the HTML uses is looked up:
- "unsupported": the client does not implement it, the design breaks or loses something there;
- "partial": it works with the caveats the notes give;
- "ignored": a conditional CSS block (`@media ...`) the client skips as a whole. That is the fallback
  working as designed (the inlined styles stay), so it is reported but never counted as unsupported.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import lxml.html

_DATA = Path(__file__).resolve().parent / "data" / "caniemail.json"
_CONDITIONAL = frozenset({
    "css-at-media", "css-at-media-prefers-color-scheme", "css-at-media-prefers-reduced-motion",
    "css-at-media-orientation", "css-at-media-hover", "css-at-media-device-pixel-ratio", "css-at-supports",
})
_TAGS = {
    **{f"h{n}": "html-h1-h6" for n in range(1, 7)}, "ul": "html-lists", "ol": "html-lists", "dl": "html-lists",
    "s": "html-strike", "strike": "html-strike", "rt": "html-rt", "rp": "html-rp",
    **dict.fromkeys(("article", "aside", "footer", "header", "main", "nav", "section"), "html-semantics"),
}
_ATTRIBUTES = {"align", "valign", "width", "height", "cellpadding", "cellspacing", "background", "role",
               "lang", "dir", "hidden", "target", "loading", "srcset", "required", "popover"}
_IMAGE_TYPES = {"jpg": "image-jpg", "jpeg": "image-jpg", "png": "image-png", "gif": "image-gif",
                "webp": "image-webp", "svg": "image-svg", "avif": "image-avif", "bmp": "image-bmp",
                "tif": "image-tiff", "tiff": "image-tiff", "ico": "image-ico", "heic": "image-heif",
                "heif": "image-heif", "apng": "image-apng"}
_UNITS = {"px": "css-unit-px", "em": "css-unit-em", "rem": "css-unit-rem", "%": "css-unit-percent",
          "vh": "css-unit-vh", "vw": "css-unit-vw", "vmin": "css-unit-vmin", "vmax": "css-unit-vmax",
          "ch": "css-unit-ch", "ex": "css-unit-ex", "cm": "css-unit-cm", "mm": "css-unit-mm",
          "in": "css-unit-in", "pt": "css-unit-pt", "pc": "css-unit-pc"}
_FUNCTIONS = {"calc": "css-unit-calc", "min": "css-function-min", "max": "css-function-max",
              "clamp": "css-function-clamp", "var": "css-variables", "rgb": "css-rgb", "rgba": "css-rgba",
              "linear-gradient": "css-linear-gradient", "radial-gradient": "css-radial-gradient",
              "conic-gradient": "css-conic-gradient", "light-dark": "css-function-light-dark"}
_MEDIA_FEATURES = {"prefers-color-scheme": "css-at-media-prefers-color-scheme",
                   "prefers-reduced-motion": "css-at-media-prefers-reduced-motion",
                   "orientation": "css-at-media-orientation", "hover": "css-at-media-hover",
                   "device-pixel-ratio": "css-at-media-device-pixel-ratio"}
_UNIT_RE = re.compile(r"\d(px|rem|em|%|vh|vw|vmin|vmax|ch|ex|cm|mm|in|pt|pc)(?![\w-])")
_SIDES = re.compile(r"(padding|margin|border)-(top|right|bottom|left)(-\w+)?$")


@dataclass(frozen=True)
class Finding:
    feature: str  # caniemail slug
    title: str
    client: str  # "Outlook (Windows)"
    level: str  # unsupported | partial | ignored
    version: str  # the client version the data describes
    notes: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"feature": self.feature, "title": self.title, "client": self.client, "level": self.level,
                "version": self.version, "notes": list(self.notes),
                "url": f"https://www.caniemail.com/features/{self.feature}/"}


@dataclass(frozen=True)
class HtmlSize:
    """The digest's HTML against PUBLISHER_HTML_BUDGET_KB (Gmail clips past ~102 KB)."""

    size: int  # bytes of UTF-8 HTML, placeholders in (a reader's own links add a few hundred bytes)
    budget: int | None  # bytes; None: no budget
    posts: int
    excerpts: int  # later posts shown as excerpts to stay under the budget

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and self.size > self.budget

    def as_dict(self) -> dict:
        return {"html_kb": round(self.size / 1024, 1), "budget_kb": self.budget and round(self.budget / 1024, 1),
                "over_budget": self.over_budget, "posts": self.posts, "excerpts": self.excerpts}

    def describe(self) -> str:
        size = f"HTML {self.size / 1024:.1f} KB"
        if self.budget is None:
            return f"{size} (no budget: PUBLISHER_HTML_BUDGET_KB is 0)"
        verdict = "OVER" if self.over_budget else "within"
        cut = (f"; the last {self.excerpts} of {self.posts} posts are excerpts to fit" if self.excerpts else "")
        return f"{size}, {verdict} the {self.budget / 1024:.0f} KB budget{cut}"


@lru_cache(maxsize=1)
def _data() -> dict:
    return json.loads(_DATA.read_text())


def lint_html(html: str) -> list[Finding]:
    """Findings for every feature used that a checked client does not fully support, worst first."""
    data = _data()
    findings = []
    for slug, contexts in sorted(features_used(html).items()):
        feature = data["features"].get(slug)
        for client, support in (feature["support"].items() if feature else ()):
            if all(context and _skipped_by(context, client) for context in contexts):
                continue  # used only inside @media blocks this client ignores: it never applies them
            level = "unsupported" if support["level"] == "n" else "partial"
            if slug in _CONDITIONAL and level == "unsupported":
                level = "ignored"
            findings.append(Finding(slug, feature["title"], data["clients"][client], level, support["version"],
                                    tuple(support["notes"])))
    order = {"unsupported": 0, "partial": 1, "ignored": 2}
    return sorted(findings, key=lambda f: (order[f.level], f.feature, f.client))


def _skipped_by(context: frozenset[str], client: str) -> bool:
    features = _data()["features"]
    return any(features.get(slug, {}).get("support", {}).get(client, {}).get("level") == "n" for slug in context)


Contexts = set  # of frozenset[str]: the conditional at-rules around each use; empty = unconditional


def features_used(html: str) -> dict[str, Contexts]:
    """slug -> the contexts it is used in (frozenset() for plain use, else the enclosing @media features)."""
    found: dict[str, Contexts] = {}

    def add(slugs, context=frozenset()):
        for slug in slugs:
            found.setdefault(slug, set()).add(context)

    if re.match(r"\s*<!doctype", html, re.IGNORECASE):
        add({"html-doctype"})
    if "<!--" in html:
        add({"html-comments"})
    tree = lxml.html.document_fromstring(html)
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        add(_element_features(element))
        if element.tag == "style":
            for context, slugs in _stylesheet_features(element.text or "").items():
                add(slugs, context)
        elif element.get("style"):
            add(_declaration_features(element.get("style")))
    return found


def _element_features(element) -> set[str]:
    tag = element.tag.lower()
    # <html>, <head> and <body> are always there (the parser adds them); what a client may drop is what
    # they carry, so <body> counts only with attributes.
    found = set() if tag in ("html", "head") or (tag == "body" and not element.attrib) else {_TAGS.get(tag, f"html-{tag}")}
    for name in element.attrib:
        name = name.lower()
        if name in _ATTRIBUTES or name.startswith("aria-"):
            found.add(f"html-{name}")
        elif name == "inert":
            found.add("css-inert-attribute")
    if tag == "input":
        found.add(f"html-input-{(element.get('type') or 'text').lower()}")
    elif tag == "button":
        found.add(f"html-button-{(element.get('type') or 'submit').lower()}")
    elif tag == "meta" and (element.get("name") or "").lower() == "color-scheme":
        found.add("html-meta-color-scheme")
    elif tag == "a":
        href = (element.get("href") or "").strip().lower()
        found |= {"html-mailto-links"} if href.startswith("mailto:") else set()
        found |= {"html-anchor-links"} if href.startswith("#") else set()
    elif tag == "img":
        src = (element.get("src") or "").strip().lower()
        extension = re.search(r"\.(\w+)(?:[?#]|$)", src)
        found |= {"image-base64"} if src.startswith("data:") else set()
        found |= {_IMAGE_TYPES[extension[1]]} if extension and extension[1] in _IMAGE_TYPES else set()
    return found


_BLOCK_RE = re.compile(r"@(media|supports)([^{]*)\{((?:[^{}]*\{[^{}]*\})*[^{}]*)\}", re.IGNORECASE)


def _stylesheet_features(css: str) -> dict[frozenset, set[str]]:
    """Features per context: rules inside `@media`/`@supports` are keyed by the at-rule features."""
    out: dict[frozenset, set[str]] = {frozenset(): {"css-comments"} if "/*" in css else set()}
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    for kind, prelude, body in _BLOCK_RE.findall(css):
        context = {f"css-at-{kind.lower()}"} | {slug for name, slug in _MEDIA_FEATURES.items()
                                               if name in prelude.lower()}
        out[frozenset()] |= context
        out.setdefault(frozenset(context), set()).update(_rules_features(body))
    rest = _BLOCK_RE.sub("", css)
    out[frozenset()] |= {f"css-at-{name.lower()}" for name in re.findall(r"@([\w-]+)", rest)}
    out[frozenset()] |= _rules_features(rest)
    return out


def _rules_features(css: str) -> set[str]:
    found: set[str] = set()
    for selectors, declarations in re.findall(r"([^{}@;]+)\{([^{}]*)\}", css):
        found |= _selector_features(selectors) | _declaration_features(declarations)
    return found


def _selector_features(selectors: str) -> set[str]:
    found = {"css-selector-grouping"} if "," in selectors else set()
    for selector in selectors.split(","):
        selector = selector.strip()
        found |= {f"css-pseudo-class-{p}" for p in re.findall(r"(?<!:):([\w-]+)", selector)}
        found |= {f"css-pseudo-element-{p}" for p in re.findall(r"::([\w-]+)", selector)}
        checks = {"css-selector-class": r"\.[\w-]", "css-selector-id": r"#[\w-]", "css-selector-attribute": r"\[",
                  "css-selector-child": r">", "css-selector-adjacent-sibling": r"\+",
                  "css-selector-general-sibling": r"~", "css-selector-universal": r"\*",
                  "css-selector-descendant": r"[\w\]\)]\s+[\w.#\[*:]", "css-selector-type": r"(^|[\s>+~])[a-z]",
                  "css-selector-chaining": r"[\w\]][.#\[][\w-]"}
        found |= {slug for slug, pattern in checks.items() if re.search(pattern, selector)}
    return found


def _declaration_features(declarations: str) -> set[str]:
    found: set[str] = set()
    for declaration in declarations.split(";"):
        prop, _, value = declaration.partition(":")
        prop, value = prop.strip().lower(), value.strip().lower()
        if not prop or not value:
            continue
        found.add(_property_slug(prop, value))
        if "!important" in value:
            found.add("css-important")
        found |= {_FUNCTIONS[name] for name in re.findall(r"([\w-]+)\(", value) if name in _FUNCTIONS}
        found |= {_UNITS[unit] for unit in _UNIT_RE.findall(value)}
        if prop.startswith("--"):
            found.add("css-variables")
    return found


def _property_slug(prop: str, value: str) -> str:
    if prop == "display":
        kind = value.replace("!important", "").strip()
        return {"flex": "css-display-flex", "inline-flex": "css-display-flex", "grid": "css-display-grid",
                "none": "css-display-none"}.get(kind, "css-display")
    side = _SIDES.match(prop)
    if side and side[3] != "-radius":
        return f"css-{side[1]}"
    if prop in ("top", "right", "bottom", "left"):
        return "css-left-right-top-bottom"
    return f"css-{prop}"
