"""Serving: the deployed stack (nginx -> gunicorn -> Django, PostgreSQL, Redis, Celery) under video
viewers and slow uploads, while a separate client measures the home page and study heartbeats.

Starts the stack with ``scripts/serve_prod.py`` (production settings, deploy/gunicorn.conf.py,
deploy/nginx/portal.conf.template) on its own ports (nginx 8180, gunicorn 8181), database
(``portal_bench_serving``, dropped at the end) and Redis database (10, flushed), in
``var/bench-serving``. Then, in a data script run with the stack's environment:

- a video lesson whose phone MP4 is a real ~30 MB H.264 file made by ffmpeg (testsrc2 + noise,
  2.4 Mbit/s CBR), stored where the portal stores processed lesson videos;
- ``VIEWERS`` (500) trainees with study accounts on that lesson, ``PROBES`` more for the measuring
  client, and ``UPLOADS`` (200) registered trainees whose information form (attachment 2) still
  lacks the ID card front.

Log-ins: the measuring client's trainees and the first ``FORM_LOGINS`` viewers log in through the
real log-in form (CSRF, Argon2 check); the other viewers get a login session minted by the data
script exactly as ``django.contrib.auth.login`` stores it (Argon2 costs ~0.4 s of CPU per log-in:
500 form log-ins would take minutes of this 2-core machine before the load even starts).

Phases (all clients on loopback, every count and time bounded):

1. Viewers: each asks the lesson video URL (Django checks permission, nginx sends the file by
   X-Accel-Redirect) with ``Range: bytes=0-1`` as iOS does, then ``Range: bytes=<offset>-`` (30 %
   start at a seek position) and reads it at a phone's pace (1-2 Mbit/s, 128 KiB receive buffer);
   20 % stop reading for 20-40 s once (a paused video). A range read to its end starts again at 0
   on the same keep-alive connection. Every byte is compared with the file.
2. With all viewers streaming, a separate process (its own event loop, ``PROBES`` trainees, one
   keep-alive connection each) loads the home page and posts a study heartbeat of a started lesson
   in turn, for ``WINDOW_SECONDS``: ``serving.home_p95_ms`` is the 95th percentile of both.
3. Still with the viewers, another process starts ``UPLOADS`` information-form posts carrying a
   ~4.7 MB JPEG of the ID card, sent at 0.6-1.0 Mbit/s (38-63 s each; nginx buffers the body);
   once all are in flight the measuring client runs again: ``serving.slow_uploads_home_p95_ms``.
   Each upload must be accepted (302 back to the form) and stored (checked in the database).

``serving.errors`` counts every failed or cut request of every client (non-2xx/206 answers, a
connection closed early, a wrong byte, a refused heartbeat, an upload not stored); the benchmark
prints its figures, then fails if it is not 0 or if fewer viewers than ``VIEWERS`` streamed.

Environment overrides (for a quick try): ``BENCH_SERVING_VIEWERS``, ``BENCH_SERVING_UPLOADS``,
``BENCH_SERVING_WINDOW``.
"""

import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .serving_client import CSRF_FIELD, HOST, PORT, Http, login_form, percentile
from .serving_data import (
    BROKER,
    DATABASE,
    BenchError,
    _database_drop,
    _prepare,
    _redis_flush,
    _scan_make,
    _verify,
    _video_make,
)

ROOT = Path(__file__).resolve().parent.parent
APP_PORT = 8181
STATE = ROOT / "var" / "bench-serving"

VIEWERS = int(os.environ.get("BENCH_SERVING_VIEWERS", "500"))
UPLOADS = int(os.environ.get("BENCH_SERVING_UPLOADS", "200"))
WINDOW_SECONDS = float(os.environ.get("BENCH_SERVING_WINDOW", "30"))
PROBES = 4
FORM_LOGINS = 16
VIEWER_RCVBUF = 128 * 1024
UPLOAD_SNDBUF = 64 * 1024
STARTUP_TIMEOUT = 240.0
RAMP_SECONDS = 12.0
UPLOAD_TIMEOUT = 300.0
PAUSE_SHARE = 0.2
SEEK_SHARE = 0.3

STACK_OVERRIDES = {
    "SERVE_PROD_DIR": str(STATE),
    "SERVE_PROD_PORT": str(PORT),
    "SERVE_PROD_APP_PORT": str(APP_PORT),
    "SERVE_PROD_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
    "SERVE_PROD_BROKER_URL": BROKER,
    "SERVE_PROD_DEMO": "0",
}


