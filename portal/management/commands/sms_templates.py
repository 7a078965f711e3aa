"""Print the SMS templates to register with the provider, with this site's address filled in."""

from django.core.management.base import BaseCommand

from portal.messaging.kinds import sms_kinds


class Command(BaseCommand):
    help = (
        "List the SMS templates to register with the provider: kind, type, text, variables, configured code."
    )

    def add_arguments(self, parser):
        parser.add_argument("--provider", choices=["aliyun", "tencent"], default="aliyun")

    def handle(self, *args, provider: str, **options):
        for kind in sms_kinds():
            text = kind.tencent_text() if provider == "tencent" else kind.text()
            variables = ", ".join(
                f"{{{index}}}={name}" if provider == "tencent" else name
                for index, name in enumerate(kind.variables, start=1)
            )
            self.stdout.write(
                f"{kind.name}\t{'验证码' if kind.code_template else '短信通知'}\t{text}\t"
                f"{variables}\t{kind.template_code() or '(SMS_TEMPLATES not set)'}"
            )
