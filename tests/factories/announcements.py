"""Announcements (``portal.Announcement``): shown by default (published an hour ago, no expiry)."""

import datetime

import factory
from django.utils import timezone

from portal.models import Announcement


class AnnouncementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Announcement

    title = factory.Sequence(lambda n: f"培训通知 {n}")
    body_html = "<p>请按时完成学习。</p>"
    publish_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=1))
    expires_at = None
    pinned = False
