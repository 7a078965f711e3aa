import pytest
from django.core.cache import cache

from tests.factories import ProgrammeFactory

from .world import trainee_world


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def exam_unlocked(monkeypatch):
    """The exam unlocks at the class hours (learning rules); here it is open from the start."""
    import learning.selectors.study

    monkeypatch.setattr(learning.selectors.study, "enrollment_exam_unlocked", lambda enrollment: True)


@pytest.fixture
def programme(db):
    return ProgrammeFactory()


@pytest.fixture
def world_a(programme, exam_unlocked):
    return trainee_world(programme, certificate_type="principal", label="甲")


@pytest.fixture
def world_b(programme, exam_unlocked, world_a):
    return trainee_world(programme, certificate_type="safety_manager", label="乙")
