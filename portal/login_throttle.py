"""Per-account slow-down of log-ins across addresses.

django-axes locks an account *at one address* after ``AXES_FAILURE_LIMIT`` failures; from the next
address the count starts again. This adds a limit per account, whatever the address, that slows
guessing down without handing an attacker a way to lock the trainee out:

* the first ``LOGIN_ACCOUNT_FREE_FAILURES`` failures of an account (in ``LOGIN_ACCOUNT_WINDOW_SECONDS``)
  cost nothing extra: more than axes allows one address, so one address alone never gets here;
* after that, each further password check of the account waits for its turn: the wait starts at
  ``LOGIN_ACCOUNT_DELAY_SECONDS`` after the last failure and doubles with each failure, up to
  ``LOGIN_ACCOUNT_MAX_DELAY_SECONDS``. An attempt made while waiting is refused *without* checking
  the password and without counting, so hammering does not make the wait any longer: an attacker
  gets one guess per turn (a few dozen a day instead of thousands from many addresses), the trainee
  waits minutes at most;
* a browser the account has logged in from before (a signed cookie, ``portal_device``) is never
  kept waiting: the trainee's own phone keeps working during an attack. Axes' lockout by account
  and address still applies to it;
* any successful log-in (the form, an activation link, a code by SMS) ends the slow-down.

The counters live in the cache (``CACHE_URL``; Redis in production), like the other rate limits.
"""

import hashlib
import hmac

from django.conf import settings
from django.core import signing

from .ratelimit import (
    cooldown_claim,
    cooldown_reset,
    cooldown_start,
    ratelimit_count,
    ratelimit_hit,
    ratelimit_reset,
)
from .validators import mobile_normalize

SCOPE = "login-account"
DEVICE_COOKIE = "portal_device"
DEVICE_SALT = "portal.login_throttle.device"
DEVICE_MAX_AGE = 180 * 24 * 3600
DEVICE_MAX_ACCOUNTS = 5

DEFAULTS = {
    "LOGIN_ACCOUNT_FREE_FAILURES": 10,
    "LOGIN_ACCOUNT_DELAY_SECONDS": 30,
    "LOGIN_ACCOUNT_MAX_DELAY_SECONDS": 15 * 60,
    "LOGIN_ACCOUNT_WINDOW_SECONDS": 24 * 3600,
}


def _conf(name: str) -> int:
    return int(getattr(settings, name, DEFAULTS[name]))


def _account(username: str) -> str:
    return mobile_normalize(username)


def login_delay_seconds(failures: int) -> int:
    """How long the next password check of an account waits after its ``failures``-th failure."""
    free = _conf("LOGIN_ACCOUNT_FREE_FAILURES")
    if failures < free:
        return 0
    steps = min(failures - free, 30)
    return min(_conf("LOGIN_ACCOUNT_DELAY_SECONDS") * 2**steps, _conf("LOGIN_ACCOUNT_MAX_DELAY_SECONDS"))


def login_turn_claim(*, username: str, request=None) -> int:
    """``0`` when the password of ``username`` may be checked now (the turn is then taken);
    otherwise the seconds to wait. Nothing is counted here."""
    account = _account(username)
    if not account or (request is not None and device_known(request=request, username=account)):
        return 0
    delay = login_delay_seconds(ratelimit_count(scope=SCOPE, key=account))
    if not delay:
        return 0
    return cooldown_claim(scope=SCOPE, key=account, seconds=delay)


def login_failure_record(*, username: str) -> int:
    """Count a failed password check of ``username`` (any address); return the wait it starts."""
    account = _account(username)
    if not account:
        return 0
    window = _conf("LOGIN_ACCOUNT_WINDOW_SECONDS")
    ratelimit_hit(scope=SCOPE, key=account, limit=0, window_seconds=window)  # only counts
    delay = login_delay_seconds(ratelimit_count(scope=SCOPE, key=account))
    if delay:
        cooldown_start(scope=SCOPE, key=account, seconds=delay)
    return delay


def login_success_record(*, username: str, request=None) -> None:
    """A successful log-in: the account's failures are forgotten and the browser remembered."""
    account = _account(username)
    if not account:
        return
    ratelimit_reset(scope=SCOPE, key=account)
    cooldown_reset(scope=SCOPE, key=account)
    if request is not None:
        device_remember(request=request, username=account)


# --- Browsers an account has logged in from -------------------------------------------------


def _tag(account: str) -> str:
    key = f"{settings.SECRET_KEY}:{DEVICE_SALT}".encode()
    return hmac.new(key, account.encode(), hashlib.sha256).hexdigest()[:20]


def _device_tags(request) -> list[str]:
    value = request.COOKIES.get(DEVICE_COOKIE)
    if not value:
        return []
    try:
        tags = signing.loads(value, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:
        return []
    return [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []


def device_known(*, request, username: str) -> bool:
    """Whether this browser has logged in to ``username`` before (its signed cookie says so)."""
    return _tag(_account(username)) in _device_tags(request)


def device_remember(*, request, username: str) -> None:
    """Remember on the request that the browser logged in to ``username``; the middleware writes
    the cookie on the response."""
    tag = _tag(_account(username))
    tags = [tag, *(other for other in _device_tags(request) if other != tag)][:DEVICE_MAX_ACCOUNTS]
    request.portal_device_tags = tags


class KnownDeviceMiddleware:
    """Writes the ``portal_device`` cookie after a successful log-in (see :func:`device_remember`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        tags = getattr(request, "portal_device_tags", None)
        if tags:
            response.set_cookie(
                DEVICE_COOKIE,
                signing.dumps(tags, salt=DEVICE_SALT),
                max_age=DEVICE_MAX_AGE,
                secure=settings.SESSION_COOKIE_SECURE or request.is_secure(),
                httponly=True,
                samesite="Lax",
            )
        return response


def on_user_logged_in(sender, request, user, **kwargs) -> None:
    """``user_logged_in`` receiver (connected in :class:`portal.apps.PortalConfig`)."""
    login_success_record(username=getattr(user, user.USERNAME_FIELD, "") or "", request=request)