# ---------------------------------------------------------------------------------------------
# The measuring client (its own process): home page and heartbeats, one connection per trainee


async def _probe(spec: dict) -> dict:
    deadline = time.monotonic() + spec["seconds"]
    home, beats, errors, credited = [], [], [], 0

    async def trainee(user: dict) -> None:
        nonlocal credited
        client = Http()
        client.cookies.update(user["cookies"])
        seq, position = user["seq"], user["position"]
        while time.monotonic() < deadline:
            try:
                start = time.perf_counter()
                status, _, page = await client.request("GET", "/")
                took = (time.perf_counter() - start) * 1000
                if status != 200 or b"</html>" not in page:
                    errors.append(f"home {status}")
                else:
                    home.append(took)
                seq += 1
                body = json.dumps(
                    {
                        "token": user["token"],
                        "seq": seq,
                        "state": "active",
                        "played": [[position, position + 0.5]],
                    }
                ).encode()
                position += 0.5
                headers = {"Content-Type": "application/json", **client.csrf_headers()}
                start = time.perf_counter()
                status, _, answer = await client.request("POST", "/learning/study/heartbeat/", headers, body)
                took = (time.perf_counter() - start) * 1000
                result = json.loads(answer or b"{}") if status in (200, 403, 409) else {}
                if status != 200 or result.get("ok") is not True or result.get("replay"):
                    errors.append(f"heartbeat {status} {result.get('code')}")
                else:
                    beats.append(took)
                    credited += int(result.get("credited_ms") or 0)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                errors.append(f"probe {type(exc).__name__}")
                client.close()
            await asyncio.sleep(0.25)
        client.close()
        user["seq"], user["position"] = seq, position

    await asyncio.gather(*(trainee(user) for user in spec["users"]))
    return {
        "home": home,
        "heartbeat": beats,
        "errors": errors,
        "credited_ms": credited,
        "users": spec["users"],
    }


# ---------------------------------------------------------------------------------------------
# Slow uploads (their own process): attachment 2 with the ID card front, at a phone's pace


async def _uploads(spec: dict) -> dict:
    image = Path(spec["image"]).read_bytes()
    boundary = "----benchserving7MA4YWxkTrZu0gW"
    results: list[str] = []
    sending = 0
    sent_one: list[int] = []
    all_started = asyncio.Event()

    def multipart(fields: dict[str, str]) -> bytes:
        parts = []
        for name, value in fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="id_front"; filename="IMG_2041.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n".encode()
            + image
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        return b"".join(parts)

    async def upload(index: int, item: dict, form: tuple[Http, str]) -> None:
        nonlocal sending
        client, token = form
        path = f"/registration/t/{item['access_key']}/"
        body = multipart({"csrfmiddlewaretoken": token, **spec["fields"], "declaration_name": item["name"]})
        rate = random.uniform(0.6, 1.0) * 1_000_000 / 8  # bytes per second
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Referer": f"http://{HOST}:{PORT}{path}",
            **client.csrf_headers(),
        }
        try:
            client.close()  # the form was read a while ago: a new connection, the same cookies
            await client.open()
            client.writer.write(client.head("POST", path, headers, len(body)))
            sending += 1
            if sending == len(spec["items"]):
                all_started.set()
            start, sent = time.monotonic(), 0
            while sent < len(body):  # the client's pace; nginx reads the body into its buffer
                chunk = body[sent : sent + 16384]
                client.writer.write(chunk)
                await client.writer.drain()
                sent += len(chunk)
                delay = start + sent / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            if not sent_one:
                sent_one.append(index)
                print("sent", flush=True)  # the first upload is all sent: the in-flight time is over
            status, headers_in = await asyncio.wait_for(client.read_head(), UPLOAD_TIMEOUT)
            if status == 302 and headers_in.get("location", "").endswith(path):
                results.append("ok")
            else:
                results.append(f"upload {status}")
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            results.append(f"upload {type(exc).__name__}")
        finally:
            client.close()

    async def form_get(item: dict) -> tuple[Http, str]:
        client = Http(sndbuf=UPLOAD_SNDBUF, forwarded=item["ip"])
        status, _, page = await client.request("GET", f"/registration/t/{item['access_key']}/")
        match = CSRF_FIELD.search(page)
        if status != 200 or not match:
            raise BenchError(f"information form: {status}")
        return client, match.group(1).decode()

    forms = []
    for start in range(0, len(spec["items"]), 8):  # the forms first, eight at a time
        forms += await asyncio.gather(*(form_get(item) for item in spec["items"][start : start + 8]))
    print("forms", flush=True)
    tasks = []
    for index, item in enumerate(spec["items"]):  # the phones start within a few seconds
        tasks.append(asyncio.create_task(upload(index, item, forms[index])))
        await asyncio.sleep(0.01)
    await all_started.wait()
    print("inflight", flush=True)
    await asyncio.gather(*tasks)
    return {"results": results}


