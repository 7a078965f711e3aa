"""The exam takers of ``bench_exams``: a browser (one keep-alive connection through nginx, its
cookies and the page's CSRF token) and a taker who uses it as the exam page (``exams/static/exams/
exam.js``) makes a real browser do, request by request. Each taker checks what the page would show
(every autosave ``ok``, the answer sheet the server reads back, the server's timer) and counts
anything else as an error; ``bench_exams`` checks the database afterwards."""

import http.client
import json
import math
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit


@dataclass(frozen=True)
class Sitting:
    """How the sitting goes (seconds from the benchmark's start) and where the site is."""

    window_s: float  # the sitting: every taker submits before it ends
    start_s: float  # the log-ins spread over this
    host: str
    port: int
    password: str
    rush_s: float = 120.0  # most takers submit within the last two minutes
    rush_share: float = 0.85
    knowing_share: float = 0.70  # takers who know the material (95 % right); the others 55 % right
    change_share: float = 0.125  # questions answered one way first, changed later
    state_every_s: float = 60.0  # exam.js: window.setInterval(sync, 60000)
    timer_slack_s: float = 3.0  # the server's whole seconds, the clocks of two requests


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.by_kind: dict[str, list[float]] = {}
        self.answer_times: list[float] = []  # when each autosave was answered (monotonic)
        self.rush_submits: list[float] = []
        self.errors = 0
        self.samples: list[str] = []
        self.answers_sent = 0
        self.answers_ok = 0

    def record(self, kind: str, ms: float) -> None:
        with self.lock:
            self.latencies.append(ms)
            self.by_kind.setdefault(kind, []).append(ms)
            if kind == "answer":
                self.answer_times.append(time.monotonic())

    def error(self, what: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.samples) < 8:
                self.samples.append(what)


@dataclass
class Answer:
    status: int
    body: bytes
    location: str | None
    ms: float


