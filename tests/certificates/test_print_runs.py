"""Bulk print runs: split into parts that the worker's processes render, joined once in order;
idempotent tasks (twice, or at once), failures shown to staff, part files deleted; the renderer
warmed when a Celery worker starts."""

import datetime
import io
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from certificates import rendering
from certificates.models import Certificate, CertificateStatus, PrintRun, PrintRunPart, PrintRunStatus
from certificates.services.print_runs import (
    print_run_create,
    print_run_fail,
    print_run_join,
    print_run_part_render,
    print_run_pdf,
    print_run_produce,
    print_runs_requeue_stale,
)
from portal.models import AuditEntry
from tests.factories import CertificateFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _part_files() -> set[Path]:
    """Every part file in the private storage."""
    return set((Path(django_settings.PRIVATE_MEDIA_ROOT) / "certificates" / "print-run-parts").rglob("*.pdf"))


def test_print_run_produces_one_pdf_with_progress_and_is_idempotent(django_capture_on_commit_callbacks):
    staff = StaffFactory()
    certificates = [CertificateFactory(holder_name=name) for name in ("甲一", "乙二", "丙三")]
    revoked = CertificateFactory(status=CertificateStatus.REVOKED)
    with django_capture_on_commit_callbacks(execute=True):
        run = print_run_create(certificate_ids=[c.pk for c in certificates] + [revoked.pk], actor=staff)
    run.refresh_from_db()
    assert run.status == PrintRunStatus.DONE and (run.done, run.total) == (3, 3)
    with print_run_pdf(run=run) as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    assert len(reader.pages) == 3
    assert "甲一" in reader.pages[0].extract_text()
    finished = run.finished_at
    print_run_produce(print_run_id=run.pk)
    run.refresh_from_db()
    assert run.finished_at == finished
    with pytest.raises(ValidationError):
        print_run_create(certificate_ids=[revoked.pk], actor=staff)


def _parts_made(count: int, settings, *, part_size: int = 2):
    """A started run of ``count`` certificates in parts of ``part_size``, no part rendered yet
    (the queued tasks are not run)."""
    settings.CERTIFICATE_PRINT_PART_SIZE = part_size
    staff = StaffFactory()
    certificates = [CertificateFactory(holder_name=f"测试{index}") for index in range(count)]
    run = print_run_create(certificate_ids=[c.pk for c in certificates], actor=staff)
    print_run_produce(print_run_id=run.pk)
    run.refresh_from_db()
    return run, certificates


