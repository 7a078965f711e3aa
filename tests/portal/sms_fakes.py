"""Local stand-ins for the Alibaba Cloud and Tencent Cloud SMS APIs, for the provider tests.

Each is a threading HTTP server on a free loopback port that checks every request's signature
the way the provider documents it (written from the documentation, not from the SDKs' signers):

* Alibaba Cloud, signature V3 ("V3版本请求体&签名机制"): ``Authorization: ACS3-HMAC-SHA256
  Credential=<AccessKeyId>,SignedHeaders=<names>,Signature=<hex>``; the canonical request is the
  method, the URL-encoded path, the canonical query string (names and values percent-encoded per
  RFC 3986, sorted by name), the signed headers as ``name:value\\n`` (lower-case names, trimmed
  values, sorted; ``host``, ``content-type`` and every ``x-acs-*`` header present must be signed),
  the signed header names joined by ``;`` and the hex SHA-256 of the body (which must equal
  ``x-acs-content-sha256``); the string to sign is ``ACS3-HMAC-SHA256\\n`` + hex SHA-256 of the
  canonical request; the signature is the hex HMAC-SHA256 of it with the AccessKey secret.
* Tencent Cloud, TC3-HMAC-SHA256 ("签名方法 v3"): ``Authorization: TC3-HMAC-SHA256
  Credential=<SecretId>/<date>/<service>/tc3_request, SignedHeaders=<names>, Signature=<hex>``;
  the canonical request is the method, ``/``, the query string, the signed headers as
  ``name:value\\n`` (names and values lower-case, trimmed), the signed header names and the hex
  SHA-256 of the payload; the string to sign is ``TC3-HMAC-SHA256\\n<X-TC-Timestamp>\\n
  <date>/<service>/tc3_request\\n<hex SHA-256 of the canonical request>``; the key is derived as
  HMAC("TC3" + SecretKey, date) → service → "tc3_request"; the date is the UTC date of the
  timestamp, which must be within 5 minutes of now.

They answer with the providers' success and error shapes. ``script`` holds the answers to give,
in order (each ``("ok",)`` or an error), then ``("ok",)`` for ever; ``accepted`` lists the API
parameters of every request whose signature verified; ``raw`` every request as it came.
"""

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote_plus, urlsplit

# Sample values for every variable of every message kind (Chinese where a person would see it).
SAMPLE_VALUES = {
    "reference": "2026A0042",
    "count": "3",
    "total": "1,350.00",
    "link": "registration/a2/Zq0rX7c1Jm4QbW9sTtUe2vYp8HnK3dLf6AaGhCxRiSo/",
    "name": "张三𠮷",
    "programme": "2026年度安全生产管理人员培训",
    "fee": "450.00",
    "reason": "身份证照片不清晰",
    "amount": "1,350.00",
    "number": "AQ2026000123",
    "hours": "72",
    "deadline": "2027-01-05 18:00",
    "code": "608213",
    "days": "7",
    "due": "2027-01-15",
    "courier": "顺丰速运",
    "tracking": "SF1234567890123",
}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


def _hex_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _percent(value: str) -> str:
    """RFC 3986 percent-encoding (``A-Z a-z 0-9 - _ . ~`` kept; space %20, ``*`` %2A)."""
    return quote(value, safe="-_.~", encoding="utf-8")


def _authorization_fields(value: str, algorithm: str) -> dict[str, str] | None:
    if not value.startswith(algorithm + " "):
        return None
    fields = {}
    for part in value[len(algorithm) + 1 :].split(","):
        name, _sep, content = part.strip().partition("=")
        fields[name] = content
    return fields if {"Credential", "SignedHeaders", "Signature"} <= set(fields) else None


# ---------------------------------------------------------------------------------------------
# Alibaba Cloud


