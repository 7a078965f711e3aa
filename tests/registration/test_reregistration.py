"""Refresher re-registration (issue #21 points 2, 4 and 5): the unit's people page, the unit's
re-registration pre-filled with last year's data (everything editable, the same validation and
consents), attachment 2 carried over when the photo is recent, the invitation linked, and the same
for a person from their personal centre."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from certificates.models import RefresherInvitation
from certificates.services.refresher import refresher_invitations_send
from registration.forms import APPLICANT_FIELDS, ROSTER_FIELDS, roster_form_data
from registration.models import Application, Consent, Trainee, TrainingCategory
from registration.services.refresher import refresher_documents_carry_over
from registration.units.access import SESSION_CONTACT
from tests.factories import (
    ATTACHMENT1_CONSENTS_POST,
    ProgrammeFactory,
    UnitContactFactory,
    UnitFactory,
    certified_person_make,
    id_number_make,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
LAST_YEAR = TODAY - datetime.timedelta(days=370)
PEOPLE = reverse("registration:unit_people")
REREGISTER = reverse("registration:unit_people_reregister")


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


@pytest.fixture
def programme():
    return ProgrammeFactory()


def _login(client, contact) -> None:
    session = client.session
    session[SESSION_CONTACT] = contact.pk
    session.save()


def _unit_with_people(count: int, **person):
    unit = UnitFactory()
    contact = UnitContactFactory(unit=unit)
    application = None
    certificates = []
    for _n in range(count):
        certificate = certified_person_make(
            issue_date=LAST_YEAR, unit=unit, application=application, **person
        )
        application = certificate.enrollment.trainee.application
        certificates.append(certificate)
    return unit, contact, certificates


def _posted(response) -> dict:
    """What the browser sends back when the pre-filled page is submitted as shown."""
    form, formset = response.context["form"], response.context["formset"]
    data = {name: form[name].value() or "" for name in APPLICANT_FIELDS if name in form.fields}
    data.update(roster_form_data([{k: f[k].value() or "" for k in ROSTER_FIELDS} for f in formset.forms]))
    data.update(ATTACHMENT1_CONSENTS_POST)
    data["action"] = "submit"
    return data


# --- The people page ----------------------------------------------------------------------------


def test_people_page_needs_the_unit_login(client):
    response = client.get(PEOPLE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("registration:unit_login"))


def test_people_page_lists_the_units_certified_people_with_refresher_dates(client, programme):
    unit, contact, certificates = _unit_with_people(2)
    soon = certified_person_make(issue_date=TODAY - datetime.timedelta(days=330), unit=unit)
    other_unit_person = certified_person_make(issue_date=LAST_YEAR, unit=UnitFactory())
    _login(client, contact)

    response = client.get(PEOPLE)

    assert response.status_code == 200
    body = response.content.decode()
    for certificate in [*certificates, soon]:
        trainee = certificate.enrollment.trainee
        assert certificate.number in body and trainee.name in body
        assert trainee.id_number_masked in body and trainee.id_number not in body
    assert other_unit_person.number not in body
    states = {row["person"].certificate_number: row["person"].state for row in response.context["people"]}
    assert states == {
        certificates[0].number: "overdue",
        certificates[1].number: "overdue",
        soon.number: "due_soon",
    }
    due = certificates[0].issue_date.replace(year=certificates[0].issue_date.year + 1)
    assert due.isoformat() in body
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_people_page_shows_each_persons_latest_certificate(client, programme):
    unit, contact, (old,) = _unit_with_people(1)
    person = old.enrollment.trainee
    old.issue_date = TODAY - datetime.timedelta(days=800)
    old.save()
    newer = certified_person_make(
        issue_date=LAST_YEAR, unit=unit, id_number=person.id_number, id_number_hash=person.id_number_hash
    )
    _login(client, contact)
    people = client.get(PEOPLE).context["people"]
    assert [row["person"].certificate_number for row in people] == [newer.number]


def test_people_page_queries_do_not_grow_with_the_people(client, programme, django_assert_max_num_queries):
    unit, contact, _certificates = _unit_with_people(3)
    _login(client, contact)
    client.get(PEOPLE)  # warm the session
    # The session, the contact, the open programme, the people (one query) and the site's details.
    with django_assert_max_num_queries(5) as few:
        client.get(PEOPLE)
    for _n in range(5):
        certified_person_make(issue_date=LAST_YEAR, unit=unit)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(PEOPLE)
    assert len(response.context["people"]) == 8


# --- Unit re-registration -----------------------------------------------------------------------


def test_reregister_prefills_last_years_data_for_the_selected_people(client, programme):
    unit, contact, certificates = _unit_with_people(4)
    chosen = certificates[:3]
    _login(client, contact)

    response = client.get(REREGISTER, {"person": [c.enrollment.trainee.pk for c in chosen]})

    assert response.status_code == 200
    form, formset = response.context["form"], response.context["formset"]
    last = chosen[0].enrollment.trainee.application
    for name in (
        "unit_name",
        "contact_name",
        "contact_phone",
        "mail_address",
        "invoice_title",
        "invoice_tax_id",
    ):
        assert form[name].value() == getattr(last, name)
    rows = [{k: f[k].value() for k in ROSTER_FIELDS} for f in formset.forms]
    assert rows == [
        {
            "name": c.enrollment.trainee.name,
            "id_number": c.enrollment.trainee.id_number,
            "mobile": c.enrollment.trainee.mobile,
            "email": c.enrollment.trainee.email,
            "certificate_type": c.enrollment.trainee.certificate_type,
            "training_category": TrainingCategory.REFRESHER,
            "previous_certificate_no": c.number,
        }
        for c in chosen
    ]
    assert not form["consent_id_number"].value()  # consents are given anew


def test_reregister_ignores_other_units_people(client, programme):
    _unit, contact, _certificates = _unit_with_people(1)
    stranger = certified_person_make(issue_date=LAST_YEAR, unit=UnitFactory())
    _login(client, contact)
    response = client.get(REREGISTER, {"person": [stranger.enrollment.trainee.pk]})
    assert response.status_code == 302 and response["Location"] == PEOPLE
    assert not Application.objects.filter(programme=programme).exists()


def test_three_people_reregistered_with_an_edit_go_through_the_normal_sign_up(
    client, programme, on_commit, sms_outbox
):
    unit, contact, certificates = _unit_with_people(3)
    _login(client, contact)
    page = client.get(REREGISTER, {"person": [c.enrollment.trainee.pk for c in certificates]})
    data = _posted(page)
    data["roster-1-mobile"] = "13912345678"  # a new mobile number this year

    with on_commit():
        response = client.post(REREGISTER, data)

    application = Application.objects.get(programme=programme)
    assert response.status_code == 302
    assert response["Location"] == reverse("registration:application_detail", args=[application.access_key])
    trainees = list(application.trainees.order_by("row_number"))
    assert [t.training_category for t in trainees] == ["refresher"] * 3
    assert [t.previous_certificate_no for t in trainees] == [c.number for c in certificates]
    assert trainees[1].mobile == "13912345678"
    assert application.unit == unit
    # The same pipeline as any sign-up: the contact's confirmation and each trainee's link.
    kinds = sorted(m.kind for m in sms_outbox)
    assert kinds.count("attachment2_link") == 3 and "application_received" in kinds
    assert Consent.objects.filter(trainee__in=trainees, kind="id_number").count() == 3


def test_reregistration_keeps_the_validation_and_the_consent(client, programme):
    _unit, contact, certificates = _unit_with_people(2)
    _login(client, contact)
    page = client.get(REREGISTER, {"person": [c.enrollment.trainee.pk for c in certificates]})
    data = _posted(page)
    data.pop("consent_id_number")
    data["roster-0-id_number"] = id_number_make(5)[:-1] + ("0" if id_number_make(5)[-1] != "0" else "1")

    response = client.post(REREGISTER, data)

    assert response.status_code == 200
    assert response.context["formset"].forms[0].errors["id_number"]
    assert response.context["form"].errors["consent_id_number"]
    assert not Trainee.objects.filter(programme=programme).exists()


def test_recent_photo_and_id_copies_are_carried_over(client, programme, on_commit, settings):
    settings.PORTAL_REFRESHER_PHOTO_MAX_AGE_DAYS = 400
    _unit, contact, (certificate,) = _unit_with_people(1)
    source = certificate.enrollment.trainee
    _login(client, contact)
    data = _posted(client.get(REREGISTER, {"person": [source.pk]}))
    with on_commit():
        client.post(REREGISTER, data)

    new = Trainee.objects.get(programme=programme)
    for name in ("photo", "id_front", "id_back"):
        copied, original = getattr(new, name), getattr(source, name)
        assert copied.name and copied.name != original.name
        with copied.open("rb") as a, original.open("rb") as b:
            assert a.read() == b.read()
    assert new.work_history == source.work_history and new.education == source.education
    # Attachment 2 is still to be checked, consented to and signed by the trainee.
    assert new.declared_at is None and not new.attachment2_complete
    assert not Consent.objects.filter(trainee=new, kind__in=["photo", "id_copy"]).exists()


def test_an_old_photo_is_asked_for_again(client, programme, on_commit, settings):
    settings.PORTAL_REFRESHER_PHOTO_MAX_AGE_DAYS = 365  # last year's photo is 370 days old
    _unit, contact, (certificate,) = _unit_with_people(1)
    source = certificate.enrollment.trainee
    _login(client, contact)
    data = _posted(client.get(REREGISTER, {"person": [source.pk]}))
    with on_commit():
        client.post(REREGISTER, data)

    new = Trainee.objects.get(programme=programme)
    assert not new.photo and not new.id_front and not new.id_back
    assert new.work_history == source.work_history  # the text still comes as a draft


def test_nothing_is_carried_over_to_a_changed_mobile_number(client, programme, on_commit, settings):
    """The new attachment 2 link goes to the number typed: last year's documents only follow the
    person's own number on file."""
    settings.PORTAL_REFRESHER_PHOTO_MAX_AGE_DAYS = 400
    _unit, contact, (certificate,) = _unit_with_people(1)
    _login(client, contact)
    data = _posted(client.get(REREGISTER, {"person": [certificate.enrollment.trainee.pk]}))
    data["roster-0-mobile"] = "13912345670"
    with on_commit():
        client.post(REREGISTER, data)

    new = Trainee.objects.get(programme=programme)
    assert new.mobile == "13912345670"
    assert not new.photo and not new.id_front and not new.work_history