def test_print_run_is_split_into_parts_rendered_by_their_own_tasks_and_joined_in_order(
    settings, django_capture_on_commit_callbacks
):
    settings.CERTIFICATE_PRINT_PART_SIZE = 2
    staff = StaffFactory()
    certificates = [CertificateFactory(holder_name=name) for name in ("甲一", "乙二", "丙三", "丁四", "戊五")]
    with django_capture_on_commit_callbacks(execute=True):
        run = print_run_create(certificate_ids=[c.pk for c in reversed(certificates)], actor=staff)
    run.refresh_from_db()

    assert run.status == PrintRunStatus.DONE and (run.done, run.total) == (5, 5)
    parts = list(run.parts.order_by("index"))
    assert [part.certificate_ids for part in parts] == [
        [certificates[0].pk, certificates[1].pk],
        [certificates[2].pk, certificates[3].pk],
        [certificates[4].pk],
    ]
    with print_run_pdf(run=run) as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    assert [page.extract_text().count(c.holder_name) > 0 for page, c in zip(reader.pages, certificates)] == [
        True
    ] * 5
    assert len(reader.pages) == 5
    # The parts' files are deleted once joined.
    assert all(not part.pdf.storage.exists(part.pdf.name) for part in parts)
    assert list(
        AuditEntry.objects.filter(target_id=str(run.pk), action__startswith="certificate.print_run")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["certificate.print_run", "certificate.print_run_start", "certificate.print_run_done"]


def test_join_waits_for_every_part_and_parts_and_join_are_idempotent(settings):
    run, certificates = _parts_made(3, settings)
    first, second = run.parts.order_by("index")
    assert run.status == PrintRunStatus.RUNNING and run.done == 0

    print_run_part_render(part_id=first.pk)
    print_run_part_render(part_id=first.pk)  # delivered twice: stored once, counted once
    assert print_run_join(print_run_id=run.pk).status == PrintRunStatus.RUNNING  # a part is missing
    run.refresh_from_db()
    assert run.done == 2 and not run.pdf
    first.refresh_from_db()
    stored = first.pdf.name

    print_run_part_render(part_id=second.pk)
    joined = print_run_join(print_run_id=run.pk)
    assert joined.status == PrintRunStatus.DONE and joined.done == 3
    finished, pdf_name = joined.finished_at, joined.pdf.name
    again = print_run_join(print_run_id=run.pk)
    print_run_part_render(part_id=second.pk)  # a late duplicate of a part changes nothing
    print_run_produce(print_run_id=run.pk)
    assert (again.finished_at, again.pdf.name) == (finished, pdf_name)
    first.refresh_from_db()
    assert first.pdf.name == stored
    with print_run_pdf(run=again) as handle:
        assert len(PdfReader(io.BytesIO(handle.read())).pages) == 3
    assert AuditEntry.objects.filter(target_id=str(run.pk), action="certificate.print_run_done").count() == 1


def test_a_stale_run_queues_again_only_the_parts_not_stored(settings, django_capture_on_commit_callbacks):
    run, _certificates = _parts_made(4, settings)
    first, second = run.parts.order_by("index")
    print_run_part_render(part_id=first.pk)
    PrintRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - datetime.timedelta(hours=2))

    with django_capture_on_commit_callbacks(execute=True):
        print_run_produce(print_run_id=run.pk)
    run.refresh_from_db()

    assert run.status == PrintRunStatus.DONE and run.done == 4 and run.parts.count() == 2
    requeued = AuditEntry.objects.get(target_id=str(run.pk), action="certificate.print_run_requeue")
    assert requeued.new_value == {"status": "running", "parts": 2, "queued": 1}
    first.refresh_from_db()
    assert first.pdf.name and not first.pdf.storage.exists(first.pdf.name)  # joined, then deleted


