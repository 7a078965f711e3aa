"""Study time: sessions, heartbeats and presence checks.

The server decides what is credited: the real time between two consecutive heartbeats of the live
session (a gap above interval + slack credits nothing), only while the page says it is visible and
active, only the played part of a video, never beyond the lesson's hours or the daily cap. Credit
accrues into "pending" record lines; a presence check answered in time confirms them, a missed one
discards them (their time comes off the progress).

One live session per enrollment (:func:`study_start`): opening a lesson elsewhere ends the other
window's crediting. A heartbeat is authenticated by the login session that opened the study session
and does a constant, small number of queries (:func:`study_heartbeat`: the hottest endpoint of the
portal, so its row is read in one raw SELECT and nothing is imported on its path). Hours earned
elsewhere are entered by staff (:mod:`learning.services.staff_hours`).

One module (under 600 lines) on purpose: session start, heartbeat, presence check and the overdue
sweep read and write the same live-session row through the same private helpers
(``_discard_pending``, ``_next_check_at``, ``_presence_payload``, ``StudyResult``).
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, F, Q, Sum, When
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from portal.models import User

from ..conf import conf
from ..models import (
    Enrollment,
    EnrollmentStatus,
    Lesson,
    LessonKind,
    LessonProgress,
    ProgrammeStudyRule,
    RecordSource,
    RecordStatus,
    StudyRecord,
    StudyState,
    hours_to_ms,
)
from ..selectors.enrollments import enrollment_access, enrollment_access_check
from ..selectors.study import PRESENCE_GRACE_SECONDS, presence_check_overdue


@dataclass
class StudyResult:
    ok: bool
    code: str = "ok"
    message: str = ""
    credited_ms: int = 0
    lesson_ms: int = 0
    required_ms: int = 0
    completed: bool = False
    presence: dict | None = None
    discarded_ms: int = 0
    replay: bool = False
    identity: bool = False  # an identity check is due: nothing is credited until it passes

    def as_json(self) -> dict:
        return {
            "ok": self.ok,
            "code": self.code,
            "message": self.message,
            "credited_ms": self.credited_ms,
            "lesson_ms": self.lesson_ms,
            "required_ms": self.required_ms,
            "completed": self.completed,
            "presence": self.presence,
            "discarded_ms": self.discarded_ms,
            "replay": self.replay,
            "identity": self.identity,
        }


def _next_check_at(now: datetime) -> datetime:
    low = int(conf("LEARNING_PRESENCE_MIN_MINUTES") * 60)
    high = int(conf("LEARNING_PRESENCE_MAX_MINUTES") * 60)
    return now + timedelta(seconds=low + secrets.randbelow(max(1, high - low + 1)))


def _presence_payload(state: StudyState) -> dict:
    expires = state.check_issued_at + timedelta(seconds=conf("LEARNING_PRESENCE_ANSWER_SECONDS"))
    return {
        "id": state.checks,
        "expires_at": expires.isoformat(),
        "seconds": conf("LEARNING_PRESENCE_ANSWER_SECONDS"),
    }


def _superseded() -> StudyResult:
    return StudyResult(
        ok=False,
        code="superseded",
        message=_(
            "This study window has ended: the lesson was opened in another window or on another device. "
            "Only one place can study at a time; reload this page to study here."
        ),
    )


def _discard_pending(*, state: StudyState, now: datetime) -> int:
    """A presence check was missed: take the pending (unconfirmed) time off and mark it discarded.

    ``state`` must be locked by the caller. Returns the milliseconds discarded.
    """
    pending = StudyRecord.objects.filter(enrollment_id=state.enrollment_id, status=RecordStatus.PENDING)
    per_lesson = {
        row["lesson_id"]: (row["ms"], row["today"] or 0)
        for row in pending.values("lesson_id").annotate(
            ms=Sum("credited_ms"), today=Sum("credited_ms", filter=Q(day=state.day))
        )
    }
    total = today = 0
    for lesson_id, (ms, ms_today) in per_lesson.items():
        if not ms:
            continue
        total += ms
        today += ms_today
        required = Lesson.objects.filter(pk=lesson_id).values_list("class_hours", flat=True).first()
        required_ms = hours_to_ms(required or 0)
        LessonProgress.objects.filter(enrollment_id=state.enrollment_id, lesson_id=lesson_id).update(
            credited_ms=Greatest(F("credited_ms") - ms, 0),
            completed_at=Case(When(credited_ms__gte=required_ms + ms, then=F("completed_at")), default=None),
            updated_at=now,
        )
    pending.update(status=RecordStatus.DISCARDED, resolved_at=now, presence_check=state.checks or None)
    state.day_ms = max(0, state.day_ms - today)
    state.unconfirmed_ms = 0
    state.check_issued_at = None
    state.checks_missed += 1
    state.next_check_at = _next_check_at(now)
    state.record = None
    state.save(
        update_fields=[
            "day_ms",
            "unconfirmed_ms",
            "check_issued_at",
            "checks_missed",
            "next_check_at",
            "record",
        ]
    )
    if total and state.progress_id:
        state.progress.refresh_from_db()
    return total


def study_start(
    *,
    enrollment: Enrollment,
    lesson: Lesson,
    session_key: str = "",
    session_auth_hash: str = "",
    session_expires_at: datetime | None = None,
    now: datetime | None = None,
) -> StudyState:
    """Open a lesson for study: the enrollment's one live session moves here (any other window or
    device stops being credited), bound to the login session given (heartbeats must come with it).
    The caller has checked the lesson belongs to the plan."""
    now = now or timezone.now()
    enrollment_access_check(enrollment=enrollment, action="study", now=now)
    with transaction.atomic():
        progress, _created = LessonProgress.objects.get_or_create(
            enrollment=enrollment, lesson=lesson, defaults={"started_at": now, "updated_at": now}
        )
        state = StudyState.objects.select_for_update().filter(enrollment=enrollment).first()
        if state is None:
            state = StudyState(
                enrollment=enrollment, next_check_at=_next_check_at(now), day=timezone.localdate(now)
            )
        elif presence_check_overdue(state, now=now):
            state.progress = progress
            _discard_pending(state=state, now=now)
            progress.refresh_from_db()
        state.token = uuid.uuid4()
        state.lesson = lesson
        state.progress = progress
        state.record = None
        state.started_at = now
        state.last_seq = 0
        state.last_beat_at = now
        state.last_position = progress.video_position
        state.session_key_hash = session_key_hash(session_key) if session_key else ""
        state.session_auth_hash = session_auth_hash
        state.session_expires_at = session_expires_at
        from .identity import identity_study_next_at

        state.identity_next_at = identity_study_next_at(enrollment=enrollment, now=now)
        state.save()
    return state


def _played_ms(played, *, gap_ms: int, duration: int | None) -> tuple[int, float | None]:
    """Milliseconds of video played according to the client's ranges ``[[from, to], ...]`` (seconds),
    and the last position. Each range is clipped to the video; a seek between ranges credits nothing."""
    total = 0.0
    last = None
    if not isinstance(played, list):
        return 0, None
    for item in played[:50]:
        try:
            start, end = float(item[0]), float(item[1])
        except (TypeError, ValueError, IndexError):
            continue
        if not (start == start and end == end) or start < 0 or end <= start:  # NaN or empty
            continue
        if duration:
            start, end = min(start, duration), min(end, duration)
        total += end - start
        last = end
    return min(int(total * 1000), gap_ms), last


_BEAT_COLUMNS = (
    "s.id, s.enrollment_id, s.lesson_id, s.progress_id, s.record_id, s.last_seq, s.last_beat_at, "
    "s.last_position, s.day, s.day_ms, s.unconfirmed_ms, s.checks, s.next_check_at, s.check_issued_at, "
    "e.status, e.deadline, l.kind, l.class_hours, l.video_duration_seconds, p.credited_ms, p.completed_at, "
    "r.status, r.lesson_id, r.day, rule.daily_cap_hours, u.id, u.password, u.is_active, "
    "s.session_key_hash, s.session_auth_hash, s.session_expires_at, s.identity_next_at"
)


@dataclass
class _Beat:
    """The live session row with what a heartbeat needs from its enrollment, lesson, progress and
    record line, read in one SELECT."""

    pk: int
    enrollment_id: int
    lesson_id: int
    progress_id: int
    record_id: int | None
    last_seq: int
    last_beat_at: datetime
    last_position: float
    day: object
    day_ms: int
    unconfirmed_ms: int
    checks: int
    next_check_at: datetime
    check_issued_at: datetime | None
    status: str
    deadline: datetime
    kind: str
    class_hours: object
    duration: int | None
    credited_ms: int
    completed_at: datetime | None
    record_status: str | None
    record_lesson_id: int | None
    record_day: object
    cap_hours: object
    user_id: int
    user_password: str
    user_active: bool
    session_key_hash: str
    session_auth_hash: str
    session_expires_at: datetime | None
    identity_next_at: datetime | None = None


def _aware(value):
    if value is None or isinstance(value, str) or timezone.is_aware(value):
        return value
    return timezone.make_aware(value, UTC)


def _as_date(value):
    return date.fromisoformat(value) if isinstance(value, str) else value


def _beat_row(*, token) -> _Beat | None:
    """One SELECT (locking the session row on PostgreSQL). Raw SQL: the heartbeat is the hottest
    endpoint of the portal and the ORM's query building costs more than the query."""
    qn = connection.ops.quote_name
    tables = {
        "u": User._meta.db_table,
        "s": StudyState._meta.db_table,
        "e": Enrollment._meta.db_table,
        "l": Lesson._meta.db_table,
        "p": LessonProgress._meta.db_table,
        "r": StudyRecord._meta.db_table,
        "rule": ProgrammeStudyRule._meta.db_table,
    }
    sql = (
        f"SELECT {_BEAT_COLUMNS} FROM {qn(tables['s'])} s "  # noqa: S608 -- our own table names only
        f"JOIN {qn(tables['e'])} e ON e.id = s.enrollment_id "
        f"JOIN {qn(tables['u'])} u ON u.id = e.user_id "
        f"JOIN {qn(tables['l'])} l ON l.id = s.lesson_id "
        f"JOIN {qn(tables['p'])} p ON p.id = s.progress_id "
        f"LEFT JOIN {qn(tables['r'])} r ON r.id = s.record_id "
        f"LEFT JOIN {qn(tables['rule'])} rule ON rule.programme_id = e.programme_id "
        "WHERE s.token = %s"
    )
    if connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF s"
    if connection.vendor == "postgresql":
        # Asynchronous commit for the heartbeat's transaction (sent in the same round trip): the
        # commit does not wait for the WAL flush (+40 % heartbeats a second here). A crash can lose
        # the last fraction of a second of heartbeats, never consistency; the next heartbeat then
        # finds the older state and credits the interval again (or restarts the chain if it is
        # too long), so at most one interval of study is lost.
        # And the joins in the order written (from the session row found by its token, then one
        # primary-key lookup per table: the best plan anyway): planning a 7-table join otherwise
        # costs PostgreSQL ~0.5 ms, ten times the query itself; with the order fixed ~0.17 ms.
        # Both settings last to the end of this short transaction, whose other statements are
        # primary-key updates (and, on the rare closed-enrollment path, small lookups).
        sql = "SET LOCAL synchronous_commit TO OFF; SET LOCAL join_collapse_limit TO 1; " + sql
    token_value = StudyState._meta.get_field("token").get_db_prep_value(token, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_value])
        row = cursor.fetchone()
    if row is None:
        return None
    beat = _Beat(*row)
    for name in (
        "last_beat_at",
        "next_check_at",
        "check_issued_at",
        "deadline",
        "completed_at",
        "session_expires_at",
        "identity_next_at",
    ):
        setattr(beat, name, _aware(getattr(beat, name)))
    beat.day, beat.record_day = _as_date(beat.day), _as_date(beat.record_day)
    return beat


