"""The refresher rule and the refresher invitations (issue #21 points 2 and 3): due dates, who is
due, invitations once per programme (also when run twice), unit contacts, opt-out, the daily sweep,
linking registrations, and the staff lists."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from certificates import refresher
from certificates.models import CertificateStatus, RefresherInvitation, RefresherOptOut
from certificates.services import refresher as service
from certificates.services.refresher import (
    opt_out_path,
    refresher_invitations_send,
    refresher_registrations_link,
)
from certificates.tasks import refresher_invitations_sweep
from portal.models import AuditEntry, OutboundMessage
from tests.factories import (
    ProgrammeFactory,
    StaffFactory,
    TraineeFactory,
    UnitContactFactory,
    UnitFactory,
    certified_person_make,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
LAST_YEAR = TODAY - datetime.timedelta(days=370)  # due 12 months later: overdue by now


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


# --- The rule -----------------------------------------------------------------------------------


def test_due_twelve_months_after_issue_by_default(settings):
    settings.PORTAL_REFRESHER_INTERVAL_MONTHS = 12
    certificate = certified_person_make(issue_date=datetime.date(2025, 3, 15))
    assert refresher.certificate_refresher_due(certificate=certificate) == datetime.date(2026, 3, 15)


def test_due_follows_the_setting_and_month_ends(settings):
    settings.PORTAL_REFRESHER_INTERVAL_MONTHS = 13
    certificate = certified_person_make(issue_date=datetime.date(2025, 1, 31))
    assert refresher.certificate_refresher_due(certificate=certificate) == datetime.date(2026, 2, 28)


@pytest.mark.parametrize("months", [1, 12, 13, 24])
def test_issue_cutoff_matches_the_rule_exactly(settings, months):
    settings.PORTAL_REFRESHER_INTERVAL_MONTHS = months
    start = datetime.date(2024, 1, 1)
    for offset in range(0, 800, 3):
        day = start + datetime.timedelta(days=offset)
        cutoff = refresher.issued_on_or_before_for_due(day)
        assert refresher.refresher_due_from(cutoff) <= day
        assert refresher.refresher_due_from(cutoff + datetime.timedelta(days=1)) > day


def test_state_overdue_due_soon_ok(settings):
    settings.PORTAL_REFRESHER_DUE_SOON_DAYS = 30
    assert refresher.refresher_state(TODAY - datetime.timedelta(days=1), today=TODAY) == "overdue"
    assert refresher.refresher_state(TODAY + datetime.timedelta(days=30), today=TODAY) == "due_soon"
    assert refresher.refresher_state(TODAY + datetime.timedelta(days=31), today=TODAY) == "ok"


def test_holders_due_counts_each_persons_latest_valid_certificate_only():
    old = certified_person_make(issue_date=TODAY - datetime.timedelta(days=800))
    person = old.enrollment.trainee
    # The same person certified again later (a new registration with the same ID number).
    newer = certified_person_make(
        issue_date=LAST_YEAR, id_number=person.id_number, id_number_hash=person.id_number_hash
    )
    not_due = certified_person_make(issue_date=TODAY - datetime.timedelta(days=30))
    revoked = certified_person_make(issue_date=LAST_YEAR)
    revoked.status = CertificateStatus.REVOKED
    revoked.save()

    due = list(refresher.refresher_holders_due(on_or_before=TODAY))

    assert due == [newer]
    assert not_due not in due and old not in due


# --- Invitations --------------------------------------------------------------------------------


def _unit_world():
    unit = UnitFactory()
    contacts = [UnitContactFactory(unit=unit), UnitContactFactory(unit=unit)]
    UnitContactFactory(unit=unit, active=False)
    certificates = [certified_person_make(issue_date=LAST_YEAR, unit=unit) for _ in range(3)]
    # Somebody of the unit who is not due before the programme closes.
    certified_person_make(issue_date=TODAY - datetime.timedelta(days=20), unit=unit)
    return unit, contacts, certificates


def test_invitations_go_to_each_due_holder_and_the_units_active_contacts(on_commit, sms_outbox):
    _unit, contacts, certificates = _unit_world()
    programme = ProgrammeFactory()

    with on_commit():
        run = refresher_invitations_send(programme_id=programme.pk)

    invitations = RefresherInvitation.objects.filter(programme=programme)
    assert {i.certificate_id for i in invitations} == {c.pk for c in certificates}
    assert len(run.invited) == 3 and run.contacts == 2
    holder_sms = [m for m in sms_outbox if m.kind == "refresher_invitation"]
    assert sorted(m.mobile for m in holder_sms) == sorted(c.enrollment.trainee.mobile for c in certificates)
    first = next(m for m in holder_sms if m.mobile == certificates[0].enrollment.trainee.mobile)
    assert first.params["number"] == certificates[0].number
    assert first.params["programme"] == programme.name
    assert first.params["due"] == refresher.certificate_refresher_due(certificate=certificates[0]).isoformat()
    contact_sms = [m for m in sms_outbox if m.kind == "refresher_invitation_contact"]
    assert sorted(m.mobile for m in contact_sms) == sorted(c.mobile for c in contacts)
    assert {m.params["count"] for m in contact_sms} == {"3"}
    assert all(i.contacts_notified == 2 for i in invitations)
    assert AuditEntry.objects.filter(action="refresher.invited").count() == 1


def test_run_twice_invites_nobody_twice(on_commit, sms_outbox):
    _unit_world()
    programme = ProgrammeFactory()
    with on_commit():
        refresher_invitations_send(programme_id=programme.pk)
    sent = len(sms_outbox)
    messages = OutboundMessage.objects.count()

    with on_commit():
        again = refresher_invitations_send(programme_id=programme.pk)

    assert again.invited == [] and again.contacts == 0
    assert RefresherInvitation.objects.filter(programme=programme).count() == 3
    assert len(sms_outbox) == sent and OutboundMessage.objects.count() == messages


def test_a_concurrent_runs_rows_are_not_sent_again(on_commit, sms_outbox, monkeypatch):
    """Rows inserted by another run in the meantime (the unique constraint) are not ours to send."""
    certificate = certified_person_make(issue_date=LAST_YEAR)
    programme = ProgrammeFactory()
    stale = list(service.refresher_candidates(programme=programme))
    assert stale == [certificate]
    # Another run got there first, between this run's read and its insert.
    RefresherInvitation.objects.create(
        holder_hash=certificate.enrollment.trainee.id_number_hash,
        certificate=certificate,
        programme=programme,
        refresher_due_on=TODAY,
        run="00000000-0000-0000-0000-000000000001",
    )
    monkeypatch.setattr(service, "refresher_candidates", lambda *, programme: stale)

    with on_commit():
        run = refresher_invitations_send(programme_id=programme.pk)

    assert run.invited == []
    assert RefresherInvitation.objects.filter(programme=programme).count() == 1
    assert not [m for m in sms_outbox if m.kind == "refresher_invitation"]


def test_a_new_programme_invites_again(on_commit, sms_outbox):
    certificate = certified_person_make(issue_date=LAST_YEAR)
    first, second = ProgrammeFactory(), ProgrammeFactory()
    with on_commit():
        refresher_invitations_send(programme_id=first.pk)
        refresher_invitations_send(programme_id=second.pk)
    assert RefresherInvitation.objects.filter(certificate=certificate).count() == 2


def test_opted_out_registered_and_closed_are_not_invited(on_commit, sms_outbox):
    opted = certified_person_make(issue_date=LAST_YEAR)
    RefresherOptOut.objects.create(holder_hash=opted.enrollment.trainee.id_number_hash)
    registered = certified_person_make(issue_date=LAST_YEAR)
    programme = ProgrammeFactory()
    person = registered.enrollment.trainee
    TraineeFactory(
        application__programme=programme, id_number=person.id_number, id_number_hash=person.id_number_hash
    )
    closed = ProgrammeFactory(
        opens_on=TODAY - datetime.timedelta(days=90), closes_on=TODAY - datetime.timedelta(days=1)
    )

    with on_commit():
        run = refresher_invitations_send(programme_id=programme.pk)
        closed_run = refresher_invitations_send(programme_id=closed.pk)

    assert run.invited == []
    assert closed_run.skipped == "closed"
    assert not RefresherInvitation.objects.exists()
    assert not sms_outbox


def test_an_individual_gets_no_contact_message(on_commit, sms_outbox):
    certificate = certified_person_make(issue_date=LAST_YEAR, individual=True)
    programme = ProgrammeFactory()
    with on_commit():
        run = refresher_invitations_send(programme_id=programme.pk)
    assert run.contacts == 0
    assert [m.kind for m in sms_outbox] == ["refresher_invitation"]
    assert sms_outbox[0].mobile == certificate.enrollment.trainee.mobile


def test_a_unit_without_account_tells_the_applications_contact(on_commit, sms_outbox):
    certificate = certified_person_make(issue_date=LAST_YEAR)
    programme = ProgrammeFactory()
    with on_commit():
        refresher_invitations_send(programme_id=programme.pk)
    contact = [m for m in sms_outbox if m.kind == "refresher_invitation_contact"]
    assert [m.mobile for m in contact] == [certificate.enrollment.trainee.application.contact_phone]


def test_registrations_are_linked_to_their_invitations(on_commit):
    certificate = certified_person_make(issue_date=LAST_YEAR)
    programme = ProgrammeFactory()
    with on_commit():
        refresher_invitations_send(programme_id=programme.pk)
    person = certificate.enrollment.trainee
    registration = TraineeFactory(
        application__programme=programme, id_number=person.id_number, id_number_hash=person.id_number_hash
    )
    TraineeFactory(application__programme=programme)  # somebody else

    assert refresher_registrations_link(programme_id=programme.pk) == 1
    assert refresher_registrations_link(programme_id=programme.pk) == 0
    invitation = RefresherInvitation.objects.get()
    assert invitation.registered_trainee == registration and invitation.registered_at


def test_daily_sweep_invites_to_the_open_programmes_only(on_commit, sms_outbox):
    certified_person_make(issue_date=LAST_YEAR)
    open_programme = ProgrammeFactory()
    ProgrammeFactory(
        opens_on=TODAY + datetime.timedelta(days=5), closes_on=TODAY + datetime.timedelta(days=40)
    )
    with on_commit():
        queued = refresher_invitations_sweep()
    assert queued == [open_programme.pk]
    assert list(RefresherInvitation.objects.values_list("programme_id", flat=True)) == [open_programme.pk]


# --- Opt-out page -------------------------------------------------------------------------------


def _invited(on_commit):
    certificate = certified_person_make(issue_date=LAST_YEAR)
    with on_commit():
        refresher_invitations_send(programme_id=ProgrammeFactory().pk)
    return RefresherInvitation.objects.get(certificate=certificate)


def test_the_sms_carries_the_signed_opt_out_link(on_commit, sms_outbox):
    invitation = _invited(on_commit)
    link = next(m for m in sms_outbox if m.kind == "refresher_invitation").params["link"]
    assert "/" + link == opt_out_path(invitation.pk)
    assert 40 <= len(link) <= 60


def test_opt_out_page_asks_then_records_once(client, on_commit):
    invitation = _invited(on_commit)
    url = opt_out_path(invitation.pk)

    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert invitation.certificate.number in body and 'method="post"' in body
    assert not RefresherOptOut.objects.exists()

    done = client.post(url)
    assert done.status_code == 200 and 'role="status"' in done.content.decode()
    assert client.post(url).status_code == 200
    assert RefresherOptOut.objects.filter(holder_hash=invitation.holder_hash).count() == 1
    assert AuditEntry.objects.filter(action="refresher.opted_out").count() == 1


def test_opt_out_link_with_a_wrong_signature_is_404(client, on_commit):
    invitation = _invited(on_commit)
    url = reverse("certificates:refresher_opt_out", kwargs={"pk": invitation.pk, "signature": "0" * 20})
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert not RefresherOptOut.objects.exists()


def test_opted_out_holder_is_not_invited_to_the_next_programme(client, on_commit, sms_outbox):
    invitation = _invited(on_commit)
    client.post(opt_out_path(invitation.pk))
    sms_outbox.clear()
    with on_commit():
        run = refresher_invitations_send(programme_id=ProgrammeFactory().pk)
    assert run.invited == [] and not sms_outbox


# --- Staff lists --------------------------------------------------------------------------------


def test_staff_see_invited_registered_and_overdue_not_invited(client, on_commit):
    invitation = _invited(on_commit)
    programme = invitation.programme
    person = invitation.certificate.enrollment.trainee
    TraineeFactory(
        application__programme=programme, id_number=person.id_number, id_number_hash=person.id_number_hash
    )
    refresher_registrations_link(programme_id=programme.pk)
    # Overdue but certified after the run: not invited yet.
    late = certified_person_make(issue_date=LAST_YEAR)
    client.force_login(StaffFactory(is_superuser=True))

    registered = client.get(reverse("admin:certificates_refresherinvitation_changelist") + "?registered=yes")
    waiting = client.get(reverse("admin:certificates_refresherinvitation_changelist") + "?registered=no")
    not_invited = client.get(
        reverse("admin:certificates_certificate_changelist") + "?refresher=overdue_not_invited"
    )

    assert invitation.certificate.number in registered.content.decode()
    assert invitation.certificate.number not in waiting.content.decode()
    body = not_invited.content.decode()
    assert late.number in body and invitation.certificate.number not in body