class Browser:
    TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')

    def __init__(self, stats: Stats, sitting: Sitting):
        self.stats, self.sitting = stats, sitting
        self.origin = f"http://{sitting.host}:{sitting.port}"
        self.cookies: dict[str, str] = {}
        self.token = ""
        self.connection: http.client.HTTPConnection | None = None

    def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]):
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.sitting.host, self.sitting.port, timeout=60)
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
            self.connection = None
        return response, content

    def request(self, kind, method, path, *, form=None, json_body=None, expect=200) -> Answer | None:
        """One request as the browser sends it; ``None`` (an error counted) unless it answers ``expect``."""
        headers = {
            "Host": f"{self.sitting.host}:{self.sitting.port}",
            "User-Agent": "bench-exams",
            "Accept-Language": "zh-hans",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if json_body is not None:  # window.portal.postJSON
            body = json.dumps(json_body).encode()
            headers |= {"Content-Type": "application/json", "X-CSRFToken": self.token}
            headers |= {"X-Requested-With": "fetch", "Origin": self.origin}
        elif form is not None:
            body = urlencode(form, doseq=True).encode()
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin}
        start = time.perf_counter()
        try:
            try:
                response, content = self._send(method, path, body, headers)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server closed meanwhile: the browser retries on a new one.
                self.connection = None
                start = time.perf_counter()
                response, content = self._send(method, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            self.connection = None
            self.stats.error(f"{kind}: {exc!r}")
            return None
        ms = (time.perf_counter() - start) * 1000
        self.stats.record(kind, ms)
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if content and response.getheader("Content-Type", "").startswith("text/html"):
            token = self.TOKEN.search(content)
            if token:
                self.token = token.group(1).decode()
        location = response.getheader("Location")
        if response.status != expect:
            self.stats.error(f"{kind} {path}: HTTP {response.status} {content[:160]!r}")
            return None
        return Answer(response.status, content, urlsplit(location).path if location else None, ms)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


class Taker:
    """One exam taker: log-in, the exam page, the paper, one autosave per change event, the timer
    re-read every minute, the submit and the result page (see ``bench_exams``' docstring)."""

    OPTION = re.compile(r'type="(radio|checkbox)" name="q(\d+)" value="(\d+)"')
    FORM = re.compile(r'<form method="post" action="([^"]+)" id="exam-form"\s+([^>]*)>')
    DATA = re.compile(r'data-(answer-url|state-url|result-url)="([^"]+)"')
    REMAINING = re.compile(r'id="exam-timer" data-remaining="(\d+)"')

    def __init__(
        self,
        *,
        mobile: str,
        enrollment_id: int,
        sitting: Sitting,
        stats: Stats,
        rng: random.Random,
        papers: Callable[[int], dict[int, tuple[list[int], str]]],
        began: float,
    ):
        self.mobile, self.enrollment_id, self.sitting = mobile, enrollment_id, sitting
        self.stats, self.rng, self.papers, self.began = stats, rng, papers, began
        self.browser = Browser(stats, sitting)
        self.login_at = rng.uniform(0, sitting.start_s)
        self.rush = rng.random() < sitting.rush_share
        self.knows = rng.random() < sitting.knowing_share
        self.final: dict[int, list[int]] = {}  # position -> the answer given last
        self.answered: set[int] = set()  # positions the server has confirmed an answer for
        self.ends_at = 0.0  # the deadline the paper page showed, on this process's clock
        self.page_ms = 0.0
        self.urls: dict[str, str] = {}
        self.attempt_id: int | None = None
        self.submitted = False

    def sleep_until(self, moment: float) -> None:
        time.sleep(max(0.0, self.began + moment - time.monotonic()))

    def now(self) -> float:
        return time.monotonic() - self.began

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 -- a taker that broke counts as an error
            self.stats.error(f"taker {self.mobile}: {exc!r}")
        finally:
            self.browser.close()

    def _run(self) -> None:
        b, rng, sitting = self.browser, self.rng, self.sitting
        self.sleep_until(self.login_at)
        if not b.request("login_page", "GET", "/login/"):
            return
        time.sleep(rng.uniform(4, 10))  # typing the mobile number and password
        form = {"csrfmiddlewaretoken": b.token, "username": self.mobile, "password": sitting.password}
        answer = b.request("login", "POST", "/login/", form=form, expect=302)
        if not answer or not b.request("after_login", "GET", answer.location or "/"):
            return
        time.sleep(rng.uniform(2, 5))
        if not b.request("exam_home", "GET", f"/exams/e/{self.enrollment_id}/"):
            return
        time.sleep(rng.uniform(3, 8))  # reading the rules
        form = {"csrfmiddlewaretoken": b.token}
        started = b.request("start", "POST", f"/exams/e/{self.enrollment_id}/start/", form=form, expect=302)
        if not started or not (started.location or "").startswith("/exams/a/"):
            self.stats.error(f"start: no attempt ({started and started.location})")
            return
        self.attempt_id = int(started.location.strip("/").split("/")[-1])
        paper = b.request("paper", "GET", started.location)
        if not paper:
            return
        loaded = self.now()
        if not self._read_page(paper):
            return
        questions: dict[int, tuple[str, int]] = {}
        for kind, position, _value in self.OPTION.findall(paper.body.decode()):
            previous = questions.get(int(position), (kind, 0))
            questions[int(position)] = (kind, previous[1] + 1)
        truth = self.papers(self.attempt_id)  # position -> (correct, qtype)
        if not questions or set(questions) != set(truth):
            self.stats.error(f"paper {started.location}: {len(questions)} questions on the page")
            return
        events = self._events(questions, truth)
        if self.rush:
            submit_at = rng.uniform(sitting.window_s - sitting.rush_s, sitting.window_s - 10)
        else:
            rush_begins = sitting.window_s - sitting.rush_s
            submit_at = rng.uniform(loaded + 0.6 * (rush_begins - loaded), rush_begins)
        submit_at = max(submit_at, loaded + 30)
        answering_ends = submit_at - rng.uniform(5, 15)  # checking the answer sheet, confirming
        step = max(0.0, answering_ends - loaded - 5) / max(1, len(events))
        next_sync = loaded + sitting.state_every_s
        for n, (position, choices) in enumerate(events):
            moment = loaded + 5 + step * (n + rng.uniform(0.3, 1.0))
            while next_sync <= moment:
                self.sleep_until(next_sync)
                self._sync()
                next_sync += sitting.state_every_s
            self.sleep_until(moment)
            self._save(position, choices)
        while next_sync <= submit_at:
            self.sleep_until(next_sync)
            self._sync()
            next_sync += sitting.state_every_s
        self.sleep_until(submit_at)
        rush = self.now() >= sitting.window_s - sitting.rush_s
        # form.submit(): every checked box of the form, with the form's token.
        form = {
            "csrfmiddlewaretoken": b.token,
            **{f"q{p}": [str(c) for c in v] for p, v in self.final.items()},
        }
        done = b.request("submit", "POST", self.urls["submit"], form=form, expect=302)
        if not done:
            return
        if done.location != self.urls["result"]:
            self.stats.error(f"submit: went to {done.location}, not the result page")
            return
        if rush:
            with self.stats.lock:
                self.stats.rush_submits.append(done.ms)
        if b.request("result", "GET", done.location):
            self.submitted = True

    def _read_page(self, paper: Answer) -> bool:
        """The URLs and the timer the page gives exam.js."""
        html = paper.body.decode()
        form = self.FORM.search(html)
        remaining = self.REMAINING.search(html)
        if not form or not remaining:
            self.stats.error(f"paper of attempt {self.attempt_id}: no exam form or timer")
            return False
        self.urls = {"submit": form.group(1)} | {
            name.removesuffix("-url"): url for name, url in self.DATA.findall(form.group(2))
        }
        if set(self.urls) != {"submit", "answer", "state", "result"}:
            self.stats.error(f"paper of attempt {self.attempt_id}: form data {self.urls}")
            return False
        self.ends_at = time.monotonic() + int(remaining.group(1))
        self.page_ms = paper.ms
        return True

    def _timer_check(self, what: str, remaining, ms: float) -> None:
        """The server's remaining time must count down with the clock from what the page showed."""
        expected = self.ends_at - time.monotonic()
        slack = self.sitting.timer_slack_s + (self.page_ms + ms) / 1000
        if not isinstance(remaining, int) or abs(remaining - expected) > slack:
            self.stats.error(f"{what}: remaining {remaining!r} s, the page's timer says {expected:.0f} s")

    def _events(self, questions, truth) -> list[tuple[int, list[int]]]:
        """The change events of the page, in order: (position, the question's checked boxes then)."""
        rng = self.rng
        right = 0.95 if self.knows else 0.55
        events: list[tuple[int, list[int]]] = []
        later: list[tuple[int, list[int]]] = []
        for position in sorted(questions):
            kind, count = questions[position]
            correct = sorted(truth[position][0])
            if rng.random() < right:
                final = correct
            elif kind == "checkbox":
                wrong = [i for i in range(count) if i not in correct]
                final = sorted(set(correct[:-1]) | {rng.choice(wrong)})
            else:
                final = [rng.choice([i for i in range(count) if i not in correct])]
            self.final[position] = final
            if kind == "checkbox":
                ticked: list[int] = []
                for option in rng.sample(final, len(final)):  # one change event per ticked box
                    ticked = sorted([*ticked, option])
                    events.append((position, ticked))
                if rng.random() < self.sitting.change_share:
                    extra = [i for i in range(count) if i not in final]
                    if extra:  # one box too many at first, unticked later
                        events.append((position, sorted([*final, rng.choice(extra)])))
                        later.append((position, final))
            elif rng.random() < self.sitting.change_share:
                other = [i for i in range(count) if i not in final]
                events.append((position, [rng.choice(other)]))
                later.append((position, final))
            else:
                events.append((position, final))
        return events + later

    def _save(self, position: int, choices: list[int]) -> None:
        """One change event: ``postJSON(answerUrl, {position, choices})``."""
        with self.stats.lock:
            self.stats.answers_sent += 1
        json_body = {"position": position, "choices": choices}
        answer = self.browser.request("answer", "POST", self.urls["answer"], json_body=json_body)
        if not answer:
            return
        body = json.loads(answer.body)
        if (
            body.get("ok") is True
            and body.get("position") == position
            and body.get("answered") == bool(choices)
        ):
            with self.stats.lock:
                self.stats.answers_ok += 1
            self.answered.add(position)
            self._timer_check("answer", body.get("remaining_seconds"), answer.ms)
        else:
            self.stats.error(f"answer: {body}")

    def _sync(self) -> None:
        """exam.js ``sync()``: the server's timer; its answer sheet must list what was saved."""
        answer = self.browser.request("state", "GET", self.urls["state"])
        if not answer:
            return
        body = json.loads(answer.body)
        if body.get("ok") is not True:
            self.stats.error(f"state: {answer.body[:160]!r}")
            return
        self._timer_check("state", body.get("remaining_seconds"), answer.ms)
        if body.get("answered") != sorted(self.answered):
            missing = sorted(self.answered - set(body.get("answered") or []))
            self.stats.error(f"state of attempt {self.attempt_id}: saved answers missing {missing[:5]}")
