"""The trainee's identity-check page (issue #23; services: learning.services.identity).

``enrollments/<pk>/identity/``: the choice between face comparison (with its consent text) and the
SMS-code alternative, then the check itself: the camera (``static/learning/identity.js`` takes two
frames a second apart and posts them; the worker compares; the page polls) or the code sent by SMS.
The lesson page sends the trainee here when a heartbeat answers ``identity`` and back afterwards.
"""

import base64
import binascii
import json
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from portal.http import client_ip
from portal.ratelimit import ratelimit_hit
from registration.consents import consent_text
from registration.models import ConsentKind

from .models import Enrollment, IdentityCheck, IdentityContext, IdentityDecision, IdentityMethod
from .selectors.identity import identity_answer_seconds, identity_method, identity_mode
from .services import identity

MAX_FRAME_BYTES = identity.SNAPSHOT_MAX_INPUT_BYTES
CAPTURES_PER_HOUR = 30  # each capture costs the worker ~0.4 s of CPU


def _own_enrollment(request, pk: int) -> Enrollment:
    return get_object_or_404(
        Enrollment.objects.select_related("trainee", "programme"), pk=pk, user=request.user
    )


def _own_check(request, pk: int) -> IdentityCheck:
    return get_object_or_404(IdentityCheck, pk=pk, enrollment__user=request.user)


def _next_url(request, enrollment: Enrollment) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("learning:enrollment_detail", args=[enrollment.pk])


def _attempt_id(request) -> int | None:
    """The running exam attempt the check is for (``?attempt=``: recorded with the check)."""
    value = request.GET.get("attempt", "")
    return int(value) if value.isdigit() and len(value) < 18 else None


def _status(check: IdentityCheck) -> dict:
    passed = check.decision in (IdentityDecision.PASSED, IdentityDecision.STAFF_APPROVED)
    return {
        "ok": True,
        "id": check.pk,
        "method": check.method,
        "decision": check.decision,
        "passed": passed,
        "waiting": check.decision == IdentityDecision.PENDING,
        "review": check.review_requested_at is not None,
        "photo": bool(check.snapshot) if check.method == IdentityMethod.SMS_CODE else None,
        "message": ""
        if passed or check.decision == IdentityDecision.PENDING
        else identity.failure_message(check.failure),
    }


@never_cache
@login_required
def identity_page(request, pk: int):
    """GET: the choice or the check; POST ``method``: the choice (face comparison records the consent)."""
    enrollment = _own_enrollment(request, pk)
    mode = identity_mode(enrollment)
    if mode == "none":
        raise Http404
    next_url = _next_url(request, enrollment)
    if request.method == "POST":
        try:
            identity.identity_method_choose(
                enrollment=enrollment, method=request.POST.get("method", ""), ip=client_ip(request)
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        query = urlencode(
            {"next": next_url, **({"context": "exam"} if request.GET.get("context") == "exam" else {})}
        )
        return redirect(f"{reverse('learning:identity', args=[enrollment.pk])}?{query}")
    method = identity_method(enrollment)
    return render(
        request,
        "learning/identity.html",
        {
            "enrollment": enrollment,
            "mode": mode,
            "method": method,
            "choose": mode == "face",
            "consent_text": consent_text(ConsentKind.FACE_RECOGNITION),
            "next_url": next_url,
            "answer_seconds": identity_answer_seconds(),
            "methods": IdentityMethod,
            "exam": request.GET.get("context") == "exam",
            "attempt_id": _attempt_id(request),
            "change": mode == "face" and request.GET.get("change") == "1",
        },
    )


@never_cache
@require_POST
@login_required
def identity_start(request, pk: int):
    """Ask a check now (``?context=exam``: the exam's, else a study check; the open one if any):
    ``{id, method, ...}`` or why not."""
    enrollment = _own_enrollment(request, pk)
    context = IdentityContext.EXAM if request.GET.get("context") == "exam" else IdentityContext.STUDY
    try:
        check = identity.identity_check_request(
            enrollment=enrollment,
            context=context,
            exam_attempt_id=_attempt_id(request) if context == "exam" else None,
        )
    except ValidationError as exc:
        return JsonResponse({"ok": False, "code": exc.code, "message": " ".join(exc.messages)}, status=409)
    if check is None:
        raise Http404
    return JsonResponse(_status(check))


def _json_body(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _data_url_bytes(value) -> bytes | None:
    """The bytes of a ``data:image/jpeg;base64,...`` URL (a canvas frame), or ``None``."""
    if not isinstance(value, str) or not value.startswith("data:image/") or "," not in value:
        return None
    if len(value) > MAX_FRAME_BYTES * 4 // 3 + 100:
        return None
    try:
        return base64.b64decode(value.split(",", 1)[1], validate=True)
    except (ValueError, binascii.Error):
        return None


@never_cache
@require_POST
@login_required
def identity_capture(request, pk: int):
    """JSON ``{first, second}``: the two camera frames (data URLs) of a pending face check; for an exam
    check answered by SMS code ``{first}`` alone, the photo staff review (no comparison)."""
    check = _own_check(request, pk)
    if not ratelimit_hit(
        scope="identity_capture", key=str(request.user.pk), limit=CAPTURES_PER_HOUR, window_seconds=3600
    ):
        return JsonResponse({"ok": False, "code": "rate_limited", "message": identity.failure_message("rate_limited")},
                            status=429)  # fmt: skip
    data = _json_body(request)
    if check.method == IdentityMethod.SMS_CODE:
        photo = _data_url_bytes(data.get("first"))
        if not photo:
            return JsonResponse({"ok": False, "code": "bad_request", "message": identity.failure_message("bad_image")},
                                status=400)  # fmt: skip
        try:
            check = identity.identity_exam_photo_submit(check=check, user_id=request.user.pk, photo=photo)
        except ValidationError as exc:
            return JsonResponse(
                {"ok": False, "code": exc.code, "message": " ".join(exc.messages)}, status=409
            )
        return JsonResponse(_status(check), status=202)
    frames = [_data_url_bytes(data.get("first")), _data_url_bytes(data.get("second"))]
    if any(not frame for frame in frames):
        return JsonResponse({"ok": False, "code": "bad_request", "message": identity.failure_message("bad_image")},
                            status=400)  # fmt: skip
    try:
        check = identity.identity_snapshot_submit(
            check=check, user_id=request.user.pk, first=frames[0], second=frames[1]
        )
    except ValidationError as exc:
        return JsonResponse({"ok": False, "code": exc.code, "message": " ".join(exc.messages)}, status=409)
    return JsonResponse(_status(check), status=202)


@never_cache
@require_GET
@login_required
def identity_status(request, pk: int):
    """The check's decision (the page polls it while the worker compares)."""
    return JsonResponse(_status(_own_check(request, pk)))


@never_cache
@require_POST
@login_required
def identity_code(request, pk: int):
    """JSON ``{code}``: the code of a pending SMS check."""
    check = _own_check(request, pk)
    code = str(_json_body(request).get("code") or "")[:12]
    try:
        check = identity.identity_code_confirm(check=check, user_id=request.user.pk, code=code)
    except ValidationError as exc:
        return JsonResponse({"ok": False, "code": exc.code, "message": " ".join(exc.messages)}, status=409)
    return JsonResponse(_status(check))