# ---------------------------------------------------------------------------------------------
# Viewers (in the benchmark's own process)


class Viewers:
    def __init__(self, video: bytes, users: list[dict], url_of: dict[str, str]):
        self.video, self.users, self.url_of = memoryview(video), users, url_of
        self.size = len(video)
        self.stop = asyncio.Event()
        self.started = 0
        self.failed: list[str] = []
        self.bytes = 0
        self.ranges_done = 0
        self.paused = 0
        self.ok: set[int] = set()
        # Where the run is (ramp, viewers, uploads in flight, uploads finishing): errors say when.
        self.phase = "ramp"

    def _fail(self, index: int, what: str) -> None:
        self.failed.append(f"{what} ({self.phase})")
        self.ok.discard(index)

    async def viewer(self, index: int, user: dict, delay: float) -> None:
        await asyncio.sleep(delay)
        client = Http(rcvbuf=VIEWER_RCVBUF)
        client.cookies.update(user["cookies"])
        path = self.url_of[user["mobile"]]
        rng = random.Random(index)
        rate = rng.uniform(1.0, 2.0) * 1_000_000 / 8
        pauses = index % int(1 / PAUSE_SHARE) == 0
        offset = rng.randrange(self.size // 2) if rng.random() < SEEK_SHARE else 0
        step = "probe range"
        try:
            status, headers, body = await client.request("GET", path, {"Range": "bytes=0-1"})
            if (
                status != 206
                or headers.get("content-range") != f"bytes 0-1/{self.size}"
                or body != self.video[:2]
            ):
                self._fail(index, f"probe range {status} {headers.get('content-range')}")
                return
            self.ok.add(index)
            self.started += 1
            stream_start = time.monotonic()
            pause_at = stream_start + rng.uniform(5, 20) if pauses else None
            while not self.stop.is_set():
                step = "range head"
                status, headers = await client.start("GET", path, {"Range": f"bytes={offset}-"})
                step = "range body"
                expected = f"bytes {offset}-{self.size - 1}/{self.size}"
                if status != 206 or headers.get("content-range") != expected:
                    self._fail(index, f"range {status} {headers.get('content-range')}")
                    return
                remaining = int(headers.get("content-length", "-1"))
                if remaining != self.size - offset:
                    self._fail(index, f"length {remaining}")
                    return
                start, got = time.monotonic(), 0
                while remaining and not self.stop.is_set():
                    chunk = await client.reader.read(min(65536, remaining))
                    if not chunk:
                        self._fail(index, "stream cut")
                        return
                    if self.video[offset : offset + len(chunk)] != chunk:
                        self._fail(index, "wrong bytes")
                        return
                    offset += len(chunk)
                    remaining -= len(chunk)
                    got += len(chunk)
                    self.bytes += len(chunk)
                    now = time.monotonic()
                    if pause_at is not None and now >= pause_at:
                        pause_at = None
                        self.paused += 1
                        await self._sleep(rng.uniform(20, 40))
                        start, got = time.monotonic(), 0
                        continue
                    wait = start + got / rate - now
                    if wait > 0:
                        await self._sleep(wait)
                if not remaining:
                    self.ranges_done += 1
                    offset = 0
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            if not self.stop.is_set():
                self._fail(index, f"viewer {step} {type(exc).__name__}")
        finally:
            client.close()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)


def _script(env: dict, command: str, spec: dict, work: Path) -> dict:
    spec_path, out_path = work / f"{command}-spec.json", work / f"{command}-out.json"
    spec_path.write_text(json.dumps(spec))
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "benchmarks.bench_serving", command, str(spec_path), str(out_path)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return json.loads(out_path.read_text())


