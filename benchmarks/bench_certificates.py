"""Certificates: a 200-certificate print run the way staff get it, on the deployed stack.

The stack is ``scripts/serve_prod.py`` (nginx → gunicorn with the production settings, the Celery
worker of Procfile.prod: prefork, ``--concurrency=2``, beat; PostgreSQL and Redis) on its own ports,
database, Redis db and state folder. Data is made in the stack's database by a subprocess with the
stack's environment: 200 passed trainees with distinct generated photos and distinct names (some
with rare characters: 𠮷 堃 喆 昇 䶮 𡈽), issued through ``certificates_issue`` (the worker renders
each certificate's own PDF, as after an exam). Then, over HTTP through nginx, a staff member logs in
to admin with the real form (CSRF, Argon2), selects the 200 certificates on the change list and runs
the "print" action; the bench polls the run's status URL (as the admin page's script does) until it
is ready, and downloads the PDF.

Figures:
- cold_ms: the first certificate rendered by the freshly started worker (the runtime the worker
  logs for the first ``certificate_render`` task: photo normalised, PDF rendered and stored); the
  worker warmed its renderer when it started (``certificates.receivers``).
- warm_up_ms: what the worker spent warming the renderer before its pool started (logged by it).
- bulk_per_s: 200 / the time from the action's POST to the status saying the run is ready (the run
  split into parts that both pool processes render, joined at the end).
- worker_cpu_ms_per_page: the CPU time the worker's processes spent during that time, per page:
  bulk_per_s on 2 processes is at most 2000 / this figure. Less dependent on other jobs than
  bulk_per_s (which falls with the machine's load), though contention for the cores raises it too.
- peak_mib: the largest peak RSS (VmHWM) of the worker's processes (main and pool) at the end.
- pdf_mib: the size of the print run's PDF.

Checks (the bench raises if one fails): the run is done with 200 of 200 pages counted; its parts
were rendered by both pool processes; the PDF has 200 pages in certificate-number order, each with
its own holder's name (200 distinct) and its own photo (200 distinct images). The load average
before and after the run is printed as a comment line.

    make bench BENCH=certificates     # or: .venv/bin/python -m benchmarks certificates
"""

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNT = 200
PORT, APP_PORT = 8380, 8381
DATABASE = "portal_bench_certs"
BROKER = "redis://127.0.0.1:6379/12"
STATE = ROOT / "var" / "bench-certs"
STAFF_MOBILE, STAFF_PASSWORD = "13900000380", "bench-Certs-380!"
RUN_TIMEOUT_S = 900

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = ["𠮷", "堃", "喆", "昇", "䶮", "𡈽", "建国", "小明", "丽华", "志强"]


