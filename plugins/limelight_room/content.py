"""Exclusive posts: Markdown rendered with markdown-it-py, then sanitised with nh3.

Two layers on purpose. markdown-it runs with raw HTML off, so what the streamer types as
``<script>`` stays text; nh3 (ammonia) then keeps only the tags and attributes a post
needs, so even a renderer bug cannot smuggle script, event handlers, ``javascript:`` URLs
or styles onto a member's page. Images must come from the media folder (``/-/uploads/``,
where dashboard uploads land through ``ctx.media``): any other image source is dropped,
which also keeps members' IP addresses away from third-party hosts. Links open in a new
tab without a referrer (the room URL holds a member's personal token).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

#: Where post images may come from.
MEDIA_PREFIX = "/-/uploads/"
MAX_TITLE = 200
MAX_BODY = 50_000

TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "img", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead",
    "tr", "ul",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "td": {"align"},
              "th": {"align"}, "ol": {"start"}}  # fmt: skip


@cache
def _markdown() -> MarkdownIt:
    # Imported on first use: the server starts without paying for the Markdown parser.
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def _keep(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        ok = value.startswith(MEDIA_PREFIX) and "//" not in value and ".." not in value
        return value if ok else None
    if tag == "a" and attribute == "href":
        return value if value.startswith(("https://", "http://", "mailto:", "#")) else None
    return value


def render(body: str) -> str:
    """A post's Markdown as HTML that is safe to put in a page as it is."""
    import nh3

    html = _markdown().render(body[:MAX_BODY])
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        attribute_filter=_keep,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )


__all__ = ["MAX_BODY", "MAX_TITLE", "MEDIA_PREFIX", "render"]
