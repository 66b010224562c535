"""The sign-up form to embed in a blog (a Blogger "HTML/JavaScript" gadget, or any page): plain HTML, a form
POST to our public page, a honeypot field hidden from people but not from bots. No script needed."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

HONEYPOT = "website"


def subscribe_snippet(base_url: str, list_name: str) -> str:
    action = f"{base_url.rstrip('/')}/subscribe/{quote(list_name, safe='')}"
    return f"""<form method="post" action="{escape(action)}" accept-charset="utf-8" class="publisher-subscribe">
  <label>Email address<br><input type="email" name="email" required autocomplete="email"></label><br>
  <label>Name (optional)<br><input type="text" name="name" autocomplete="name"></label>
  <div style="position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden" aria-hidden="true">
    <label>Leave this empty <input type="text" name="{HONEYPOT}" tabindex="-1" autocomplete="off"></label>
  </div>
  <button type="submit">Subscribe by email</button>
</form>"""