async def _child(work: Path, command: str, spec: dict, on_line=None) -> dict:
    """Run a client (probe / uploads) in its own process; its last stdout line is its JSON result."""
    spec_path = work / f"{command}-{time.monotonic_ns()}.json"
    spec_path.write_text(json.dumps(spec))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.bench_serving", command, str(spec_path),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    last = b""
    try:
        async for line in process.stdout:
            last = line
            if on_line is not None:
                on_line(line.decode().strip())
        if await process.wait() != 0:
            raise BenchError(f"the {command} client failed")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return json.loads(last)


async def _drive(report, env: dict, data: dict, video: bytes, work: Path) -> None:
    learners = data["learners"]
    viewers_rows, probe_rows = learners[:VIEWERS], learners[VIEWERS:]

    # Log-ins through the real form: the measuring client's trainees and the first viewers.
    async def form_login(row: dict) -> None:
        client = Http()
        await login_form(client, row["mobile"])
        row["cookies"] = dict(client.cookies)
        status, _, page = await client.request("GET", row["path"])
        if status != 200 or b"</html>" not in page:
            raise BenchError(f"lesson page {status}")
        client.close()

    start = time.monotonic()
    to_log_in = probe_rows + viewers_rows[:FORM_LOGINS]
    for at in range(0, len(to_log_in), 4):
        await asyncio.gather(*(form_login(row) for row in to_log_in[at : at + 4]))
    report("form_logins", len(to_log_in), "log-ins")
    report("form_logins_s", time.monotonic() - start, "s")

    # The measuring client's trainees start their study session on the lesson (as the page does).
    for row in probe_rows:
        client = Http()
        client.cookies.update(row["cookies"])
        status, _, answer = await client.request("POST", row["path"] + "start/", client.csrf_headers(), b"")
        result = json.loads(answer or b"{}")
        if status != 200 or not result.get("ok"):
            raise BenchError(f"lesson start {status} {result}")
        row.update(token=result["token"], seq=0, position=float(result["position"]))
        client.close()

    url_of = {row["mobile"]: row["path"] + "video/" for row in viewers_rows}
    viewers = Viewers(video, viewers_rows, url_of)
    tasks = [
        asyncio.create_task(viewers.viewer(i, row, RAMP_SECONDS * i / len(viewers_rows)))
        for i, row in enumerate(viewers_rows)
    ]
    try:
        deadline = time.monotonic() + RAMP_SECONDS + 60
        while viewers.started + len(viewers.failed) < len(viewers_rows) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # every stream past its first reads
        streaming_before = len(viewers.ok)
        viewers.phase = "viewers"

        probe_spec = {"seconds": WINDOW_SECONDS, "users": probe_rows}
        window_bytes, window_start = viewers.bytes, time.monotonic()
        first = await _child(work, "probe", probe_spec)
        window_rate = (viewers.bytes - window_bytes) * 8 / 1e6 / (time.monotonic() - window_start)
        probe_spec["users"] = first["users"]  # sequence numbers go on

        probe_task: list[asyncio.Task] = []
        moments: dict[str, float] = {}

        def on_upload_line(line: str) -> None:
            moments.setdefault(line, time.monotonic())
            if line == "inflight":
                viewers.phase = "uploads in flight"
                probe_task.append(asyncio.ensure_future(_child(work, "probe", probe_spec)))
                probe_task[0].add_done_callback(probe_done)

        def probe_done(task: asyncio.Task) -> None:
            moments["measured"] = time.monotonic()
            viewers.phase = "uploads finishing"

        upload_spec = {"items": data["uploads"], "fields": data["fields"], "image": str(work / "scan.jpg")}
        upload_result = await asyncio.wait_for(
            _child(work, "uploads", upload_spec, on_upload_line), UPLOAD_TIMEOUT + 120
        )
        if not probe_task:
            raise BenchError("the uploads never were all in flight")
        second = await probe_task[0]
        if moments.get("sent", 0) < moments["measured"]:
            raise BenchError("an upload was sent in full before the measurement during uploads ended")
        streaming_after = len(viewers.ok)
    finally:
        viewers.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    verify = _script(
        env,
        "verify",
        {
            "access_keys": [item["access_key"] for item in data["uploads"]],
            "probe_mobiles": [row["mobile"] for row in probe_rows],
        },
        work,
    )
    upload_failures = [r for r in upload_result["results"] if r != "ok"]
    not_stored = len(data["uploads"]) - verify["stored"]
    errors = viewers.failed + first["errors"] + second["errors"] + upload_failures
    if not_stored and not upload_failures:
        errors.append(f"{not_stored} uploads answered but not stored")

    streams = min(streaming_before, streaming_after)
    report("viewers", streams, "streams")
    report("viewers_paused", viewers.paused, "streams")
    report("viewers_mbit_s", window_rate, "Mbit/s")  # all viewers together, during the first window
    report("viewer_mbytes", viewers.bytes / 1e6, "MB")
    report("viewer_ranges_completed", viewers.ranges_done, "ranges")
    report("home_p95_ms", percentile(first["home"] + first["heartbeat"], 0.95), "ms")
    report("home_only_p95_ms", percentile(first["home"], 0.95), "ms")
    report("heartbeat_p95_ms", percentile(first["heartbeat"], 0.95), "ms")
    report("probe_requests", len(first["home"]) + len(first["heartbeat"]), "requests")
    report("slow_uploads_home_p95_ms", percentile(second["home"] + second["heartbeat"], 0.95), "ms")
    report("slow_uploads_home_only_p95_ms", percentile(second["home"], 0.95), "ms")
    report("slow_uploads_heartbeat_p95_ms", percentile(second["heartbeat"], 0.95), "ms")
    report("slow_uploads_probe_requests", len(second["home"]) + len(second["heartbeat"]), "requests")
    report("uploads_stored", verify["stored"], "uploads")
    report("errors", len(errors), "")
    report("errors_viewers", len(viewers.failed), "")
    report("errors_probe", len(first["errors"]) + len(second["errors"]), "")
    report(
        "errors_uploads", len(errors) - len(viewers.failed) - len(first["errors"]) - len(second["errors"]), ""
    )
    if errors:
        counts: dict[str, int] = {}
        for error in errors:
            counts[error] = counts.get(error, 0) + 1
        raise BenchError(f"serving: {len(errors)} failed or cut requests: {counts}")
    if streams < VIEWERS:
        raise BenchError(f"serving: only {streams} of {VIEWERS} viewers streamed")
    if not first["credited_ms"] or verify["credited_ms"] < first["credited_ms"]:
        raise BenchError(
            f"serving: heartbeats credited {first['credited_ms']} ms, stored {verify['credited_ms']}"
        )
    if not first["home"] or not second["home"] or not first["heartbeat"] or not second["heartbeat"]:
        raise BenchError("serving: the measuring client got no answers")