def test_carry_over_never_touches_another_persons_registration(programme, on_commit):
    _unit, _contact, (certificate,) = _unit_with_people(1)
    stranger_application = certified_person_make(
        issue_date=TODAY, programme=programme
    ).enrollment.trainee.application
    assert (
        refresher_documents_carry_over(
            application=stranger_application, sources=[certificate.enrollment.trainee]
        )
        == []
    )


def test_invited_person_reregistered_links_the_invitation(client, programme, on_commit, sms_outbox):
    _unit, contact, (certificate,) = _unit_with_people(1)
    with on_commit():
        refresher_invitations_send(programme_id=programme.pk)
    assert [m.mobile for m in sms_outbox if m.kind == "refresher_invitation_contact"] == [contact.mobile]
    _login(client, contact)
    data = _posted(client.get(REREGISTER, {"person": [certificate.enrollment.trainee.pk]}))

    with on_commit():
        client.post(REREGISTER, data)

    invitation = RefresherInvitation.objects.get(programme=programme)
    assert invitation.registered_trainee == Trainee.objects.get(programme=programme)
    people = client.get(PEOPLE).context["people"]
    assert people[0]["person"].registered and not people[0]["person"].selectable


# --- One person, from the personal centre -------------------------------------------------------


def test_personal_centre_shows_certificates_and_reregisters_an_individual(client, programme, on_commit):
    certificate = certified_person_make(issue_date=LAST_YEAR, individual=True)
    source = certificate.enrollment.trainee
    client.force_login(certificate.enrollment.user)

    centre = client.get(reverse("learning:centre")).content.decode()
    url = reverse("registration:individual_reregister", args=[source.pk])
    assert certificate.number in centre and url in centre
    assert certificate.issue_date.replace(year=certificate.issue_date.year + 1).isoformat() in centre

    page = client.get(url)
    form = page.context["form"]
    assert form["name"].value() == source.name and form["id_number"].value() == source.id_number
    assert form["training_category"].value() == "refresher"
    assert form["previous_certificate_no"].value() == certificate.number
    assert form["mail_address"].value() == source.application.mail_address
    data = {name: form[name].value() or "" for name in form.fields if not name.startswith("consent_")}
    data.update(ATTACHMENT1_CONSENTS_POST)

    with on_commit():
        response = client.post(url, data)

    assert response.status_code == 302 and response["Location"] == reverse("registration:individual_sent")
    new = Trainee.objects.get(programme=programme)
    assert new.training_category == "refresher" and new.application.kind == "individual"
    assert new.id_number_hash == source.id_number_hash


def test_individual_reregister_is_only_for_ones_own_certificates(client, programme):
    mine = certified_person_make(issue_date=LAST_YEAR, individual=True)
    theirs = certified_person_make(issue_date=LAST_YEAR, individual=True)
    client.force_login(mine.enrollment.user)
    url = reverse("registration:individual_reregister", args=[theirs.enrollment.trainee.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {}).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302
