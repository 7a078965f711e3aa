"""Read-side queries of the site shell."""

from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Announcement, Association, AuditEntry, Contact, ContactRole, FaqEntry
from .services import WORKER_PING_ACTION


def association_get() -> Association | None:
    return Association.objects.order_by("pk").first()


def worker_pings_recent(*, limit: int = 5) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(action=WORKER_PING_ACTION).select_related("actor")[:limit]


# The contacts are shown in the footer of every page: kept in the cache (no query per page) and
# dropped whenever a contact is saved or deleted (``contacts_cache_clear``, connected in apps.py).
CONTACTS_CACHE_KEY = "portal:contacts:v1"
CONTACTS_CACHE_SECONDS = 3600


def contacts_active() -> list[Contact]:
    """The contacts shown to trainees, in their order (cached)."""
    contacts = cache.get(CONTACTS_CACHE_KEY)
    if contacts is None:
        contacts = list(Contact.objects.filter(active=True))
        cache.set(CONTACTS_CACHE_KEY, contacts, CONTACTS_CACHE_SECONDS)
    return contacts


def contacts_cache_clear(**_signal) -> None:
    """Drop the cached contacts now and again after the commit (a page rendered meanwhile may have
    cached the old rows)."""
    cache.delete(CONTACTS_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(CONTACTS_CACHE_KEY))


@dataclass(frozen=True)
class ContactGroup:
    role: str
    label: str
    contacts: list[Contact]


def contacts_by_role() -> list[ContactGroup]:
    """The active contacts grouped by role, the roles in the order of their first contact."""
    groups: dict[str, list[Contact]] = {}
    for contact in contacts_active():
        groups.setdefault(contact.role, []).append(contact)
    return [ContactGroup(role, ContactRole(role).label, contacts) for role, contacts in groups.items()]


@dataclass(frozen=True)
class FaqTopic:
    topic: str
    entries: list[FaqEntry]


def faq_topics_published() -> list[FaqTopic]:
    """The published FAQ entries grouped by topic (one query), topics in the order of their first entry."""
    topics: dict[str, list[FaqEntry]] = {}
    for entry in FaqEntry.objects.filter(published=True):
        topics.setdefault(entry.topic, []).append(entry)
    return [FaqTopic(topic, entries) for topic, entries in topics.items()]


# The guide's screenshots (static/portal/guide/<language>/<name>.png), phone viewport at twice the
# pixels; written by tests/browser/test_guide.py (``make screenshots``).
GUIDE_SHOT_NAMES = ("login", "centre", "lesson", "exam", "certificate")
GUIDE_SHOT_SIZE = (390, 844)  # CSS pixels (the phone viewport): the <img> width and height


@dataclass(frozen=True)
class GuideShot:
    path: str  # static path
    width: int
    height: int


def guide_shots(*, language: str) -> dict[str, GuideShot]:
    folder = "en" if (language or "").startswith("en") else "zh-hans"
    width, height = GUIDE_SHOT_SIZE
    return {name: GuideShot(f"portal/guide/{folder}/{name}.png", width, height) for name in GUIDE_SHOT_NAMES}


# Announcements: shown between their publish and expiry times, pinned ones first, then the latest.
ANNOUNCEMENTS_ON_HOME = 3


def announcements_shown_q(*, now) -> Q:
    """Published at or before ``now`` and not expired by then."""
    return Q(publish_at__lte=now) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def announcement_is_shown(announcement: Announcement, *, now) -> bool:
    """The same rule as :func:`announcements_shown_q`, for a loaded row."""
    return announcement.publish_at <= now and (
        announcement.expires_at is None or announcement.expires_at > now
    )


def announcements_current(*, now=None) -> QuerySet[Announcement]:
    """The announcements shown now, pinned first, then the latest (one query when evaluated)."""
    now = now or timezone.now()
    return (
        Announcement.objects.filter(announcements_shown_q(now=now))
        .select_related("programme")
        .order_by("-pinned", "-publish_at", "-pk")
    )


def announcements_for_home(*, now=None, limit: int = ANNOUNCEMENTS_ON_HOME) -> list[Announcement]:
    return list(announcements_current(now=now)[:limit])


def announcement_shown(*, pk: int, now=None) -> Announcement | None:
    """The announcement if it is shown now (a hidden or expired one is ``None``: not found)."""
    return announcements_current(now=now).filter(pk=pk).first()


def announcements_for_programme(*, programme_id: int, now=None) -> list[Announcement]:
    """The announcements about one programme shown now (its public page)."""
    return list(announcements_current(now=now).filter(programme_id=programme_id))
