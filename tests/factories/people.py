"""People and their numbers: log-in users, staff with a role, audit entries, and generators of valid
ID numbers (GB 11643 check digit), mobile numbers and unified social credit codes."""

import datetime

import factory
from django.contrib.auth.models import Group
from stdnum.cn import ric, uscc

from portal.models import AuditEntry, User

PASSWORD = "correct-horse-battery"  # every factory-made user's password


def id_number_make(n: int, *, birth: datetime.date | None = None, region: str = "440106", male=None) -> str:
    """A valid 18-digit ID number (GB 11643 check digit) for sequence number ``n``."""
    birth = birth or datetime.date(1970, 1, 1) + datetime.timedelta(days=(n * 37) % 12000)
    order = n % 1000
    if male is not None and (order % 2 == 1) != male:
        order = (order + 1) % 1000
    first17 = f"{region}{birth:%Y%m%d}{order:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def mobile_make(n: int) -> str:
    """A valid mainland mobile number for sequence number ``n`` (``mobile_make(5)`` = 137 0000 0005)."""
    return f"137{n % 10**8:08d}"


def uscc_make(n: int) -> str:
    """A valid unified social credit code (GB 32100 check character) for sequence number ``n``."""
    first17 = f"91440101{n % 10**9:09d}"
    return first17 + uscc.calc_check_digit(first17)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("mobile",)
        skip_postgeneration_save = True

    mobile = factory.Sequence(lambda n: f"139{n:08d}")
    name = factory.Faker("name", locale="zh_CN")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    """A staff user; ``StaffFactory(role=REVIEWER)`` puts them in that role's group."""

    is_staff = True

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.groups.add(Group.objects.get(name=extracted))


class AuditEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEntry

    action = "test.action"
