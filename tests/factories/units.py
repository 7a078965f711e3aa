"""Unit accounts (registration.models.Unit, UnitContact): a unit by credit code with its contacts."""

import factory

from registration.models import Unit, UnitContact

from .people import mobile_make, uscc_make


class UnitFactory(factory.django.DjangoModelFactory):
    """A unit with a valid credit code (link applications with ``ApplicationFactory(unit=unit,
    invoice_tax_id=unit.credit_code)``)."""

    class Meta:
        model = Unit

    credit_code = factory.Sequence(lambda n: uscc_make(500_000 + n))
    name = factory.Sequence(lambda n: f"示例单位有限公司{n}")


class UnitContactFactory(factory.django.DjangoModelFactory):
    """An active contact of a unit (added by staff or by another contact: leave both empty)."""

    class Meta:
        model = UnitContact

    unit = factory.SubFactory(UnitFactory)
    mobile = factory.Sequence(lambda n: mobile_make(60_000_000 + n))
    name = factory.Sequence(lambda n: f"联系人{n}")
