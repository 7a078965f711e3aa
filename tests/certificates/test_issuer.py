"""The issuer's list (issue #20 point 3): export with full or masked ID numbers (audited), the batch
recorded as sent, the "not yet sent" filter, and the issuer's numbers imported back, all or nothing."""

import datetime
import io

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook, load_workbook

from certificates.models import Certificate, CertificateStatus, IssuerBatch
from certificates.services.issuer import issuer_batch_record, issuer_export, issuer_numbers_import
from certificates.spreadsheets import issuer_rows_read
from portal.models import AuditEntry
from tests.factories import AttemptFactory, CertificateFactory, StaffFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:certificates_certificate_changelist"
HEADER = [
    "证书编号",
    "姓名",
    "身份证号",
    "单位",
    "证书类型",
    "培训类别",
    "学时",
    "成绩",
    "考试日期",
    "发证机关证书编号",
]


@pytest.fixture
def reviewer():
    return StaffFactory(role="reviewer")  # the reviewer role may see full ID numbers


@pytest.fixture
def masked_staff():
    """Staff who send the lists but may not see full ID numbers."""
    user = StaffFactory()
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="certificates", codename__in=["view_certificate", "manage_mailing"]
        )
    )
    return user


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _sheet(content: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _xlsx(rows, name="issuer.xlsx") -> SimpleUploadedFile:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile(name, out.getvalue())


def _action(client, action, certificates, **extra):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [c.pk for c in certificates], **extra},
    )


def test_export_has_the_issuer_columns_and_full_ids_are_audited(reviewer):
    certificate = CertificateFactory(passed_at=timezone.make_aware(datetime.datetime(2026, 11, 20, 10)))
    AttemptFactory(enrollment=certificate.enrollment, number=1, score=52, passed=False)
    AttemptFactory(enrollment=certificate.enrollment, number=2, score=86)
    other = CertificateFactory()
    revoked = CertificateFactory(status=CertificateStatus.REVOKED)
    response = _action(_client(reviewer), "export_issuer_list", [certificate, other, revoked])
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    rows = _sheet(response.content)
    assert rows[0] == HEADER
    trainee = certificate.enrollment.trainee
    assert rows[1] == [
        certificate.number,
        trainee.name,
        trainee.id_number,
        "示例机械制造有限公司",
        "主要负责人",
        "初始培训",
        32,
        86,
        "2026-11-20",
        None,
    ]
    assert [row[0] for row in rows[1:]] == [certificate.number, other.number]  # revoked left out
    assert rows[2][7] is None  # no exam attempt on record: the score stays blank
    entry = AuditEntry.objects.get(action="certificate.issuer_exported")
    assert entry.actor == reviewer
    assert entry.new_value["full_id_numbers"] is True
    assert entry.new_value["trainee_ids"] == sorted([trainee.pk, other.enrollment.trainee_id])
    assert not IssuerBatch.objects.exists()  # exporting alone records nothing


def test_export_masks_ids_for_staff_without_the_permission(masked_staff):
    certificate = CertificateFactory()
    rows = _sheet(_action(_client(masked_staff), "export_issuer_list", [certificate]).content)
    trainee = certificate.enrollment.trainee
    assert rows[1][2] == trainee.id_number_masked
    assert trainee.id_number not in {str(value) for row in rows for value in row}
    entry = AuditEntry.objects.get(action="certificate.issuer_exported")
    assert entry.new_value["full_id_numbers"] is False and "trainee_ids" not in entry.new_value


def test_batch_recorded_as_sent_then_filter_not_yet_sent(reviewer):
    client = _client(reviewer)
    sent_a, sent_b, waiting = CertificateFactory(), CertificateFactory(), CertificateFactory()
    page = _action(client, "record_issuer_batch", [sent_a, sent_b])
    assert page.status_code == 200 and "sent_on" in page.content.decode()  # the confirmation step
    done = _action(
        client, "record_issuer_batch", [sent_a, sent_b], apply="1", sent_on="2026-12-01", note="第一批"
    )
    assert done.status_code == 302
    batch = IssuerBatch.objects.get()
    assert (batch.count, batch.sent_on, batch.created_by, batch.note) == (
        2,
        datetime.date(2026, 12, 1),
        reviewer,
        "第一批",
    )
    assert set(batch.certificates.values_list("pk", flat=True)) == {sent_a.pk, sent_b.pk}
    entries = AuditEntry.objects.filter(action="certificate.sent_to_issuer")
    assert sorted(entries.values_list("target_id", flat=True)) == sorted([str(sent_a.pk), str(sent_b.pk)])
    assert entries.first().new_value == {"issuer_batch": batch.pk, "sent_on": "2026-12-01"}

    not_yet = client.get(reverse(CHANGELIST) + "?issuer=no").content.decode()
    assert waiting.number in not_yet and sent_a.number not in not_yet and sent_b.number not in not_yet
    sent = client.get(reverse(CHANGELIST) + "?issuer=yes").content.decode()
    assert sent_a.number in sent and waiting.number not in sent