def session_key_hash(session_key: str) -> str:
    return hashlib.sha256(f"study:{session_key}".encode()).hexdigest()


def _session_verified(beat: _Beat, session_key: str, now: datetime) -> bool:
    """Authenticate a heartbeat without loading the login session: the session cookie must be the
    one that opened this study session, that login session must not have expired or ended (logging
    out clears the binding), and its auth hash must still match the user's password (current or
    fallback secret keys), for an active user, as ``django.contrib.auth.get_user`` checks."""
    if not (beat.user_active and session_key and beat.session_key_hash and beat.session_auth_hash):
        return False
    if not constant_time_compare(beat.session_key_hash, session_key_hash(session_key)):
        return False
    if beat.session_expires_at is None or beat.session_expires_at <= now:
        return False
    user = User(pk=beat.user_id, password=beat.user_password)
    if constant_time_compare(beat.session_auth_hash, user.get_session_auth_hash()):
        return True
    return any(
        constant_time_compare(beat.session_auth_hash, h) for h in user.get_session_auth_fallback_hash()
    )


def study_sessions_end(*, user: User) -> int:
    """The user logged out: their study sessions stop being credited (a new lesson page starts anew)."""
    return StudyState.objects.filter(enrollment__user=user).update(session_key_hash="")


def _logged_out() -> StudyResult:
    return StudyResult(ok=False, code="login", message=_("Your session has ended. Log in again."))


