"""Which posts go into a digest, and for whom.

Each subscription carries a watermark (seen_until): the posts first seen up to then were sent to it. A
digest for a group of subscribers holds the list's news after their watermark; subscribers whose watermark
differs (someone who just switched cadence) may need a different set of posts, so the audience is split
into groups that need exactly the same posts (group_by_watermark), one digest each."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import datetime

from publisher.compose.render import PostContent
from publisher.models import Post


def group_by_watermark(posts: Sequence[Post], watermarks: Iterable[tuple[datetime | None, int]]
                       ) -> list[tuple[list[Post], list[datetime | None]]]:
    """[(posts, the watermarks of the subscribers who get them)], largest audience first, from (watermark,
    how many subscribers hold it): each subscriber's posts are those first seen after their watermark.
    Watermarks with nothing new are left out."""
    times = [post.first_seen_at for post in posts]
    groups: dict[int, list[datetime | None]] = {}
    sizes: dict[int, int] = {}
    for seen_until, count in watermarks:
        start = 0 if seen_until is None else bisect.bisect_right(times, seen_until)
        if start < len(posts):
            groups.setdefault(start, []).append(seen_until)
            sizes[start] = sizes.get(start, 0) + count
    ordered = sorted(groups.items(), key=lambda item: (-sizes[item[0]], item[0]))
    return [(reading_order(posts[start:]), marks) for start, marks in ordered]


def reading_order(posts: Sequence[Post]) -> list[Post]:
    """Newest first by publication, as the blog itself shows them (and the subject names the newest); a post
    that reached the list through two feeds (Blogger's Atom feed and its ?alt=rss twin carry the same ids)
    appears once."""
    seen: set[str] = set()
    unique = []
    for post in sorted(posts, key=lambda p: (p.published_at or p.first_seen_at, p.id), reverse=True):
        if post.identity not in seen and (post.link is None or post.link not in seen):
            seen.update(filter(None, (post.identity, post.link)))
            unique.append(post)
    return unique


def post_contents(posts: Sequence[Post], feed_titles: dict[int, str]) -> list[PostContent]:
    """What the template shows of each post; `feed_titles` by feed id."""
    return [
        PostContent(
            title=post.title, link=post.link, author=post.author, published=post.published_at,
            content_html=post.content_html, feed_title=feed_titles[post.feed_id], image_url=post.image_url,
        )
        for post in posts
    ]