def test_batch_refuses_certificates_already_sent_unless_resend_is_confirmed(reviewer):
    first, second = CertificateFactory(), CertificateFactory()
    old = issuer_batch_record(certificate_ids=[first.pk], actor=reviewer, sent_on=datetime.date(2026, 12, 1))
    with pytest.raises(ValidationError) as refused:
        issuer_batch_record(
            certificate_ids=[first.pk, second.pk], actor=reviewer, sent_on=timezone.localdate()
        )
    assert refused.value.messages == [f"已报送发证机关：{first.number}。请确认已再次报送，或不选这些证书。"]
    assert IssuerBatch.objects.count() == 1 and Certificate.objects.get(pk=second.pk).issuer_batch is None
    new = issuer_batch_record(
        certificate_ids=[first.pk, second.pk], actor=reviewer, sent_on=timezone.localdate(), resend=True
    )
    assert set(new.certificates.values_list("pk", flat=True)) == {first.pk, second.pk}
    moved = AuditEntry.objects.filter(action="certificate.sent_to_issuer", target_id=str(first.pk)).latest(
        "pk"
    )
    assert moved.old_value == {"issuer_batch": old.pk}


def test_batch_refuses_revoked_certificates(reviewer):
    revoked = CertificateFactory(status=CertificateStatus.REVOKED)
    with pytest.raises(ValidationError):
        issuer_batch_record(certificate_ids=[revoked.pk], actor=reviewer, sent_on=timezone.localdate())
    assert not IssuerBatch.objects.exists()


def test_export_by_exam_date_records_the_batch(reviewer):
    def passed(day):
        return timezone.make_aware(datetime.datetime(2026, 11, day, 9))

    inside, edge = CertificateFactory(passed_at=passed(10)), CertificateFactory(passed_at=passed(15))
    outside = CertificateFactory(passed_at=passed(16))
    already = CertificateFactory(passed_at=passed(12))
    issuer_batch_record(certificate_ids=[already.pk], actor=reviewer, sent_on=datetime.date(2026, 11, 12))
    response = _client(reviewer).post(
        reverse("admin:certificates_certificate_issuer_export"),
        {"passed_from": "2026-11-10", "passed_to": "2026-11-15", "unsent_only": "on", "record": "on"},
    )
    assert response.status_code == 200
    assert [row[0] for row in _sheet(response.content)[1:]] == sorted([inside.number, edge.number])
    batch = IssuerBatch.objects.latest("pk")
    assert set(batch.certificates.values_list("pk", flat=True)) == {inside.pk, edge.pk}
    assert Certificate.objects.get(pk=outside.pk).issuer_batch is None


def test_issuer_numbers_round_trip(reviewer):
    client = _client(reviewer)
    a, b = CertificateFactory(), CertificateFactory()
    issuer_batch_record(certificate_ids=[a.pk, b.pk], actor=reviewer, sent_on=timezone.localdate())
    exported = _action(client, "export_issuer_list", [a, b]).content
    # The issuer fills in its own numbers (one typed with full-width letters and a space) and sends it back.
    book = load_workbook(io.BytesIO(exported))
    book.active["J2"] = "GZAQ-2026-0001"
    book.active["J3"] = "ＧＺＡＱ-2026-0002 "
    out = io.BytesIO()
    book.save(out)
    url = reverse("admin:certificates_certificate_issuer_import")
    response = client.post(url, {"file": SimpleUploadedFile("back.xlsx", out.getvalue())})
    assert response.status_code == 302
    assert dict(Certificate.objects.values_list("number", "issuer_number")) == {
        a.number: "GZAQ-2026-0001",
        b.number: "GZAQ-2026-0002",
    }
    assert AuditEntry.objects.filter(action="certificate.issuer_number_recorded").count() == 2
    # The same file again changes nothing; the number shows in the admin and the public verification.
    again = client.post(url, {"file": SimpleUploadedFile("back.xlsx", out.getvalue())})
    assert again.status_code == 302
    assert AuditEntry.objects.filter(action="certificate.issuer_number_recorded").count() == 2
    change = client.get(reverse("admin:certificates_certificate_change", args=[a.pk])).content.decode()
    assert "GZAQ-2026-0001" in change
    verified = Client().post(reverse("certificates:verify"), {"number": a.number, "name": a.holder_name})
    assert "GZAQ-2026-0001" in verified.content.decode()


