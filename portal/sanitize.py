"""Rich text that staff write in admin (lesson texts, announcements, programme descriptions) is
rendered through one allow-list (nh3): no scripts, no event handlers, no styles, links limited to
http(s) and mailto and opened without the referrer."""

import nh3
from django.utils.safestring import SafeString, mark_safe

TAGS = {
    "h2", "h3", "h4", "h5", "p", "br", "hr", "ul", "ol", "li", "dl", "dt", "dd", "strong", "em", "b", "i",
    "u", "sub", "sup", "blockquote", "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "a",
    "span",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "th": {"scope", "colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "ol": {"start"},
}


def rich_html(html: str) -> SafeString:
    """``html`` cleaned by the allow-list, ready to put into a page."""
    cleaned = nh3.clean(
        html or "",
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 -- cleaned by the allow-list above
