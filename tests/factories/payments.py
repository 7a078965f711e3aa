"""Payments data: the payee's settings, payment reports (linked to their trainees), and the holidays
of the working-day calendar (``portal.Holiday``) that payment deadlines count in."""

import datetime

import factory
from django.utils import timezone

from payments.models import Payment, PaymentSettings

from .registration import ApplicationFactory


class PaymentSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentSettings

    payee_name = "示例课通安全技术咨询有限公司"
    bank_name = "示例银行示例市分行"
    account_number = "6200000000000000001"
    qr_instructions = "请在付款备注中填写姓名、金额和手机号码。"


class PaymentFactory(factory.django.DjangoModelFactory):
    """A bank transfer of one initial fee; ``PaymentFactory(trainees=[...])`` links the trainees."""

    class Meta:
        model = Payment
        skip_postgeneration_save = True

    application = factory.SubFactory(ApplicationFactory)
    channel = "bank_transfer"
    payer_name = factory.LazyAttribute(lambda o: o.application.unit_name)
    amount_fen = 80_000
    expected_fen = 80_000
    transaction_no = factory.Sequence(lambda n: f"TX{n:010d}")
    paid_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def trainees(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.trainees.set(extracted)


class HolidayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "portal.Holiday"
        django_get_or_create = ("date",)

    date = datetime.date(2027, 1, 1)
    name = "元旦"