def _bad_file(a, b, c, d, e, never_sent):
    id_a = a.enrollment.trainee.id_number
    return _xlsx(
        [
            HEADER,
            [a.number, a.holder_name, id_a, "", "", "", 32, 90, "", "GZ-0001"],  # good
            ["AQ2026999999", "某某", "", "", "", "", 32, 90, "", "GZ-0002"],  # unknown certificate
            [b.number, "别人", b.id_number_masked, "", "", "", 32, 90, "", "GZ-0003"],  # wrong name
            [c.number, c.holder_name, "110101199001011237", "", "", "", 32, 90, "", "GZ-0004"],  # wrong ID
            [c.number, c.holder_name, c.id_number_masked, "", "", "", 32, 90, "", "GZ-0005"],  # twice
            [d.number, d.holder_name, d.id_number_masked, "", "", "", 32, 90, "", "GZ-0001"],  # number twice
            [
                never_sent.number,
                never_sent.holder_name,
                never_sent.id_number_masked,
                "",
                "",
                "",
                32,
                90,
                "",
                "GZ-7",
            ],
            [e.number, e.holder_name, e.id_number_masked, "", "", "", 32, 90, "", "bad number!"],
        ]
    )


def test_any_bad_row_saves_nothing_and_each_row_is_named(reviewer):
    a, b, c, d, e = (CertificateFactory() for _ in range(5))
    never_sent = CertificateFactory()
    sent = [a.pk, b.pk, c.pk, d.pk, e.pk]
    issuer_batch_record(certificate_ids=sent, actor=reviewer, sent_on=timezone.localdate())
    response = _client(reviewer).post(
        reverse("admin:certificates_certificate_issuer_import"),
        {"file": _bad_file(a, b, c, d, e, never_sent)},
    )
    assert response.status_code == 200
    page = response.content.decode()
    for message in [
        "第 3 行：没有编号为 AQ2026999999 的证书。",
        f"第 4 行：姓名“别人”不是证书 {b.number} 的持证人。",
        f"第 5 行：身份证号与证书 {c.number} 的持证人不符。",
        f"第 6 行：证书 {c.number} 已出现在第 5 行。",
        "第 7 行：发证机关证书编号 GZ-0001 已出现在第 2 行。",
        f"第 8 行：证书 {never_sent.number} 尚未报送发证机关。",
        "第 9 行：“bad number!”不是有效的发证机关证书编号（4-40 位字母、数字或连字符）。",
    ]:
        assert message in page, message
    assert not Certificate.objects.exclude(issuer_number=None).exists()  # not even row 2
    assert not AuditEntry.objects.filter(action="certificate.issuer_number_recorded").exists()


def test_number_held_by_another_certificate_is_refused_in_english_too(reviewer):
    holder, other = CertificateFactory(issuer_number="GZ-0009"), CertificateFactory()
    issuer_batch_record(certificate_ids=[holder.pk, other.pk], actor=reviewer, sent_on=timezone.localdate())
    rows = [
        {
            "row": 2,
            "number": other.number,
            "name": other.holder_name,
            "id_number": other.enrollment.trainee.id_number,
            "issuer_number": "gz-0009",
        }
    ]
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        issuer_numbers_import(rows=rows, actor=reviewer)
    assert refused.value.messages == [
        f"Row 2: the issuer's number GZ-0009 already belongs to certificate {holder.number}."
    ]
    with pytest.raises(ValidationError) as refused_zh:
        issuer_numbers_import(rows=rows, actor=reviewer)
    assert refused_zh.value.messages == [f"第 2 行：发证机关证书编号 GZ-0009 已属于证书 {holder.number}。"]
    assert Certificate.objects.get(pk=other.pk).issuer_number is None


def test_rows_read_needs_the_header(reviewer):
    with pytest.raises(ValidationError):
        issuer_rows_read(_xlsx([["编号", "名字"], ["AQ1", "张三"]]))
    rows = issuer_rows_read(
        _xlsx([["发证名单"], HEADER, ["AQ1", "张三", "4401", "", "", "", "", "", "", "X-1"]])
    )
    assert rows == [{"row": 3, "number": "AQ1", "name": "张三", "id_number": "4401", "issuer_number": "X-1"}]


def test_issuer_pages_need_the_mailing_permission():
    client = _client(StaffFactory(role="finance"))
    assert client.get(reverse("admin:certificates_certificate_issuer_export")).status_code == 403
    assert client.get(reverse("admin:certificates_certificate_issuer_import")).status_code == 403


def test_export_service_refuses_an_empty_selection(reviewer):
    revoked = CertificateFactory(status=CertificateStatus.REVOKED)
    with pytest.raises(ValidationError):
        issuer_export(certificate_ids=[revoked.pk], actor=reviewer)
    assert not AuditEntry.objects.filter(action="certificate.issuer_exported").exists()


def test_batch_page_lists_its_certificates_read_only(reviewer):
    a, b = CertificateFactory(), CertificateFactory(issuer_number="GZ-0100")
    batch = issuer_batch_record(certificate_ids=[a.pk, b.pk], actor=reviewer, sent_on=timezone.localdate())
    client = _client(reviewer)
    listing = client.get(reverse("admin:certificates_issuerbatch_changelist") + "?_all=1").content.decode()
    assert "1/2" in listing  # one issuer's number back of two
    page = client.get(reverse("admin:certificates_issuerbatch_change", args=[batch.pk]))
    assert page.status_code == 200 and not page.context["has_change_permission"]
    html = page.content.decode()
    assert a.number in html and b.number in html and "GZ-0100" in html
