"""The security tests' worlds (``world.py``). The cache (rate limits, lock-outs) is emptied around
every test by the autouse fixture of tests/conftest.py."""

import pytest

from tests.factories import ProgrammeFactory

from .world import trainee_world


@pytest.fixture
def programme(db):
    return ProgrammeFactory()


@pytest.fixture
def world_a(programme):
    return trainee_world(programme, certificate_type="principal", label="甲")


@pytest.fixture
def world_b(programme, world_a):
    return trainee_world(programme, certificate_type="safety_manager", label="乙")
