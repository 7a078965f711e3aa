from django import template

from payments.models import yuan as _yuan

register = template.Library()


@register.filter
def yuan(fen) -> str:
    """Fen as yuan with two decimals, e.g. 80000 -> 800.00."""
    try:
        return _yuan(int(fen))
    except (TypeError, ValueError):
        return ""
