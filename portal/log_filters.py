"""Keep secrets and personal data out of error reports and logs.

* :class:`PortalExceptionReporterFilter` (``DEFAULT_EXCEPTION_REPORTER_FILTER``): error reports
  (the debug page, e-mails to ``ADMINS``) hide every POST field and every local variable whose
  name says password, token, code, key, secret or ID number, in every frame - not only in the
  views decorated with ``sensitive_variables`` / ``sensitive_post_parameters``.
* :class:`SmsRedactFilter`: the console SMS backend logs each message; in production that would
  put one-time codes and password links into the logs, so the production settings attach this
  filter to the ``portal.sms`` logger (the number is masked, the text replaced by its length).
"""

import logging
import re

from django.views.debug import SafeExceptionReporterFilter

SENSITIVE_NAME = re.compile(
    r"pass|pwd|token|secret|signature|key|code|otp|id_number|id_front|id_back|csrf|cookie|session",
    re.I,
)


class PortalExceptionReporterFilter(SafeExceptionReporterFilter):
    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if request is None or not self.is_active(request):
            return parameters
        cleansed = parameters.copy()
        for name in cleansed:
            if SENSITIVE_NAME.search(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if not self.is_active(request):
            return variables
        return [
            (name, self.cleansed_substitute if SENSITIVE_NAME.search(name) else value)
            for name, value in variables
        ]


class SmsRedactFilter(logging.Filter):
    """``SMS to <mobile>: <text>`` becomes ``SMS to 137****0001: [38 characters not logged]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 2:
            mobile, text = (str(arg) for arg in record.args)
            masked = mobile[:3] + "****" + mobile[-4:] if len(mobile) >= 8 else "****"
            record.args = (masked, f"[{len(text)} characters not logged]")
        else:
            record.msg, record.args = "SMS sent (text not logged)", ()
        return True
