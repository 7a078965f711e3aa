"""A simulated learner: drives the lesson endpoints the way study.js does, under time-machine."""

from datetime import timedelta

from django.urls import reverse


class Learner:
    def __init__(self, client, enrollment, lesson, *, clock=None, answer_checks=True):
        self.client = client
        self.enrollment = enrollment
        self.lesson = lesson
        self.clock = clock
        self.answer_checks = answer_checks
        self.token = None
        self.seq = 0
        self.responses = []

    def start(self):
        response = self.client.post(
            reverse("learning:lesson_start", args=[self.enrollment.pk, self.lesson.pk])
        )
        if response.status_code == 200:
            self.token = response.json()["token"]
            self.seq = 0
        return response

    def beat(self, state="active", played=None, seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        payload = {"token": self.token, "seq": seq, "state": state}
        if played is not None:
            payload["played"] = played
        response = self.client.post(reverse("learning:heartbeat"), payload, content_type="application/json")
        self.responses.append(response)
        body = response.json()
        if self.answer_checks and response.status_code == 200 and body.get("presence"):
            self.answer(body["presence"]["id"])
        return response

    def answer(self, check):
        return self.client.post(
            reverse("learning:presence"),
            {"token": self.token, "check": check},
            content_type="application/json",
        )

    def study(self, seconds, *, every=15, state="active"):
        """Wait ``every`` seconds then beat, until ``seconds`` have passed."""
        elapsed = 0
        while elapsed < seconds:
            step = min(every, seconds - elapsed)
            self.clock.shift(timedelta(seconds=step))
            elapsed += step
            self.beat(state=state)
