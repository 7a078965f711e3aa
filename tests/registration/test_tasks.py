import pytest

from portal.celery import app
from registration.tasks import application_submitted_notify, trainee_status_notify
from tests.factories import ApplicationFactory, CompleteTraineeFactory

pytestmark = pytest.mark.django_db


def test_tasks_are_registered_by_name():
    assert "registration.tasks.application_submitted_notify" in app.tasks
    assert "registration.tasks.trainee_status_notify" in app.tasks


def test_missing_objects_are_ignored(sms_outbox):
    assert application_submitted_notify(application_id=987654) is False
    assert trainee_status_notify(trainee_id=987654, audit_entry_id=1) is False
    assert sms_outbox == []


def test_confirmation_sent_once_when_run_twice(sms_outbox, django_capture_on_commit_callbacks):
    application = ApplicationFactory(contact_phone="13700001111")
    CompleteTraineeFactory.create_batch(2, application=application)
    with django_capture_on_commit_callbacks(execute=True):
        assert application_submitted_notify.delay(application_id=application.pk).get() is True
    first = list(sms_outbox)
    with django_capture_on_commit_callbacks(execute=True):
        assert application_submitted_notify.delay(application_id=application.pk).get() is False
    assert sms_outbox == first
    assert len(first) == 3  # the contact and two trainees


def test_status_notice_for_an_entry_without_decision_sends_nothing(sms_outbox):
    from portal.services import audit_record

    trainee = CompleteTraineeFactory()
    entry = audit_record(actor=None, action="trainee.view_full_id", target=trainee)
    assert trainee_status_notify(trainee_id=trainee.pk, audit_entry_id=entry.pk) is False
    assert sms_outbox == []