def names(count: int = COUNT) -> list[str]:
    """``count`` distinct names, a tenth of them with a rare character."""
    result = []
    for index in range(count):
        surname = SURNAMES[index % len(SURNAMES)]
        given = GIVEN[(index // len(SURNAMES)) % len(GIVEN)]
        result.append(f"{surname}{given}{'' if index < len(SURNAMES) * len(GIVEN) else index}")
    assert len(set(result)) == count
    return result


def photo_jpeg(index: int) -> bytes:
    """A distinct 600×800 portrait-like photo (noise, so that it compresses like a real one)."""
    from PIL import Image, ImageDraw

    tint = ((index * 53) % 200 + 40, (index * 97) % 200 + 40, (index * 151) % 200 + 40)
    noise = Image.effect_noise((600, 800), 40 + index % 30)
    image = Image.merge("RGB", [noise.point(lambda v, t=t: (v + t) // 2) for t in tint])  # tinted grain
    draw = ImageDraw.Draw(image)
    draw.ellipse((170 + index % 40, 140, 430, 480 + index % 50), fill=(236, 200, 170))
    draw.rectangle((100, 560, 500, 800), fill=tint[::-1])
    draw.text((20, 20), f"#{index}", fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# In the stack's environment (subprocess): the data
# --------------------------------------------------------------------------------------------


def setup_data() -> dict:
    """The staff member, and ``COUNT`` trainees with photos whose hours are complete; then, one by
    one, the first passes and is issued (the fresh worker renders its PDF: cold_ms) and, once that
    PDF is there, the others pass and are issued together. Passing and issuing share a transaction,
    so that beat's sweep (issue what a lost signal missed) never issues one on its own."""
    from django.contrib.auth.models import Group, Permission
    from django.core.files.base import ContentFile
    from django.db import transaction
    from django.test.utils import override_settings
    from django.utils import timezone

    from certificates.models import Certificate
    from certificates.services.issue import certificates_issue
    from learning.models import Lesson
    from learning.services.passing import enrollment_mark_passed
    from learning.services.staff_hours import study_hours_record
    from tests.factories import EnrollmentFactory, StaffFactory
    from tests.factories.certificates import association_make
    from tests.factories.learning import plan_make

    association_make()
    # The real hasher for the staff member: the bench logs in with this password.
    staff = StaffFactory(mobile=STAFF_MOBILE, name="打印员", password=STAFF_PASSWORD)
    group, _ = Group.objects.get_or_create(name="bench certificate printers")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="certificates",
            codename__in=["print_certificates", "view_certificate", "view_printrun"],
        )
    )
    staff.groups.add(group)
    enrollments = []
    # The trainees' own passwords are never used: a fast hasher keeps the set-up short.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        recorder = StaffFactory(is_superuser=True, name="教务")  # records the class hours
        for index, name in enumerate(names()):
            enrollment = EnrollmentFactory(trainee__name=name, trainee__mobile=f"137{index:08d}")
            trainee = enrollment.trainee
            lessons = list(
                Lesson.objects.filter(
                    course__plans__certificate_type=trainee.certificate_type,
                    course__plans__training_category=trainee.training_category,
                )
            ) or plan_make(
                certificate_type=trainee.certificate_type, training_category=trainee.training_category
            )
            for lesson in lessons:
                study_hours_record(
                    enrollment=enrollment,
                    lesson=lesson,
                    minutes=int(lesson.class_hours * 45),
                    reason="课堂培训",
                    actor=recorder,
                )
            trainee.photo.save("photo.jpg", ContentFile(photo_jpeg(index)), save=True)
            enrollments.append(enrollment)

    def pass_and_issue(batch) -> int:
        with transaction.atomic():
            for enrollment in batch:
                enrollment_mark_passed(enrollment=enrollment, passed_at=timezone.now())
            return len(certificates_issue(enrollment_ids=[row.pk for row in batch]).issued)

    issued = pass_and_issue(enrollments[:1])
    deadline = time.monotonic() + 300
    while not Certificate.objects.exclude(pdf="").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not render the first certificate within 300 s")
        time.sleep(0.2)
    issued += pass_and_issue(enrollments[1:])
    assert issued == COUNT, f"{issued} certificates issued of {COUNT}"
    return {"issued": issued}


def _sql(query: str, params=()) -> list[tuple]:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=DATABASE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall()
    finally:
        connection.close()


def certificates_state() -> dict:
    rows = _sql("SELECT id, holder_name, pdf FROM certificates_certificate ORDER BY number")
    return {
        "ids": [pk for pk, _name, _pdf in rows],
        "names": [name for _pk, name, _pdf in rows],
        "rendered": sum(1 for *_rest, pdf in rows if pdf),
    }


# --------------------------------------------------------------------------------------------
# The driver (this process)
# --------------------------------------------------------------------------------------------


def _in_stack(env: dict, *args: str) -> dict:
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "benchmarks.bench_certificates", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench_certificates {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _database_drop() -> None:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        connection.close()


def _fresh_state() -> None:
    """A new database, an empty Redis db and no files of an earlier run (the cut fonts are kept)."""
    import redis

    _database_drop()
    redis.Redis.from_url(BROKER).flushdb()
    for folder in ("private", "media"):
        shutil.rmtree(STATE / folder, ignore_errors=True)
    (STATE / "stack.log").unlink(missing_ok=True)


def _worker_pids(root: int) -> list[int]:
    """The Celery worker's processes (main and pool) among the stack's processes (not beat)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            words = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(word.endswith("/celery") or word == "celery" for word in words) and "worker" in words:
            pids.append(pid)
    return pids


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _wait_for(predicate, *, timeout: float, what: str, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(every)


def _log(stack) -> str:
    return stack.log.read_text(encoding="utf-8", errors="replace")


def _csrf(html: bytes) -> str:
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1).decode()


def _print_run(browser, ids: list[int], worker_pids: list[int]) -> tuple[float, dict[int, float], bytes]:
    """Log in to admin, run the print action on the certificates, poll the run's status as the admin
    page does until it is ready, download the PDF: ``(seconds, CPU seconds of each worker process,
    pdf)``."""
    status, _response, page = browser.get("/admin/login/?next=/admin/")
    assert status == 200, f"admin log-in page: {status}"
    status, response, _page = browser.post(
        "/admin/login/?next=/admin/",
        [
            ("csrfmiddlewaretoken", _csrf(page)),
            ("username", STAFF_MOBILE),
            ("password", STAFF_PASSWORD),
            ("next", "/admin/"),
        ],
    )
    location = response.getheader("Location") or ""
    assert status == 302 and location.endswith("/admin/"), f"admin log-in: {status}"
    changelist = "/admin/certificates/certificate/"
    status, _response, page = browser.get(changelist)
    assert status == 200, f"certificate list: {status}"
    form = [("csrfmiddlewaretoken", _csrf(page)), ("action", "print_selected"), ("index", "0")]
    form += [("_selected_action", str(pk)) for pk in ids]
    cpu_before = _cpu_seconds(worker_pids)
    started = time.perf_counter()
    status, response, _page = browser.post(changelist, form)
    location = response.getheader("Location") or ""
    match = re.search(r"/admin/certificates/printrun/(\d+)/change/", location)
    assert status == 302 and match, f"print action: {status} {location}"
    run_status = f"/admin/certificates/printrun/{match.group(1)}/status/"
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        status, _response, body = browser.get(run_status)
        assert status == 200, f"print run status: {status}"
        state = json.loads(body)
        if state["status"] in ("done", "failed"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"the print run did not finish within {RUN_TIMEOUT_S} s: {state}")
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    cpu = {pid: seconds - cpu_before[pid] for pid, seconds in _cpu_seconds(worker_pids).items()}
    if state["status"] != "done":
        raise RuntimeError(f"the print run failed: {state['error']}")
    if (state["done"], state["total"]) != (len(ids), len(ids)):
        raise RuntimeError(
            f"the print run counts {state['done']}/{state['total']} pages, expected {len(ids)}"
        )
    status, _response, pdf = browser.get(state["pdf_url"])
    assert status == 200 and pdf.startswith(b"%PDF"), f"print run PDF: {status}"
    return elapsed, cpu, pdf


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each of these processes (the worker's main process and pool)."""
    seconds = {}
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return seconds


def _parts_by_process(log: str, since: int) -> dict[str, int]:
    """How many print-run parts each pool process rendered (the worker's log after ``since``)."""
    counts: dict[str, int] = {}
    for process in re.findall(
        r"INFO/(ForkPoolWorker-\d+)\] Task certificates\.tasks\.print_run_part_render\[[^\]]+\] succeeded",
        log[since:],
    ):
        counts[process] = counts.get(process, 0) + 1
    return counts


def _check_pdf(pdf: bytes, expected_names: list[str]) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    if len(reader.pages) != len(expected_names):
        raise RuntimeError(f"the PDF has {len(reader.pages)} pages, expected {len(expected_names)}")
    photos = set()
    for number, (page, name) in enumerate(zip(reader.pages, expected_names, strict=True), start=1):
        text = page.extract_text()
        if name not in text:
            raise RuntimeError(f"page {number} does not show {name!r}")
        # The page's own JPEG (its photo): the images its content draws (a part's pages share one
        # resource dictionary); the seal and the QR code are PNGs.
        xobjects = page["/Resources"].get("/XObject", {})
        drawn = re.findall(rb"/([^\s/]+)\s+Do", page.get_contents().get_data())
        jpegs = {
            hashlib.sha256(stream.get_data()).hexdigest()
            for key in drawn
            if (stream := xobjects["/" + key.decode()].get_object()).get("/Filter") == "/DCTDecode"
        }
        if len(jpegs) != 1:
            raise RuntimeError(f"page {number} draws {len(jpegs)} photos")
        photos |= jpegs
    if len(set(expected_names)) != len(expected_names) or len(photos) != len(expected_names):
        raise RuntimeError(f"{len(photos)} distinct photos in {len(expected_names)} pages")


def run(report) -> None:
    from benchmarks.harness import Browser, stack_describe
    from scripts.serve_prod import stack

    STATE.mkdir(parents=True, exist_ok=True)
    _fresh_state()
    overrides = {
        "SERVE_PROD_DIR": str(STATE),
        "SERVE_PROD_PORT": str(PORT),
        "SERVE_PROD_APP_PORT": str(APP_PORT),
        "SERVE_PROD_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        "SERVE_PROD_BROKER_URL": BROKER,
        "SERVE_PROD_DEMO": "0",
    }
    print(stack_describe("certificates", overrides) + " (Procfile.prod: prefork, 2 processes)", flush=True)
    try:
        with stack(overrides, log=STATE / "stack.log", timeout=600) as running:
            _wait_for(lambda: " ready." in _log(running), timeout=300, what="the Celery worker")
            pids = _worker_pids(running.process.pid)
            if len(pids) < 3:
                raise RuntimeError(f"expected the worker and its 2 pool processes, found {pids}")
            main = next(pid for pid in pids if _status_kib(pid, "PPid") not in pids)  # the pool's parent
            _in_stack(running.env, "setup")
            log = _log(running)
            runtimes = re.findall(
                r"certificates\.tasks\.certificate_render\[[^\]]+\] succeeded in ([0-9.]+)s", log
            )
            warm = re.findall(r"Certificate renderer warm \(worker\) in (\d+) ms", log)
            # The worker renders each certificate's own PDF as it is issued; then the print run.
            state = _wait_for(
                lambda: (s := certificates_state())["rendered"] >= COUNT and s,
                timeout=900,
                what="the certificates' own PDFs",
            )
            log_mark = len(_log(running))
            load_before = os.getloadavg()[0]
            browser = Browser(f"http://127.0.0.1:{PORT}")
            try:
                elapsed, cpu, pdf = _print_run(browser, state["ids"], pids)
            finally:
                browser.close()
            load_after = os.getloadavg()[0]
            if sorted(_worker_pids(running.process.pid)) != sorted(pids):
                raise RuntimeError("a worker process was replaced during the run (its peak would be lost)")
            peak_kib = max(_status_kib(pid, "VmHWM") for pid in pids)
            time.sleep(1)  # the last task's "succeeded" line
            parts = _parts_by_process(_log(running), log_mark)
        _check_pdf(pdf, state["names"])
    finally:
        _database_drop()
    if not runtimes:
        raise RuntimeError("the worker's log shows no certificate_render task")
    from django.conf import settings

    from certificates.services.print_runs import DEFAULT_PART_SIZE

    part_size = getattr(settings, "CERTIFICATE_PRINT_PART_SIZE", DEFAULT_PART_SIZE)  # the stack's settings
    expected_parts = -(-COUNT // part_size)
    if sum(parts.values()) != expected_parts or len(parts) < 2:
        raise RuntimeError(f"expected {expected_parts} parts rendered by both pool processes, got {parts}")
    shares = ", ".join(f"{process}: {count}" for process, count in sorted(parts.items()))
    print(
        f"# print run: {sum(parts.values())} parts of {part_size} ({shares}); worker CPU {sum(cpu.values()):.2f} s"
        f" (main process {cpu[main]:.2f} s); load average {load_before:.1f} before, {load_after:.1f} after",
        flush=True,
    )
    report("cold_ms", float(runtimes[0]) * 1000, "ms")
    if warm:
        report("warm_up_ms", float(warm[0]), "ms")
    report("bulk_per_s", COUNT / elapsed, "per s")
    report("worker_cpu_ms_per_page", sum(cpu.values()) * 1000 / COUNT, "ms")
    report("peak_mib", peak_kib / 1024, "MiB")
    report("pdf_mib", len(pdf) / 2**20, "MiB")


if __name__ == "__main__":
    from benchmarks.harness import django_setup

    django_setup()
    command = sys.argv[1]
    if command == "setup":
        measured = setup_data()
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(measured))