def aliyun_verify(request: Request, secrets: dict[str, str]) -> str | None:
    """``None`` when the V3 signature of ``request`` is right, else the error code Alibaba gives."""
    fields = _authorization_fields(request.headers.get("authorization", ""), "ACS3-HMAC-SHA256")
    if fields is None:
        return "IncompleteSignature"
    secret = secrets.get(fields["Credential"])
    if secret is None:
        return "InvalidAccessKeyId.NotFound"
    signed = fields["SignedHeaders"].split(";")
    must_sign = {
        "host",
        "x-acs-action",
        "x-acs-content-sha256",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-version",
    }
    present = {
        name for name in request.headers if name.startswith("x-acs-") or name in ("host", "content-type")
    }
    if signed != sorted(signed) or not must_sign <= set(signed) or not present <= set(signed):
        return "IncompleteSignature"
    if request.headers.get("x-acs-content-sha256") != _hex_sha256(request.body):
        return "SignatureDoesNotMatch"
    sent_at = datetime.strptime(request.headers["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    if abs((datetime.now(UTC) - sent_at).total_seconds()) > 15 * 60:
        return "InvalidTimeStamp.Expired"
    url = urlsplit(request.path)
    pairs = [  # the query as any HTTP server reads it ("+" is a space), then encoded per RFC 3986
        (unquote_plus(name), unquote_plus(value))
        for name, _sep, value in (item.partition("=") for item in url.query.split("&") if item)
    ]
    query = "&".join(
        f"{name}={value}"
        for name, value in sorted((_percent(name), _percent(value)) for name, value in pairs)
    )
    canonical = "\n".join(
        [
            request.method,
            quote(url.path or "/", safe="/~"),
            query,
            "".join(f"{name}:{request.headers.get(name, '').strip()}\n" for name in signed),
            ";".join(signed),
            request.headers["x-acs-content-sha256"],
        ]
    )
    string_to_sign = "ACS3-HMAC-SHA256\n" + _hex_sha256(canonical.encode("utf-8"))
    expected = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, fields["Signature"]) else "SignatureDoesNotMatch"


def aliyun_answer(request: Request, step: tuple, *, verified_error: str | None) -> tuple[int, dict]:
    request_id = str(uuid.uuid4()).upper()
    if verified_error:
        return 400 if verified_error != "InvalidAccessKeyId.NotFound" else 404, {
            "RequestId": request_id,
            "HostId": "dysmsapi.aliyuncs.com",
            "Code": verified_error,
            "Message": "Specified signature does not match our calculation.",
        }
    if step[0] == "ok":
        return 200, {
            "Code": "OK",
            "Message": "OK",
            "BizId": f"9006197469364984^{uuid.uuid4().int % 10**10}",
            "RequestId": request_id,
        }
    if step[0] == "business":  # SendSms' own errors: HTTP 200 with another Code
        return 200, {"Code": step[1], "Message": step[2], "RequestId": request_id}
    if step[0] == "http":  # the gateway's errors: 4xx / 5xx
        return step[1], {
            "RequestId": request_id,
            "HostId": "dysmsapi.aliyuncs.com",
            "Code": step[2],
            "Message": step[3],
        }
    raise AssertionError(step)


# ---------------------------------------------------------------------------------------------
# Tencent Cloud


def tencent_verify(request: Request, secrets: dict[str, str], *, service: str = "sms") -> str | None:
    """``None`` when the TC3-HMAC-SHA256 signature of ``request`` is right, else Tencent's error code."""
    fields = _authorization_fields(request.headers.get("authorization", ""), "TC3-HMAC-SHA256")
    if fields is None:
        return "AuthFailure.InvalidAuthorization"
    secret_id, date, scope_service, terminator = (fields["Credential"].split("/") + ["", "", "", ""])[:4]
    secret = secrets.get(secret_id)
    if secret is None:
        return "AuthFailure.SecretIdNotFound"
    timestamp = int(request.headers.get("x-tc-timestamp", "0") or 0)
    if abs(time.time() - timestamp) > 5 * 60:
        return "AuthFailure.SignatureExpire"
    if (
        terminator != "tc3_request"
        or scope_service != service
        or date != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    ):
        return "AuthFailure.SignatureFailure"
    signed = [name.strip() for name in fields["SignedHeaders"].split(";")]
    if not {"content-type", "host"} <= set(signed):
        return "AuthFailure.SignatureFailure"
    url = urlsplit(request.path)
    canonical = "\n".join(
        [
            request.method,
            url.path or "/",
            url.query,
            "".join(f"{name}:{request.headers.get(name, '').strip().lower()}\n" for name in signed),
            ";".join(signed),
            _hex_sha256(request.body),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{_hex_sha256(canonical.encode('utf-8'))}"
    key = _hmac(_hmac(_hmac(("TC3" + secret).encode("utf-8"), date), service), "tc3_request")
    expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, fields["Signature"]) else "AuthFailure.SignatureFailure"


def tencent_answer(request: Request, step: tuple, *, verified_error: str | None) -> tuple[int, dict]:
    request_id = str(uuid.uuid4())
    if verified_error:
        step = ("error", verified_error, "The provided credentials could not be validated.")
    if step[0] == "error":  # request-level failure: still HTTP 200
        return 200, {"Response": {"Error": {"Code": step[1], "Message": step[2]}, "RequestId": request_id}}
    payload = json.loads(request.body)
    number = payload["PhoneNumberSet"][0]
    status = {
        "SerialNo": f"5000:{uuid.uuid4().int % 10**28}",
        "PhoneNumber": number,
        "Fee": 1,
        "SessionContext": payload.get("SessionContext", ""),
        "Code": "Ok",
        "Message": "send success",
        "IsoCode": "CN",
    }
    if step[0] == "status":  # one number refused: its own Code in SendStatusSet
        status.update(SerialNo="", Fee=0, Code=step[1], Message=step[2])
    return 200, {"Response": {"SendStatusSet": [status], "RequestId": request_id}}


# ---------------------------------------------------------------------------------------------
# The server


class FakeProvider:
    def __init__(self, provider: str, secrets: dict[str, str]):
        self.provider = provider
        self.secrets = secrets
        self.script: deque[tuple] = deque()
        self.accepted: list[dict] = []
        self.raw: list[Request] = []
        self.rejected: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Request(
                    method="POST",
                    path=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                )
                status, payload = fake.handle(request)
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Date", formatdate(usegmt=True))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args):  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def handle(self, request: Request) -> tuple[int, dict]:
        self.raw.append(request)
        step = self.script.popleft() if self.script else ("ok",)
        if self.provider == "aliyun":
            error = aliyun_verify(request, self.secrets)
            if error is None:
                if (
                    request.headers.get("x-acs-action") != "SendSms"
                    or request.headers.get("x-acs-version") != "2017-05-25"
                ):
                    error = "InvalidAction.NotFound"
                else:
                    self.accepted.append(
                        dict(parse_qsl(urlsplit(request.path).query, keep_blank_values=True))
                    )
            answer = aliyun_answer(request, step, verified_error=error)
        else:
            error = tencent_verify(request, self.secrets)
            if error is None:
                if (
                    request.headers.get("x-tc-action") != "SendSms"
                    or request.headers.get("x-tc-version") != "2021-01-11"
                ):
                    error = "InvalidAction"
                else:
                    self.accepted.append(json.loads(request.body))
            answer = tencent_answer(request, step, verified_error=error)
        if error:
            self.rejected.append(error)
        return answer

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
