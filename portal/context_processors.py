from django.utils.functional import SimpleLazyObject

from .selectors import association_get, contacts_by_role
from .wechat import request_in_wechat


def portal(request) -> dict:
    return {
        "association": association_get(),
        "in_wechat": request_in_wechat(request),
        # the footer's contacts: read (from the cache) only by a page that shows them
        "contact_groups": SimpleLazyObject(contacts_by_role),
    }
