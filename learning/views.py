"""The trainee's pages: personal centre, one enrollment, and setting one's own password."""

import json
import math
import mimetypes
import uuid
from functools import wraps

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import HASH_SESSION_KEY, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from portal.files import private_file_response
from portal.forms import form_errors_apply
from portal.http import client_ip
from portal.ratelimit import ratelimit_hit
from portal.selectors import association_get

from .conf import conf
from .forms import ActivationPasswordForm, CodePasswordForm, MobileForm
from .models import LessonKind, OfflineSession, class_hour_ms
from .sanitize import lesson_html
from .selectors.accounts import access_code_by_link
from .selectors.enrollments import enrollment_access, enrollment_days_left, enrollments_for_user
from .selectors.identity import identity_enrollment_summary
from .selectors.pipeline import enrollment_pipeline, enrollments_pipeline_prefetch
from .selectors.study import (
    enrollment_lesson,
    enrollment_study_overview,
    enrollment_study_overviews,
    lesson_time_removals,
    programme_offline_sessions,
)
from .services.accounts import access_code_request, password_set_by_code, password_set_by_link
from .services.identity import exam_photo_rejected_message
from .services.offline import (
    offline_checkin_record,
    offline_checkin_window_error,
    offline_session_enrollment,
)
from .services.study import StudyResult, presence_confirm, study_heartbeat, study_start

SESSION_MOBILE = "learning_code_mobile"
# The services' field names on the password forms.
PASSWORD_FIELDS = {"password": "new_password1"}
LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _limited(scope: str, key: str | None, setting: str) -> bool:
    limit, window = conf(setting)
    return not ratelimit_hit(scope=scope, key=key or "", limit=limit, window_seconds=window)


def _rows(enrollments, now):
    overviews = enrollment_study_overviews(enrollments)
    for enrollment in enrollments:
        # Read by the "study" pipeline step (learning.apps).
        enrollment._study_overview = overviews[enrollment.pk]
    enrollments_pipeline_prefetch(enrollments)
    return [
        {
            "enrollment": enrollment,
            "access": enrollment_access(enrollment, now=now),
            "days_left": enrollment_days_left(enrollment, now=now),
            "steps": enrollment_pipeline(enrollment, now=now),
            "study": overviews[enrollment.pk],
        }
        for enrollment in enrollments
    ]


@login_required
def centre(request):
    """个人中心 with 我的项目: every enrollment and where it is along the pipeline."""
    now = timezone.now()
    rows = _rows(list(enrollments_for_user(user=request.user)), now)
    return render(request, "learning/centre.html", {"rows": rows, "contact": association_get()})


