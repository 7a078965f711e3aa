import pytest

from tests.factories import bank_make, studied_enrollment_make, template_make


@pytest.fixture
def bank(db):
    bank_make()


@pytest.fixture
def template(bank):
    return template_make()


@pytest.fixture
def enrollment(db):
    """A principal, initial-training enrollment whose study is complete: the exam is unlocked by
    learning's own rule (:func:`studied_enrollment_make`)."""
    return studied_enrollment_make(
        trainee__certificate_type="principal", trainee__training_category="initial"
    )
