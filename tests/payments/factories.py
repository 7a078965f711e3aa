"""Factories for the payments tests (registration objects built directly, not through its services)."""

import datetime

import factory
from django.utils import timezone

from payments.models import Holiday, Payment, PaymentSettings
from registration.models import Application, Programme, Trainee, TraineeStatus


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme

    name = factory.Sequence(lambda n: f"2026年度线上培训 {n}")
    year = 2026
    opens_on = datetime.date(2026, 1, 1)
    closes_on = datetime.date(2026, 12, 31)


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application

    programme = factory.SubFactory(ProgrammeFactory)
    reference = factory.Sequence(lambda n: f"PAY{n:07d}")
    kind = "unit"
    unit_name = factory.Sequence(lambda n: f"示例制造有限公司{n}")
    industry = "制造业"
    contact_name = "联系人"
    contact_phone = "13800000000"
    mail_recipient = "收件人"
    mail_phone = "13800000000"
    mail_address = "示例市示例路 1 号"
    invoice_title = factory.LazyAttribute(lambda o: o.unit_name)
    invoice_tax_id = "91350100M000100Y43"
    invoice_email = "invoice@example.com"


class TraineeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trainee

    application = factory.SubFactory(ApplicationFactory)
    programme = factory.LazyAttribute(lambda o: o.application.programme)
    row_number = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"学员{n:04d}")
    id_number = factory.Sequence(lambda n: f"110101199001{n:06d}")
    mobile = factory.Sequence(lambda n: f"137{n:08d}")
    certificate_type = "safety_manager"
    training_category = "initial"
    status = TraineeStatus.APPROVED


class PaymentSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentSettings

    payee_name = "示例课通安全技术咨询有限公司"
    bank_name = "示例银行示例市分行"
    account_number = "6200000000000000001"
    qr_instructions = "请在付款备注中填写姓名、金额和手机号码。"


class PaymentFactory(factory.django.DjangoModelFactory):
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
        model = Holiday
        django_get_or_create = ("date",)

    date = datetime.date(2027, 1, 1)
    name = "元旦"
