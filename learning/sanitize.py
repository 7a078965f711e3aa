"""Lesson texts are entered by staff in admin but still rendered through an allow-list: the one of
:mod:`portal.sanitize`, shared with announcements and programme descriptions."""

from django.utils.safestring import SafeString

from portal.sanitize import ATTRIBUTES, TAGS, rich_html

__all__ = ["ATTRIBUTES", "TAGS", "lesson_html"]


def lesson_html(html: str) -> SafeString:
    return rich_html(html)
