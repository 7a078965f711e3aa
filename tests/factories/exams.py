"""Exams data: questions, exam templates with their rules, a small bank and an 11-question template."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from exams.models import ExamTemplate, ExamTemplateRule, Question, QuestionType


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    code = factory.Sequence(lambda n: f"t{n:05d}")
    qtype = QuestionType.SINGLE
    topic = "law"
    stem = factory.Sequence(lambda n: f"测试题干 {n}：以下哪一项正确？")
    options = factory.LazyAttribute(
        lambda o: (
            ["正确", "错误"]
            if o.qtype == QuestionType.TRUE_FALSE
            else [f"{o.code} 选项{letter}" for letter in "ABCD"]
        )
    )
    answer = factory.LazyAttribute(lambda o: [0, 2] if o.qtype == QuestionType.MULTIPLE else [1])
    explanation = factory.LazyAttribute(lambda o: f"EXPLAIN-{o.code}")


class ExamTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExamTemplate

    programme = None
    certificate_type = "principal"
    training_category = "initial"
    name = factory.Sequence(lambda n: f"考试模板 {n}")
    time_limit_minutes = 60


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExamTemplateRule

    template = factory.SubFactory(ExamTemplateFactory)
    qtype = QuestionType.SINGLE
    topic = ""
    count = 5
    points = Decimal("10")


def bank_make(
    *, single=8, multiple=4, true_false=6, certificate_types=("principal", "safety_manager"), topic="law"
):
    """A small bank of each question type for the given certificate types."""
    flags = {
        "for_principal": "principal" in certificate_types,
        "for_safety_manager": "safety_manager" in certificate_types,
    }
    QuestionFactory.create_batch(single, qtype=QuestionType.SINGLE, topic=topic, **flags)
    QuestionFactory.create_batch(multiple, qtype=QuestionType.MULTIPLE, topic=topic, **flags)
    QuestionFactory.create_batch(true_false, qtype=QuestionType.TRUE_FALSE, topic=topic, **flags)


def template_make(**kwargs) -> ExamTemplate:
    """5 single × 10 + 2 multiple × 15 + 4 true/false × 5 = 11 questions, 100 points."""
    template = ExamTemplateFactory(**kwargs)
    RuleFactory(template=template, qtype=QuestionType.SINGLE, count=5, points=Decimal("10"))
    RuleFactory(template=template, qtype=QuestionType.MULTIPLE, count=2, points=Decimal("15"))
    RuleFactory(template=template, qtype=QuestionType.TRUE_FALSE, count=4, points=Decimal("5"))
    return template


def _template_for(certificate_type: str, training_category: str) -> ExamTemplate:
    """The general exam template of a certificate type and category (one each), made if missing."""
    found = ExamTemplate.objects.filter(
        programme=None, certificate_type=certificate_type, training_category=training_category
    ).first()
    return found or ExamTemplateFactory(
        certificate_type=certificate_type, training_category=training_category
    )


class AttemptFactory(factory.django.DjangoModelFactory):
    """A submitted, passed exam attempt of an enrollment (its paper left empty): the score as the
    issuer's list and the reports read it."""

    class Meta:
        model = "exams.Attempt"

    enrollment = factory.SubFactory("tests.factories.learning.EnrollmentFactory")
    template = factory.LazyAttribute(
        lambda o: _template_for(o.enrollment.trainee.certificate_type, o.enrollment.trainee.training_category)
    )
    number = 1
    status = "submitted"
    started_at = factory.LazyFunction(timezone.now)
    deadline = factory.LazyAttribute(lambda o: o.started_at + datetime.timedelta(hours=1))
    submitted_at = factory.LazyAttribute(lambda o: o.started_at + datetime.timedelta(minutes=30))
    total_points = Decimal("100")
    pass_mark = Decimal("60")
    score = Decimal("88")
    passed = True