def run(report) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import serve_prod

    work = STATE / "bench"
    _database_drop()
    _redis_flush()
    if STATE.exists():
        shutil.rmtree(STATE)
    work.mkdir(parents=True)
    try:
        _video_make(work / "video.mp4")
        _scan_make(work / "scan.jpg")
        video = (work / "video.mp4").read_bytes()
        report("video_mbytes", len(video) / 1e6, "MB")
        with serve_prod.stack(STACK_OVERRIDES, log=work / "stack.log", timeout=STARTUP_TIMEOUT) as stack:
            data = _script(
                stack.env,
                "prepare",
                {
                    "video": str(work / "video.mp4"),
                    "viewers": VIEWERS,
                    "probes": PROBES,
                    "uploads": UPLOADS,
                    "form_logins": FORM_LOGINS,
                },
                work,
            )
            asyncio.run(_drive(report, stack.env, data, video, work))
    finally:
        _database_drop()
        _redis_flush()
        # The bulky files (the video, its stored copy, the stored scans); the logs stay for reading.
        for bulky in (STATE / "private", STATE / "media", work / "video.mp4", work / "scan.jpg"):
            if bulky.is_dir():
                shutil.rmtree(bulky, ignore_errors=True)
            else:
                bulky.unlink(missing_ok=True)


def _main(argv: list[str]) -> int:
    command = argv[0]
    if command in ("prepare", "verify"):
        (_prepare if command == "prepare" else _verify)(argv[1], argv[2])
        return 0
    spec = json.loads(Path(argv[1]).read_text())
    result = asyncio.run(_probe(spec) if command == "probe" else _uploads(spec))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
