import datetime

import pytest
from django.utils import timezone

from registration.models import TraineeStatus
from registration.selectors import application_fee_summary, programme_current, yuan
from tests.factories import ApplicationFactory, ProgrammeFactory, TraineeFactory

pytestmark = pytest.mark.django_db


def test_yuan_formats_fen_without_float():
    assert yuan(80_000) == "800.00"
    assert yuan(110_005) == "1,100.05"
    assert yuan(-30_000) == "-300.00"
    assert yuan(None) == ""


def test_programme_current_is_the_open_one_latest_first():
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    ProgrammeFactory(opens_on=today - 90 * day, closes_on=today - day)  # closed
    older = ProgrammeFactory(opens_on=today - 30 * day, closes_on=today + 30 * day)
    newer = ProgrammeFactory(opens_on=today - 2 * day, closes_on=today)
    upcoming = ProgrammeFactory(opens_on=today + day, closes_on=today + 9 * day)  # not yet open
    assert programme_current() == newer
    assert programme_current(day=today + 5 * day) == upcoming
    assert programme_current(day=today + 20 * day) == older
    assert programme_current(day=today + 100 * day) is None


def test_fee_summary_counts_live_trainees_only(django_assert_num_queries):
    application = ApplicationFactory(programme__fee_initial_fen=80_000, programme__fee_refresher_fen=30_000)
    TraineeFactory.create_batch(2, application=application, training_category="initial")
    TraineeFactory(application=application, training_category="refresher", status=TraineeStatus.APPROVED)
    TraineeFactory(application=application, training_category="initial", status=TraineeStatus.WITHDRAWN)
    TraineeFactory(application=application, training_category="refresher", status=TraineeStatus.REJECTED)
    with django_assert_num_queries(1):
        summary = application_fee_summary(application)
    assert summary.total_fen == 2 * 80_000 + 30_000
    assert summary.total_yuan == "1,900.00"
    assert (summary.count, summary.count_initial, summary.count_refresher) == (3, 2, 1)
    assert [line.fee_fen for line in summary.lines] == [80_000, 80_000, 30_000, 80_000, 30_000]


def test_fee_summary_uses_the_programme_fees():
    application = ApplicationFactory(programme__fee_initial_fen=99_900, programme__fee_refresher_fen=12_345)
    TraineeFactory(application=application, training_category="refresher")
    assert application_fee_summary(application).total_fen == 12_345
