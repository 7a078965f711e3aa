import io

import pytest

from exams import demo, selectors, services
from exams.models import ExamTemplate, Question
from tests.factories import studied_enrollment_make

pytestmark = pytest.mark.django_db


def test_demo_load_is_idempotent_and_fills_every_template():
    demo.load(stdout=io.StringIO())
    demo.load(stdout=io.StringIO())
    assert Question.objects.count() == 199
    assert ExamTemplate.objects.count() == 4
    for template in ExamTemplate.objects.prefetch_related("rules"):
        rules = list(template.rules.all())
        assert selectors.template_total_points(rules) == 100
        assert selectors.template_shortfalls(rules, selectors.bank_pool(template.certificate_type)) == []


@pytest.mark.parametrize("certificate_type", ["principal", "safety_manager"])
@pytest.mark.parametrize("category", ["initial", "refresher"])
def test_demo_templates_draw_papers(certificate_type, category):
    demo.load(stdout=io.StringIO())
    enrollment = studied_enrollment_make(
        trainee__certificate_type=certificate_type, trainee__training_category=category
    )
    attempt = services.attempt_start(enrollment=enrollment)
    assert attempt.total_points == 100 and attempt.pass_mark == 80
    assert attempt.question_count == (90 if category == "initial" else 70)