def study_heartbeat(
    *,
    session_key: str,
    token,
    seq: int,
    client_state: str,
    played=None,
    now: datetime | None = None,
) -> StudyResult:
    """Credit the time since the previous heartbeat of the live session (the rules: the module's
    docstring).

    A constant number of queries: one SELECT (locking the session row), one UPDATE of it, and when
    time is credited one UPDATE of the lesson progress and one of the record line (an INSERT when a
    new line starts). A repeated sequence number credits nothing. Rare turns (a closed enrollment,
    a missed presence check) cost a few more.

    ``session_key`` is the login session cookie: the heartbeat is authenticated against the login
    session that opened the study session (see :func:`_session_verified`), so the endpoint does not
    load the session row nor the user separately.
    """
    now = now or timezone.now()
    # No savepoint: nothing in here is caught and retried, and it keeps the query count constant.
    with transaction.atomic(savepoint=False):
        beat = _beat_row(token=token)
        if beat is None:
            return _superseded()
        if not _session_verified(beat, session_key, now):
            return _logged_out()
        required = hours_to_ms(beat.class_hours)
        if beat.status != EnrollmentStatus.ACTIVE or beat.deadline <= now:
            access = enrollment_access(Enrollment.objects.get(pk=beat.enrollment_id), now=now)
            if not access.can_study:
                return StudyResult(ok=False, code="closed", message=access.reason)
        if seq <= beat.last_seq:
            return StudyResult(
                ok=True,
                replay=True,
                lesson_ms=beat.credited_ms,
                required_ms=required,
                completed=beat.credited_ms >= required,
                presence=_presence_payload(beat) if beat.check_issued_at else None,
            )
        discarded = 0
        if presence_check_overdue(beat, now=now):
            state = StudyState.objects.select_related("progress").get(pk=beat.pk)
            discarded = _discard_pending(state=state, now=now)
            beat = _beat_row(token=token)
            # The chain restarts: nothing for the time the check was waiting.
            beat.last_beat_at = now
        return _heartbeat_credit(beat=beat, seq=seq, client_state=client_state, played=played, now=now,
                                 required=required, discarded=discarded)  # fmt: skip