def test_the_sweep_finishes_a_run_whose_join_was_lost_and_leaves_recent_runs_alone(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    run, _certificates = _parts_made(4, settings)
    first, second = run.parts.order_by("index")
    from certificates import tasks

    monkeypatch.setattr(tasks.print_run_join, "delay", lambda **kwargs: None)  # the broker lost it
    print_run_part_render(part_id=first.pk)
    print_run_part_render(part_id=second.pk)
    monkeypatch.undo()
    run.refresh_from_db()
    assert run.status == PrintRunStatus.RUNNING and run.done == 4
    recent, _others = _parts_made(1, settings)

    assert print_runs_requeue_stale() == 0  # started minutes ago: their tasks may still be queued
    PrintRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - datetime.timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert print_runs_requeue_stale() == 1

    run.refresh_from_db()
    recent.refresh_from_db()
    assert run.status == PrintRunStatus.DONE and run.pdf
    assert recent.status == PrintRunStatus.RUNNING


def test_a_run_with_a_name_no_font_can_draw_fails_before_any_part_is_rendered(
    django_capture_on_commit_callbacks,
):
    staff = StaffFactory()
    fine = CertificateFactory(holder_name="王小明")
    broken = CertificateFactory(holder_name="王\U0010fffd")
    with django_capture_on_commit_callbacks(execute=True):
        run = print_run_create(certificate_ids=[fine.pk, broken.pk], actor=staff)
    run.refresh_from_db()

    assert run.status == PrintRunStatus.FAILED and "U+10FFFD" in run.error and broken.number in run.error
    assert not run.parts.exists() and not run.pdf
    assert AuditEntry.objects.filter(target_id=str(run.pk), action="certificate.print_run_failed").exists()


def test_celery_workers_warm_the_renderer_before_forking_and_in_each_process():
    from celery.signals import worker_init, worker_process_init

    from certificates import receivers, rendering

    assert receivers.worker_starting_warm_up in [ref() for _key, ref in worker_init.receivers]
    assert receivers.worker_process_warm_up in [ref() for _key, ref in worker_process_init.receivers]
    rendering.get_renderer.cache_clear()
    # A pool process that did not inherit a warm renderer does not prepare one (that takes longer
    # than the pool waits for a new process); the worker's main process prepares it before forking.
    receivers.worker_process_warm_up(sender=None)
    assert rendering.get_renderer.cache_info().currsize == 0
    receivers.worker_starting_warm_up(sender=None)
    assert rendering.get_renderer.cache_info().currsize == 1
    receivers.worker_process_warm_up(sender=None)
    assert rendering.get_renderer.cache_info().hits >= 1


def test_a_part_delivered_twice_at_once_is_stored_and_counted_once(settings, monkeypatch):
    run, _certificates = _parts_made(3, settings)
    first, _second = run.parts.order_by("index")
    before = _part_files()
    real_render = rendering.render_certificates_pdf
    deliveries = []

    def render_while_the_same_part_finishes_elsewhere(items, **kwargs):
        pdf = real_render(items, **kwargs)
        deliveries.append(len(deliveries))
        if deliveries == [0]:  # the other delivery renders and stores the part meanwhile
            deliveries.append(print_run_part_render(part_id=first.pk))
        return pdf

    monkeypatch.setattr(rendering, "render_certificates_pdf", render_while_the_same_part_finishes_elsewhere)
    late = print_run_part_render(part_id=first.pk)

    stored_first = deliveries[-1]
    assert late.pdf.name == stored_first.pdf.name
    run.refresh_from_db()
    assert run.done == 2 and run.status == PrintRunStatus.RUNNING
    assert _part_files() - before == {Path(stored_first.pdf.path)}  # the late copy was deleted


def test_a_part_that_cannot_be_rendered_fails_the_run_with_its_problem_and_the_parts_are_deleted(
    settings, django_capture_on_commit_callbacks
):
    run, certificates = _parts_made(5, settings)
    first, second, third = run.parts.order_by("index")
    before = _part_files()
    print_run_part_render(part_id=first.pk)
    assert len(_part_files() - before) == 1
    Certificate.objects.filter(pk=certificates[3].pk).update(holder_name="王\U0010fffd")  # changed since

    with django_capture_on_commit_callbacks(execute=True):
        print_run_part_render(part_id=second.pk)
    print_run_part_render(part_id=third.pk)  # still queued: skipped, the run has failed
    run.refresh_from_db()

    assert run.status == PrintRunStatus.FAILED and run.finished_at
    assert run.error.startswith("第 2 段（共 3 段，第 3 至 4 份证书）无法生成：")
    assert certificates[3].number in run.error and "U+10FFFD" in run.error
    assert _part_files() == before  # the stored first part is deleted with the failure
    assert not run.parts.filter(index__gt=0).exclude(pdf="").exists() and not run.pdf
    assert print_run_join(print_run_id=run.pk).status == PrintRunStatus.FAILED
    failed = AuditEntry.objects.get(target_id=str(run.pk), action="certificate.print_run_failed")
    assert failed.old_value == {"status": "running"} and failed.new_value["error"] == run.error


def test_a_part_finishing_after_the_run_failed_discards_its_file(settings, monkeypatch):
    run, _certificates = _parts_made(4, settings)
    first, _second = run.parts.order_by("index")
    before = _part_files()
    real_render = rendering.render_certificates_pdf

    def render_while_the_run_fails(items, **kwargs):
        pdf = real_render(items, **kwargs)
        print_run_fail(print_run_id=run.pk, error="另一段失败")
        return pdf

    monkeypatch.setattr(rendering, "render_certificates_pdf", render_while_the_run_fails)
    print_run_part_render(part_id=first.pk)

    first.refresh_from_db()
    run.refresh_from_db()
    assert run.status == PrintRunStatus.FAILED and run.error == "另一段失败" and run.done == 0
    assert not first.pdf and _part_files() == before


def test_a_part_whose_certificate_is_gone_fails_the_run_in_words_staff_understand(settings):
    run, certificates = _parts_made(2, settings)
    (part,) = run.parts.all()
    Certificate.objects.filter(pk=certificates[1].pk).delete()

    print_run_part_render(part_id=part.pk)
    run.refresh_from_db()

    assert run.status == PrintRunStatus.FAILED
    assert run.error == "第 1 段（共 1 段，第 1 至 2 份证书）无法生成：本段中有证书已不存在"


def test_staff_see_a_failed_run_and_its_problem_in_admin(settings):
    run, certificates = _parts_made(2, settings)
    (part,) = run.parts.all()
    Certificate.objects.filter(pk=certificates[0].pk).update(holder_name="王\U0010fffd")
    print_run_part_render(part_id=part.pk)
    run.refresh_from_db()
    client = Client()
    client.force_login(StaffFactory(role="reviewer"))

    status = client.get(reverse("admin:certificates_printrun_status", args=[run.pk])).json()
    page = client.get(reverse("admin:certificates_printrun_change", args=[run.pk])).content.decode()
    listed = client.get(reverse("admin:certificates_printrun_changelist")).content.decode()

    assert status["status"] == "failed" and status["status_label"] == "失败" and status["pdf_url"] == ""
    assert status["error"] == run.error and run.error.startswith(
        "第 1 段（共 1 段，第 1 至 2 份证书）无法生成："
    )
    assert 'class="errornote"' in page and "U+10FFFD" in page
    assert "失败" in listed


@pytest.mark.services("postgres")
@pytest.mark.django_db(transaction=True)
def test_parts_delivered_several_times_at_once_on_postgresql_are_stored_once_and_joined_once():
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    certificates = [CertificateFactory(holder_name=name) for name in ("甲一", "乙二", "丙三", "丁四")]
    ids = [c.pk for c in sorted(certificates, key=lambda c: c.number)]
    # The state print_run_produce leaves (its queued tasks are what the threads deliver, three times).
    run = PrintRun.objects.create(
        requested_by=StaffFactory(),
        certificate_ids=ids,
        total=4,
        status=PrintRunStatus.RUNNING,
        started_at=timezone.now(),
    )
    parts = [
        PrintRunPart.objects.create(run=run, index=i, certificate_ids=ids[i * 2 : i * 2 + 2]) for i in (0, 1)
    ]
    before = _part_files()

    def deliver(part_id):
        try:
            print_run_part_render(part_id=part_id)  # the last part stored queues the join (eager)
            return print_run_join(print_run_id=run.pk).status
        finally:
            connections.close_all()

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(deliver, [part.pk for part in parts] * 3))

    run.refresh_from_db()
    assert run.status == PrintRunStatus.DONE and run.done == 4 and statuses.count(PrintRunStatus.DONE) >= 1
    assert AuditEntry.objects.filter(target_id=str(run.pk), action="certificate.print_run_done").count() == 1
    assert (
        _part_files() == before
    )  # every copy deleted: the duplicates at once, the stored ones after the join
    with print_run_pdf(run=run) as handle:
        pages = PdfReader(io.BytesIO(handle.read())).pages
    names = {c.pk: c.holder_name for c in certificates}
    assert [names[pk] in page.extract_text() for pk, page in zip(ids, pages, strict=True)] == [True] * 4
