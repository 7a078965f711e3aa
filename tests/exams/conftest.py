import pytest

from .factories import EnrollmentFactory, bank_make, template_make


class PassedRecorder:
    """Stands in for learning.services.enrollment_mark_passed (built by the integrator)."""

    def __init__(self):
        self.calls = []

    def __call__(self, *, enrollment, passed_at, actor=None):
        from learning.models import Enrollment, EnrollmentStatus

        self.calls.append({"enrollment_id": enrollment.pk, "passed_at": passed_at, "actor": actor})
        Enrollment.objects.filter(pk=enrollment.pk).update(
            status=EnrollmentStatus.PASSED, status_changed_at=passed_at
        )
        return enrollment


class Unlock:
    """learning.selectors.enrollment_exam_unlocked (issue 6) replaced by a switch."""

    def __init__(self):
        self.unlocked = True

    def __call__(self, enrollment):
        return self.unlocked


@pytest.fixture(autouse=True)
def exam_unlock(monkeypatch):
    import learning.selectors

    switch = Unlock()
    monkeypatch.setattr(learning.selectors, "enrollment_exam_unlocked", switch, raising=False)
    return switch


@pytest.fixture(autouse=True)
def mark_passed(monkeypatch):
    import learning.services

    recorder = PassedRecorder()
    monkeypatch.setattr(learning.services, "enrollment_mark_passed", recorder, raising=False)
    return recorder


@pytest.fixture
def bank(db):
    bank_make()


@pytest.fixture
def template(bank):
    return template_make()


@pytest.fixture
def enrollment(db):
    return EnrollmentFactory(trainee__certificate_type="principal", trainee__training_category="initial")
