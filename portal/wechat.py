"""WeChat's built-in browser (``MicroMessenger`` in the user agent, WeChat Work included).

Units pass the notice around in WeChat groups, so many pages are opened inside WeChat, whose
browser does not download files (PDF, Excel). :class:`WeChatMiddleware` marks such requests
(``request.in_wechat``); the base layout then adds the overlay of ``portal/_wechat_overlay.html``
and ``static/js/wechat.js``, which catches every link marked ``data-download`` and explains how
to open the page in the phone's browser, with the link ready to copy. Elsewhere links are left
alone.
"""

import re

from django.utils.cache import patch_vary_headers

_WECHAT = re.compile(r"\bMicroMessenger/", re.IGNORECASE)


def wechat_browser_is(user_agent: str | None) -> bool:
    """Whether ``user_agent`` is WeChat's built-in browser."""
    return bool(user_agent) and _WECHAT.search(user_agent) is not None


def request_in_wechat(request) -> bool:
    """Whether the request comes from WeChat's browser (set once by the middleware)."""
    flag = getattr(request, "in_wechat", None)
    if flag is None:
        flag = wechat_browser_is(request.META.get("HTTP_USER_AGENT", ""))
    return flag


class WeChatMiddleware:
    """Set ``request.in_wechat``; HTML pages (which differ by it) vary on the user agent."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.in_wechat = wechat_browser_is(request.META.get("HTTP_USER_AGENT", ""))
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            patch_vary_headers(response, ("User-Agent",))
        return response