def _heartbeat_credit(
    *, beat: _Beat, seq: int, client_state: str, played, now: datetime, required: int, discarded: int
) -> StudyResult:
    gap_ms = int((now - beat.last_beat_at).total_seconds() * 1000)
    max_gap_ms = (conf("LEARNING_HEARTBEAT_SECONDS") + conf("LEARNING_HEARTBEAT_SLACK_SECONDS")) * 1000
    credit = played_ms = 0
    daily_capped = False
    position = beat.last_position
    video = beat.kind == LessonKind.VIDEO
    if video:
        played_ms, last = _played_ms(played, gap_ms=max(gap_ms, 0), duration=beat.duration)
        if last is not None:
            position = last
    day = timezone.localdate(now)
    day_ms = beat.day_ms if beat.day == day else 0
    if client_state == "active" and 0 < gap_ms <= max_gap_ms:
        credit = played_ms if video else gap_ms
        credit = min(credit, max(0, required - beat.credited_ms))
        cap_ms = hours_to_ms(
            beat.cap_hours if beat.cap_hours is not None else conf("LEARNING_DAILY_CAP_HOURS")
        )
        room = max(0, cap_ms - day_ms)
        daily_capped = credit > room
        credit = min(credit, room)
    identity_due = beat.identity_next_at is not None and now >= beat.identity_next_at
    if identity_due:
        credit = 0  # learning.services.identity: the check confirms the time before it, then study goes on
    completed_now = credit > 0 and beat.credited_ms + credit >= required
    unconfirmed = beat.unconfirmed_ms + credit
    if beat.check_issued_at is None and unconfirmed > 0 and (now >= beat.next_check_at or completed_now):
        beat.checks += 1
        beat.check_issued_at = now
    extend_record = (
        beat.record_id is not None
        and beat.record_status == RecordStatus.PENDING
        and beat.record_lesson_id == beat.lesson_id
        and beat.record_day == day
    )
    record_id = beat.record_id
    if credit and not extend_record:
        record_id = StudyRecord.objects.create(
            enrollment_id=beat.enrollment_id,
            lesson_id=beat.lesson_id,
            source=RecordSource.HEARTBEAT,
            status=RecordStatus.PENDING,
            credited_ms=credit,
            heartbeats=1,
            started_at=now - timedelta(milliseconds=credit),
            ended_at=now,
            day=day,
        ).pk
    ops, qn = connection.ops, connection.ops.quote_name
    at = ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(StudyState._meta.db_table)} SET last_seq = %s, last_beat_at = %s, "  # noqa: S608
            "last_position = %s, day = %s, day_ms = %s, unconfirmed_ms = %s, checks = %s, "
            "check_issued_at = %s, record_id = %s WHERE id = %s AND last_seq < %s",
            [
                seq,
                at,
                position,
                ops.adapt_datefield_value(day),
                day_ms + credit,
                unconfirmed,
                beat.checks,
                ops.adapt_datetimefield_value(beat.check_issued_at),
                record_id,
                beat.pk,
                seq,
            ],
        )
        if cursor.rowcount != 1:  # a concurrent duplicate of this heartbeat got there first
            if credit and not extend_record:
                StudyRecord.objects.filter(pk=record_id).delete()
            return StudyResult(ok=True, replay=True, required_ms=required)
        if credit:
            completed_at = beat.completed_at or (now if completed_now else None)
            cursor.execute(
                f"UPDATE {qn(LessonProgress._meta.db_table)} SET credited_ms = credited_ms + %s, "  # noqa: S608
                "updated_at = %s, video_position = %s, completed_at = %s WHERE id = %s",
                [credit, at, position, ops.adapt_datetimefield_value(completed_at), beat.progress_id],
            )
            if extend_record:
                cursor.execute(
                    f"UPDATE {qn(StudyRecord._meta.db_table)} SET credited_ms = credited_ms + %s, "  # noqa: S608
                    "heartbeats = heartbeats + 1, ended_at = %s WHERE id = %s",
                    [credit, at, record_id],
                )
    lesson_ms = beat.credited_ms + credit
    result = StudyResult(
        ok=True,
        credited_ms=credit,
        lesson_ms=lesson_ms,
        required_ms=required,
        completed=lesson_ms >= required,
        presence=_presence_payload(beat) if beat.check_issued_at else None,
        discarded_ms=discarded,
        identity=identity_due,
    )
    if discarded:
        result.message = _(
            "A presence check was not answered in time: %(minutes)s minutes of study were not credited."
        ) % {"minutes": round(discarded / 60_000, 1)}
    elif credit == 0 and client_state == "active" and gap_ms > max_gap_ms:
        result.code = "restarted"
    elif identity_due:
        result.code = "identity"
        result.message = _(
            "Confirm who you are to go on: study time is credited again once the check passes."
        )
    elif daily_capped:
        result.code = "daily_cap"
        result.message = _("You have reached today's limit of credited study. Continue tomorrow.")
    return result