@login_required
def enrollment_detail(request, pk: int):
    now = timezone.now()
    enrollment = get_object_or_404(enrollments_for_user(user=request.user), pk=pk)
    (row,) = _rows([enrollment], now)
    context = {
        "row": row,
        "contact": association_get(),
        "study": enrollment._study_overview,
        "offline_sessions": programme_offline_sessions(enrollment.programme_id, enrollment=enrollment),
        "identity": identity_enrollment_summary(enrollment),
    }
    if context["identity"] is not None and context["identity"].rejection is not None:
        context["identity_rejection"] = exam_photo_rejected_message(
            context["identity"].rejection.review_reason
        )
    return render(request, "learning/enrollment_detail.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def offline_checkin(request, token: str):
    """The page the session's QR code opens: GET shows the session and a check-in button (no
    change), POST checks the logged-in trainee in (learning.services.offline)."""
    session = get_object_or_404(OfflineSession.objects.select_related("programme"), token=token)
    enrollment = offline_session_enrollment(session, request.user)
    checkin = None
    error = ""
    if enrollment is not None:
        checkin = enrollment.offline_checkins.filter(session=session).first()
    if request.method == "POST":
        try:
            result = offline_checkin_record(session=session, user=request.user, ip=client_ip(request))
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            if result.created:
                messages.success(
                    request,
                    _("You are checked in: %(hours)s offline class hours recorded.")
                    % {"hours": session.hours},
                )
            else:
                messages.info(request, _("You had already checked in to this session."))
            return redirect("learning:offline_checkin", token=token)
    elif checkin is None:
        if enrollment is None:
            error = _("You have no open study account in the programme of this session (%(programme)s).") % {
                "programme": session.programme
            }
        else:
            error = offline_checkin_window_error(session, now=timezone.now())
    context = {"session": session, "enrollment": enrollment, "checkin": checkin, "error": error}
    return render(
        request,
        "learning/offline_checkin.html",
        context,
        status=400 if error and request.method == "POST" else 200,
    )


def _login_and_go(request, user):
    login(request, user, backend=LOGIN_BACKEND)
    messages.success(request, _("Your password is set. You are logged in."))
    return redirect("learning:centre")


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def activate(request, token: str):
    """The one-time link from the account message: set one's own password."""
    if request.method == "POST" and _limited("link", client_ip(request), "LEARNING_RATE_VERIFY_IP"):
        return render(request, "learning/rate_limited.html", status=429)
    access = access_code_by_link(token=token)
    if access is None:
        return render(request, "learning/link_invalid.html", status=410)
    form = ActivationPasswordForm(access.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = password_set_by_link(
                token=token, password=form.cleaned_data["new_password1"], ip=client_ip(request)
            )
        except ValidationError as exc:
            form_errors_apply(form, exc, field_map=PASSWORD_FIELDS)
        else:
            return _login_and_go(request, user)
    return render(request, "learning/activate.html", {"form": form, "account": access.user})


@never_cache
@require_http_methods(["GET", "POST"])
def code_request(request):
    """Ask for a code by SMS (first password or forgotten password). Same answer for every number."""
    form = MobileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        mobile = form.cleaned_data["mobile"]
        if _limited("code-request-ip", client_ip(request), "LEARNING_RATE_CODE_REQUEST_IP") or _limited(
            "code-request-mobile", mobile, "LEARNING_RATE_CODE_REQUEST_MOBILE"
        ):
            return render(request, "learning/rate_limited.html", status=429)
        access_code_request(mobile=mobile, ip=client_ip(request))
        request.session[SESSION_MOBILE] = mobile
        messages.info(
            request,
            _(
                "If this mobile number has a study account, a code has been sent to it by SMS. "
                "It is valid for %(minutes)s minutes."
            )
            % {"minutes": conf("LEARNING_CODE_MINUTES")},
        )
        return redirect("learning:code_confirm")
    return render(request, "learning/code_request.html", {"form": form})


@never_cache
@sensitive_post_parameters("code", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def code_confirm(request):
    """Enter mobile number, the code and a new password."""
    form = CodePasswordForm(request.POST or None, initial={"mobile": request.session.get(SESSION_MOBILE, "")})
    if request.method == "POST":
        if _limited("verify-ip", client_ip(request), "LEARNING_RATE_VERIFY_IP"):
            return render(request, "learning/rate_limited.html", status=429)
        if form.is_valid():
            mobile = form.cleaned_data["mobile"]
            if _limited("verify-mobile", mobile, "LEARNING_RATE_CODE_VERIFY_MOBILE"):
                return render(request, "learning/rate_limited.html", status=429)
            try:
                user = password_set_by_code(
                    mobile=mobile,
                    code=form.cleaned_data["code"],
                    password=form.cleaned_data["new_password1"],
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                form_errors_apply(form, exc, field_map=PASSWORD_FIELDS)
            else:
                request.session.pop(SESSION_MOBILE, None)
                return _login_and_go(request, user)
    return render(request, "learning/code_confirm.html", {"form": form})


# ---------------------------------------------------------------------------------------------
# Study: the project page tasks, the lesson page, heartbeats, presence checks, lesson files


def _own_enrollment(request, pk: int):
    return get_object_or_404(enrollments_for_user(user=request.user), pk=pk)


def _own_lesson(request, pk: int, lesson_pk: int):
    enrollment = _own_enrollment(request, pk)
    lesson = enrollment_lesson(enrollment, lesson_pk)
    if lesson is None:
        raise Http404
    return enrollment, lesson


def _json_login_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse(
                {"ok": False, "code": "login", "message": _("Your session has ended. Log in again.")},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapper


def _json_body(request) -> dict | None:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


@login_required
def lesson_page(request, pk: int, lesson_pk: int):
    enrollment, lesson = _own_lesson(request, pk, lesson_pk)
    access = enrollment_access(enrollment)
    overview = enrollment_study_overview(enrollment)
    rows = overview.lessons
    index = next((i for i, row in enumerate(rows) if row.lesson.pk == lesson.pk), None)
    row = rows[index] if index is not None else None
    context = {
        "enrollment": enrollment,
        "lesson": lesson,
        "row": row,
        "overview": overview,
        "access": access,
        "previous": rows[index - 1] if index else None,
        "next": rows[index + 1] if index is not None and index + 1 < len(rows) else None,
        "body": lesson_html(lesson.body_html) if lesson.kind == LessonKind.HTML else "",
        # A video still being processed: no player, no study session (nothing to credit yet).
        "video_waiting": lesson.kind == LessonKind.VIDEO and bool(lesson.video) and not lesson.video_playable,
        "interval": conf("LEARNING_HEARTBEAT_SECONDS"),
        "idle": conf("LEARNING_IDLE_SECONDS"),
        "answer_seconds": conf("LEARNING_PRESENCE_ANSWER_SECONDS"),
        # Every removal of credited time, explained (also the ones made while the page was closed).
        "removals": lesson_time_removals(enrollment, lesson),
        "contact": association_get(),
    }
    return render(request, "learning/lesson.html", context)


@never_cache
@require_POST
@_json_login_required
def lesson_start(request, pk: int, lesson_pk: int):
    """Start (or take over) the live study session on this lesson."""
    enrollment, lesson = _own_lesson(request, pk, lesson_pk)
    try:
        state = study_start(
            enrollment=enrollment,
            lesson=lesson,
            session_key=request.session.session_key or "",
            session_auth_hash=request.session.get(HASH_SESSION_KEY, ""),
            session_expires_at=_session_expiry(request),
        )
    except PermissionDenied as exc:
        return JsonResponse({"ok": False, "code": "closed", "message": str(exc)}, status=403)
    progress = state.progress
    return JsonResponse(
        {
            "ok": True,
            "token": str(state.token),
            "position": progress.video_position,
            "lesson_ms": progress.credited_ms,
            "required_ms": lesson.required_ms,
            "completed": progress.credited_ms >= lesson.required_ms,
            "interval": conf("LEARNING_HEARTBEAT_SECONDS"),
            "class_hour_ms": class_hour_ms(),
        }
    )


def _session_expiry(request):
    """When the login session really ends (the stored expiry of a database session; else the
    session's own computation)."""
    from django.contrib.sessions.models import Session

    stored = (
        Session.objects.filter(session_key=request.session.session_key or "")
        .values_list("expire_date", flat=True)
        .first()
    )
    return stored or request.session.get_expiry_date()


def _token(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _non_finite(value, depth: int = 0) -> bool:
    """Infinity or NaN anywhere in the played ranges (JSON allows them; no browser sends them)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list) and depth < 3:
        return any(_non_finite(item, depth + 1) for item in value[:50])
    return False


@never_cache
@require_POST
def heartbeat(request):
    """JSON ``{token, seq, state: active|idle|hidden, played: [[from, to], ...]}``. The server decides
    what is credited (learning.services.study.study_heartbeat). Authenticated by the login session that
    opened the study session (its cookie), without loading the session row: see the service."""
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    if not session_key:
        return JsonResponse(StudyResult(ok=False, code="login").as_json(), status=403)
    data = _json_body(request)
    token = _token(data.get("token")) if data else None
    try:
        seq = int(data.get("seq")) if data else 0
    except (TypeError, ValueError, OverflowError):  # Infinity / NaN
        seq = 0
    client_state = data.get("state") if data else None
    if (
        token is None
        or not 1 <= seq < 2**62
        or client_state not in ("active", "idle", "hidden")
        or _non_finite(data.get("played"))
    ):
        return JsonResponse({"ok": False, "code": "bad_request", "message": _("Bad heartbeat.")}, status=400)
    result = study_heartbeat(
        session_key=session_key, token=token, seq=seq, client_state=client_state, played=data.get("played")
    )
    status = 200 if result.ok else (403 if result.code in ("closed", "login") else 409)
    return JsonResponse(result.as_json(), status=status)


@never_cache
@require_POST
@_json_login_required
def presence(request):
    """JSON ``{token, check}``: the answer to a presence check."""
    data = _json_body(request)
    token = _token(data.get("token")) if data else None
    try:
        check = int(data.get("check")) if data else 0
    except (TypeError, ValueError, OverflowError):  # Infinity / NaN
        check = 0
    if token is None or not 1 <= check < 2**31:
        return JsonResponse({"ok": False, "code": "bad_request", "message": _("Bad request.")}, status=400)
    result = presence_confirm(user_id=request.user.pk, token=token, check=check)
    status = 200 if result.ok or result.code == "missed" else 409
    return JsonResponse(result.as_json(), status=status)


@login_required
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": ["'self'"]})
def lesson_media(request, pk: int, lesson_pk: int, kind: str):
    """The lesson's video (its phone version), poster or PDF, with range requests; only for the trainee
    whose plan has it."""
    enrollment, lesson = _own_lesson(request, pk, lesson_pk)
    if not enrollment_access(enrollment).can_study and enrollment.status != "passed":
        raise Http404
    # Videos: the phone version once processed (nothing while processing); its poster image.
    field = {
        "video": lesson.video_file,
        "poster": lesson.video_poster if lesson.video_playable else None,
        "document": lesson.document,
    }.get(kind)
    if not field:
        raise Http404
    content_type = {"document": "application/pdf", "poster": "image/jpeg"}.get(kind) or (
        mimetypes.guess_type(field.name)[0] or "video/mp4"
    )
    return private_file_response(
        request, field, content_type=content_type, cache_control="private, max-age=3600"
    )
