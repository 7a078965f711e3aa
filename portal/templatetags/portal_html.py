"""``{{ text|rich_html }}``: staff-written rich text through the allow-list of :mod:`portal.sanitize`."""

from django import template
from django.utils.safestring import SafeString

from portal.sanitize import rich_html as _rich_html

register = template.Library()


@register.filter
def rich_html(value) -> SafeString:
    return _rich_html(str(value or ""))
