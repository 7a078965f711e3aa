"""Offline class hours (issue #23): sessions, check-in by scanning the session's QR code, the sign-in
sheet import, and how offline hours count toward the total and the exam unlock.

Messages new in this change are compared with their gettext (the zh-Hans catalogue gets them when
the translations are merged), so the tests hold before and after the merge."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from learning.models import CheckInMethod, OfflineCheckIn, OfflineSession, ProgrammeStudyRule
from learning.selectors.study import enrollment_exam_unlocked, enrollment_study_overview
from learning.services.offline import (
    CHECKIN_GRACE,
    offline_checkin_record,
    offline_checkin_window_error,
    offline_checkins_import,
    offline_session_create,
)
from portal.models import AuditEntry
from portal.roles import COURSE_ADMIN
from tests.factories import (
    PASSWORD,
    EnrollmentFactory,
    OfflineSessionFactory,
    ProgrammeFactory,
    StaffFactory,
    plan_make,
    studied_enrollment_make,
)

pytestmark = pytest.mark.django_db


def _login(client, enrollment):
    enrollment.user.set_password(PASSWORD)
    enrollment.user.save()
    client.force_login(enrollment.user)
    return client


def _sheet(*lines: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "sign-in.csv", ("\n".join(lines) + "\n").encode("utf-8"), content_type="text/csv"
    )


# -- sessions ----------------------------------------------------------------------------------


def test_session_create_makes_a_token_and_audits():
    staff = StaffFactory(role=COURSE_ADMIN)
    programme = ProgrammeFactory()
    start = timezone.now() + datetime.timedelta(days=1)
    session = offline_session_create(
        programme=programme,
        title=" 安全生产法规面授 ",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
        place="培训中心",
        hours=Decimal("4"),
        actor=staff,
    )
    assert session.title == "安全生产法规面授" and session.created_by == staff
    assert len(session.token) >= 20
    assert OfflineSessionFactory(programme=programme).token != session.token
    entry = AuditEntry.objects.get(action="offline_session.created")
    assert entry.actor == staff and entry.target_id == str(session.pk) and entry.new_value["hours"] == "4"


def test_session_create_refuses_bad_fields_all_at_once():
    start = timezone.now()
    with pytest.raises(ValidationError) as exc:
        offline_session_create(
            programme=ProgrammeFactory(),
            title="",
            starts_at=start,
            ends_at=start - datetime.timedelta(hours=1),
            place="",
            hours=Decimal("0"),
            actor=StaffFactory(role=COURSE_ADMIN),
        )
    assert set(exc.value.message_dict) == {"title", "place", "ends_at", "hours"}
    assert not OfflineSession.objects.exists()


# -- check-in by scan ----------------------------------------------------------------------------


def test_scan_within_the_window_checks_in_once():
    enrollment = EnrollmentFactory()
    session = OfflineSessionFactory(programme=enrollment.programme)
    first = offline_checkin_record(session=session, user=enrollment.user)
    assert first.created and first.checkin.method == CheckInMethod.SCAN
    second = offline_checkin_record(session=session, user=enrollment.user)
    assert not second.created and second.checkin.pk == first.checkin.pk
    assert OfflineCheckIn.objects.filter(session=session).count() == 1
    assert AuditEntry.objects.filter(action="offline_checkin.recorded").count() == 1


@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        (-CHECKIN_GRACE - datetime.timedelta(minutes=1), False),  # too early
        (-CHECKIN_GRACE + datetime.timedelta(minutes=1), True),  # just inside the grace before
        (datetime.timedelta(hours=2) + CHECKIN_GRACE - datetime.timedelta(minutes=1), True),  # late arrival
        (datetime.timedelta(hours=2) + CHECKIN_GRACE + datetime.timedelta(minutes=1), False),  # over
    ],
)
def test_scan_window_with_grace(offset, ok):
    enrollment = EnrollmentFactory()
    start = timezone.now() + datetime.timedelta(days=1)
    session = OfflineSessionFactory(
        programme=enrollment.programme, starts_at=start, ends_at=start + datetime.timedelta(hours=2)
    )
    now = start + offset
    if ok:
        assert offline_checkin_record(session=session, user=enrollment.user, now=now).created
    else:
        with pytest.raises(ValidationError) as exc:
            offline_checkin_record(session=session, user=enrollment.user, now=now)
        assert exc.value.messages == [offline_checkin_window_error(session, now=now)]
        assert exc.value.messages[0]
        assert not OfflineCheckIn.objects.exists()


def test_scan_of_another_programmes_session_is_refused():
    enrollment = EnrollmentFactory()
    other = OfflineSessionFactory(programme=ProgrammeFactory())
    with pytest.raises(ValidationError) as exc:
        offline_checkin_record(session=other, user=enrollment.user)
    expected = gettext("You have no open study account in the programme of this session (%(programme)s).") % {
        "programme": other.programme
    }
    assert exc.value.messages == [expected]
    assert not OfflineCheckIn.objects.exists()


def test_checkin_page_get_changes_nothing_and_post_checks_in(client):
    enrollment = EnrollmentFactory()
    session = OfflineSessionFactory(programme=enrollment.programme)
    url = reverse("learning:offline_checkin", args=[session.token])
    _login(client, enrollment)
    page = client.get(url)
    assert page.status_code == 200
    assert b"data-checkin-button" in page.content and session.place.encode() in page.content
    assert not OfflineCheckIn.objects.exists()
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == url
    assert OfflineCheckIn.objects.get().enrollment == enrollment
    again = client.get(url)
    assert b"data-checked-in" in again.content and b"data-checkin-button" not in again.content


def test_checkin_page_needs_login_and_a_real_token(client):
    session = OfflineSessionFactory()
    url = reverse("learning:offline_checkin", args=[session.token])
    response = client.get(url)
    assert response.status_code == 302 and reverse("portal:login") in response["Location"]
    enrollment = EnrollmentFactory(programme=session.programme, trainee__programme=session.programme)
    _login(client, enrollment)
    assert client.get(reverse("learning:offline_checkin", args=["x" + session.token[1:]])).status_code == 404


def test_checkin_page_refuses_outside_the_window_without_saving(client):
    enrollment = EnrollmentFactory()
    start = timezone.now() + datetime.timedelta(days=2)
    session = OfflineSessionFactory(
        programme=enrollment.programme, starts_at=start, ends_at=start + datetime.timedelta(hours=2)
    )
    _login(client, enrollment)
    url = reverse("learning:offline_checkin", args=[session.token])
    response = client.post(url)
    assert response.status_code == 400
    assert offline_checkin_window_error(session, now=timezone.now()).encode() in response.content
    assert not OfflineCheckIn.objects.exists()


# -- sign-in sheet import ------------------------------------------------------------------------


def test_import_checks_every_row_before_saving_anything():
    staff = StaffFactory(role=COURSE_ADMIN)
    first, second = EnrollmentFactory(), None
    second = EnrollmentFactory(trainee__programme=first.programme, programme=first.programme)
    session = OfflineSessionFactory(programme=first.programme)
    sheet = _sheet("身份证号或手机号", first.trainee.id_number, "13000000000", second.trainee.mobile)
    with pytest.raises(ValidationError) as exc:
        offline_checkins_import(session=session, upload=sheet, actor=staff)
    assert exc.value.messages == [
        gettext(
            "Row %(row)s: no trainee with an open study account in this programme has this ID number or mobile."
        )
        % {"row": 3}
    ]
    assert not OfflineCheckIn.objects.exists()

    outcome = offline_checkins_import(
        session=session,
        upload=_sheet("身份证号或手机号", first.trainee.id_number.lower(), second.trainee.mobile),
        actor=staff,
    )
    assert (outcome.created, outcome.already) == (2, 0)
    assert set(OfflineCheckIn.objects.values_list("enrollment_id", "method")) == {
        (first.pk, CheckInMethod.IMPORT),
        (second.pk, CheckInMethod.IMPORT),
    }
    again = offline_checkins_import(session=session, upload=_sheet(second.trainee.mobile), actor=staff)
    assert (again.created, again.already) == (0, 1)


def test_import_needs_the_permission():
    from django.core.exceptions import PermissionDenied

    session = OfflineSessionFactory()
    with pytest.raises(PermissionDenied):
        offline_checkins_import(session=session, upload=_sheet("13800000000"), actor=StaffFactory())


# -- hours: the total and the exam unlock --------------------------------------------------------


def _rule(programme, offline_required):
    ProgrammeStudyRule.objects.update_or_create(
        programme=programme,
        defaults={"daily_cap_hours": Decimal("8"), "offline_hours_required": Decimal(offline_required)},
    )


def test_offline_hours_add_to_the_total_and_unlock_the_exam():
    plan_make(hours=28)  # the online lessons hold 28 of the programme's 32 class hours
    enrollment = studied_enrollment_make()
    session = OfflineSessionFactory(programme=enrollment.programme, hours=Decimal("4"))
    overview = enrollment_study_overview(enrollment)
    assert overview.all_lessons_done and overview.hours_online == Decimal("28.0")
    assert not overview.complete and not enrollment_exam_unlocked(enrollment)

    offline_checkin_record(session=session, user=enrollment.user)
    overview = enrollment_study_overview(enrollment)
    assert (overview.hours_online, overview.hours_offline, overview.hours_done) == (
        Decimal("28.0"),
        Decimal("4.0"),
        Decimal("32.0"),
    )
    assert overview.complete and enrollment_exam_unlocked(enrollment)


def test_required_offline_hours_keep_the_exam_locked_until_attended():
    enrollment = studied_enrollment_make()  # every lesson done: the 32 hours online
    _rule(enrollment.programme, 4)
    session = OfflineSessionFactory(programme=enrollment.programme, hours=Decimal("2"))
    overview = enrollment_study_overview(enrollment)
    assert overview.done_ms >= overview.required_ms and not overview.complete
    assert not enrollment_exam_unlocked(enrollment)
    assert overview.unlock_message == gettext(
        "The exam unlocks once you have attended %(required)s offline class hours (%(left)s still to attend)."
    ) % {"required": Decimal("4.0"), "left": Decimal("4.0")}

    offline_checkin_record(session=session, user=enrollment.user)
    assert not enrollment_exam_unlocked(enrollment)  # 2 of the 4 offline hours
    second = OfflineSessionFactory(programme=enrollment.programme, hours=Decimal("2"))
    offline_checkin_record(session=second, user=enrollment.user)
    assert enrollment_exam_unlocked(enrollment)
    assert enrollment_study_overview(enrollment).unlock_message == ""


def test_enrollment_page_and_centre_show_online_and_offline_apart(client, django_assert_max_num_queries):
    plan_make(hours=28)
    enrollment = studied_enrollment_make()
    _rule(enrollment.programme, 4)
    attended = OfflineSessionFactory(programme=enrollment.programme, title="第一次线下课", hours=Decimal("4"))
    OfflineSessionFactory(programme=enrollment.programme, title="第二次线下课", hours=Decimal("2"))
    offline_checkin_record(session=attended, user=enrollment.user)
    _login(client, enrollment)
    with django_assert_max_num_queries(30):
        page = client.get(reverse("learning:enrollment_detail", args=[enrollment.pk]))
    html = page.content.decode()
    assert "data-hours-split" in html and "28.0" in html and "4.0" in html
    assert html.count("data-offline-session=") == 2 and "第二次线下课" in html
    centre = client.get(reverse("learning:centre")).content.decode()
    assert "data-hours-split" in centre


def test_overview_query_count_does_not_grow_with_checkins(django_assert_num_queries):
    from learning.selectors.study import enrollment_study_overviews

    enrollments = [studied_enrollment_make()]
    for _ in range(3):
        enrollments.append(
            EnrollmentFactory(trainee__programme=enrollments[0].programme, programme=enrollments[0].programme)
        )
    for index in range(3):
        session = OfflineSessionFactory(programme=enrollments[0].programme)
        for enrollment in enrollments[: index + 1]:
            offline_checkin_record(session=session, user=enrollment.user)
    for enrollment in enrollments:
        enrollment.refresh_from_db()
    rows = [type(e).objects.select_related("trainee", "programme").get(pk=e.pk) for e in enrollments]
    with django_assert_num_queries(4):  # plans, lessons, progress, offline hours attended and required
        overviews = enrollment_study_overviews(rows)
    assert [overviews[e.pk].hours_offline for e in enrollments] == [
        Decimal("12.0"),
        Decimal("8.0"),
        Decimal("4.0"),
        Decimal("0.0"),
    ]


# -- admin ---------------------------------------------------------------------------------------


def test_admin_creates_a_session_prints_its_qr_and_imports_a_sheet(client, settings):
    settings.PORTAL_SITE_URL = "https://peixun.example.org"
    staff = StaffFactory(role=COURSE_ADMIN)
    client.force_login(staff)
    enrollment = EnrollmentFactory()
    response = client.post(
        reverse("admin:learning_offlinesession_add"),
        {
            "programme": enrollment.programme.pk,
            "title": "线下面授",
            "starts_at_0": "2026-12-10",
            "starts_at_1": "09:00",
            "ends_at_0": "2026-12-10",
            "ends_at_1": "12:00",
            "place": "培训中心",
            "hours": "4",
            "checkins-TOTAL_FORMS": "0",
            "checkins-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    session = OfflineSession.objects.get()
    assert session.created_by == staff
    assert AuditEntry.objects.filter(action="offline_session.created", target_id=str(session.pk)).exists()

    qr = client.get(reverse("admin:learning_offlinesession_qr", args=[session.pk])).content.decode()
    checkin_url = "https://peixun.example.org" + reverse("learning:offline_checkin", args=[session.token])
    assert checkin_url in qr and 'src="data:image/png;base64,' in qr

    refused = client.post(
        reverse("admin:learning_offlinesession_import", args=[session.pk]), {"file": _sheet("13000000000")}
    )
    assert refused.status_code == 200 and not OfflineCheckIn.objects.exists()
    done = client.post(
        reverse("admin:learning_offlinesession_import", args=[session.pk]),
        {"file": _sheet(enrollment.trainee.mobile)},
    )
    assert done.status_code == 302 and OfflineCheckIn.objects.get().enrollment == enrollment
    change = client.get(reverse("admin:learning_offlinesession_change", args=[session.pk])).content.decode()
    assert enrollment.trainee.name in change


def test_admin_bad_session_shows_the_services_reasons(client):
    client.force_login(StaffFactory(role=COURSE_ADMIN))
    response = client.post(
        reverse("admin:learning_offlinesession_add"),
        {
            "programme": ProgrammeFactory().pk,
            "title": "线下面授",
            "starts_at_0": "2026-12-10",
            "starts_at_1": "12:00",
            "ends_at_0": "2026-12-10",
            "ends_at_1": "09:00",
            "place": "培训中心",
            "hours": "4",
            "checkins-TOTAL_FORMS": "0",
            "checkins-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200 and not OfflineSession.objects.exists()
    assert gettext("The session must end after it starts.") in response.content.decode()


def test_staff_check_a_trainee_in_by_hand(client):
    staff = StaffFactory(role=COURSE_ADMIN)
    enrollment = EnrollmentFactory()
    session = OfflineSessionFactory(programme=enrollment.programme)
    client.force_login(staff)
    url = reverse("admin:learning_offlinesession_checkin", args=[session.pk])
    wrong = client.post(url, {"identifier": "13000000000"})
    assert wrong.status_code == 200 and not OfflineCheckIn.objects.exists()
    assert (
        gettext("No trainee with an open study account in this programme has this ID number or mobile.")
        in wrong.content.decode()
    )
    assert client.post(url, {"identifier": enrollment.trainee.id_number}).status_code == 302
    assert client.post(url, {"identifier": enrollment.trainee.mobile}).status_code == 302  # idempotent
    checkin = OfflineCheckIn.objects.get()
    assert (checkin.enrollment, checkin.method, checkin.by) == (enrollment, CheckInMethod.STAFF, staff)
    client.force_login(StaffFactory(role="reviewer"))
    assert client.post(url, {"identifier": enrollment.trainee.mobile}).status_code == 403
