"""A Blogger-style blog whose Atom feed tests can change, served by a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from email.utils import format_datetime
from xml.sax.saxutils import escape

BLOG_ID = "7324251718452398113"


@dataclass
class BlogPost:
    number: int
    title: str
    body: str
    published: datetime

    @property
    def link(self) -> str:
        return f"https://example-blog.blogspot.com/{self.published:%Y/%m}/post-{self.number}.html"


@dataclass
class Blog:
    """Posts in the shape Blogger serves at /feeds/posts/default (newest first)."""

    title: str = "Example Blog"
    posts: list[BlogPost] = field(default_factory=list)
    # Posts are dated from the day the test runs, never a fixed day that ages into "old news".
    start: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0) - timedelta(days=2))

    def add_post(self, title: str, body: str | None = None) -> BlogPost:
        number = len(self.posts) + 1
        published = self.start + timedelta(hours=number)
        post = BlogPost(number, title, body or f"<p>Body of {title}.</p>", published)
        self.posts.append(post)
        return post

    def atom(self) -> bytes:
        entries = "".join(self._entry(p) for p in sorted(self.posts, key=lambda p: -p.number))
        updated = max((p.published for p in self.posts), default=self.start)
        return f"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns='http://www.w3.org/2005/Atom' xmlns:openSearch='http://a9.com/-/spec/opensearchrss/1.0/'
      xmlns:blogger='http://schemas.google.com/blogger/2008' xmlns:thr='http://purl.org/syndication/thread/1.0'>
<id>tag:blogger.com,1999:blog-{BLOG_ID}</id>
<updated>{updated.isoformat()}</updated>
<title type='text'>{escape(self.title)}</title>
<link rel='http://schemas.google.com/g/2005#feed' type='application/atom+xml' href='https://example-blog.blogspot.com/feeds/posts/default'/>
<link rel='alternate' type='text/html' href='https://example-blog.blogspot.com/'/>
<link rel='hub' href='https://pubsubhubbub.appspot.com/'/>
<author><name>Blog Author</name></author>
<generator version='7.00' uri='http://www.blogger.com'>Blogger</generator>
{entries}</feed>""".encode()

    def rss(self) -> bytes:
        """The ?alt=rss twin: the same posts with the same ids, as RSS 2.0."""
        items = "".join(
            f"<item><guid isPermaLink='false'>tag:blogger.com,1999:blog-{BLOG_ID}.post-{1000 + p.number}</guid>"
            f"<pubDate>{format_datetime(p.published)}</pubDate><title>{escape(p.title)}</title>"
            f"<description>{escape(p.body)}</description><link>{p.link}</link>"
            f"<author>noreply@blogger.com (Blog Author)</author></item>"
            for p in sorted(self.posts, key=lambda p: -p.number))
        return (f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel>"
                f"<title>{escape(self.title)}</title><link>https://example-blog.blogspot.com/</link>"
                f"{items}</channel></rss>").encode()

    @staticmethod
    def _entry(post: BlogPost) -> str:
        return f"""<entry>
<id>tag:blogger.com,1999:blog-{BLOG_ID}.post-{1000 + post.number}</id>
<published>{post.published.isoformat()}</published>
<updated>{post.published.isoformat()}</updated>
<category scheme='http://www.blogger.com/atom/ns#' term='news'/>
<title type='text'>{escape(post.title)}</title>
<content type='html'>{escape(post.body)}</content>
<link rel='alternate' type='text/html' href='{post.link}' title='{escape(post.title)}'/>
<author><name>Blog Author</name></author>
</entry>
"""


class FeedServer:
    """Serves blog.atom() at /feeds/posts/default with an ETag, so conditional GET is exercised too."""

    def __init__(self, blog: Blog):
        self.blog = blog
        self.requests: list[str] = []
        handler = self._handler()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/feeds/posts/default"

    @property
    def rss_url(self) -> str:
        return self.url + "?alt=rss"

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.requests.append(self.path)
                body = outer.blog.rss() if "alt=rss" in self.path else outer.blog.atom()
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/atom+xml; charset=UTF-8")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