def presence_confirm(*, user_id: int, token, check: int, now: datetime | None = None) -> StudyResult:
    """The learner answered a presence check: confirm the pending time, or discard it if too late."""
    now = now or timezone.now()
    with transaction.atomic():
        state = (
            StudyState.objects.select_for_update(of=("self",))
            .select_related("progress", "lesson")
            .filter(token=token, enrollment__user_id=user_id)
            .first()
        )
        if state is None:
            return _superseded()
        if state.check_issued_at is None or check != state.checks:
            return StudyResult(ok=True, code="nothing_due", lesson_ms=state.progress.credited_ms)
        if presence_check_overdue(state, now=now):
            discarded = _discard_pending(state=state, now=now)
            return StudyResult(
                ok=False,
                code="missed",
                discarded_ms=discarded,
                lesson_ms=state.progress.credited_ms,
                message=_(
                    "The answer came too late: %(minutes)s minutes of study since the last check were not credited."
                )
                % {"minutes": round(discarded / 60_000, 1)},
            )
        StudyRecord.objects.filter(enrollment_id=state.enrollment_id, status=RecordStatus.PENDING).update(
            status=RecordStatus.CONFIRMED, resolved_at=now, presence_check=state.checks
        )
        state.unconfirmed_ms = 0
        state.check_issued_at = None
        state.next_check_at = _next_check_at(now)
        state.record = None
        state.save(update_fields=["unconfirmed_ms", "check_issued_at", "next_check_at", "record"])
    return StudyResult(
        ok=True, code="confirmed", lesson_ms=state.progress.credited_ms, message=_("Thank you.")
    )


def presence_overdue_sweep(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Periodic: discard the pending time of sessions whose presence check went unanswered and that
    sent nothing since (the learner left). One candidate query, then a few per such session."""
    now = now or timezone.now()
    batch_size = batch_size or conf("LEARNING_JOB_BATCH")
    limit = now - timedelta(seconds=conf("LEARNING_PRESENCE_ANSWER_SECONDS") + PRESENCE_GRACE_SECONDS)
    candidates = list(
        StudyState.objects.filter(check_issued_at__lt=limit).values_list("pk", flat=True)[:batch_size]
    )
    done = 0
    for pk in candidates:
        with transaction.atomic():
            state = StudyState.objects.select_for_update().filter(pk=pk).first()
            if state is not None and presence_check_overdue(state, now=now):
                _discard_pending(state=state, now=now)
                done += 1
    return done
