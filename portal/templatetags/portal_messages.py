"""``{% messages_sent_to user %}``: the messages sent to a person and where they went (own pages)."""

from django import template

from portal.messaging.selectors import kind_label, messages_for_user

register = template.Library()


@register.inclusion_tag("portal/_messages_sent.html")
def messages_sent_to(user) -> dict:
    if not getattr(user, "is_authenticated", False):
        return {"rows": []}
    return {
        "rows": [
            {"message": message, "label": kind_label(message.kind) if message.kind else message.subject}
            for message in messages_for_user(user)
        ]
    }
