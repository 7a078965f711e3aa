import pytest

from portal.roles import FINANCE, REVIEWER
from tests.factories import ApplicationFactory, ApprovedTraineeFactory, PaymentSettingsFactory, StaffFactory


@pytest.fixture
def finance_user(db):
    return StaffFactory(role=FINANCE)


@pytest.fixture
def reviewer_user(db):
    return StaffFactory(role=REVIEWER)


@pytest.fixture
def application(db):
    return ApplicationFactory()


@pytest.fixture
def three_trainees(application):
    return [ApprovedTraineeFactory(application=application) for _ in range(3)]


@pytest.fixture
def payment_settings(db):
    return PaymentSettingsFactory()


@pytest.fixture
def paid_signals():
    """Trainee ids received by a test receiver of registration.signals.trainee_paid."""
    from registration.signals import trainee_paid

    received: list[int] = []

    def receiver(sender, trainee_id, **kwargs):
        received.append(trainee_id)

    trainee_paid.connect(receiver, weak=False, dispatch_uid="payments-test-receiver")
    yield received
    trainee_paid.disconnect(dispatch_uid="payments-test-receiver")
