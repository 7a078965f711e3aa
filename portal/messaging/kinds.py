"""The kinds of message the portal sends, each with the SMS template registered with the provider.

Chinese SMS providers send no free text: every SMS names a signature (签名, ``SMS_SIGN_NAME``) and
a template (模板) approved by the provider, filled with variables. :data:`KINDS` lists every kind:

* ``name``: the stable name, used in ``SMS_TEMPLATES`` (kind → the provider's template code), in
  the per-kind variable ``SMS_TEMPLATE_<NAME>`` and on each :class:`portal.models.OutboundMessage`;
* ``sms``: the template text as it is registered (Alibaba Cloud's ``${variable}`` style). Tencent
  Cloud's templates number their variables (``{1}``, ``{2}``...): :meth:`MessageKind.tencent_text`
  gives the same text numbered in the order the variables appear, the order the Tencent backend
  sends them in. ``{site}`` stands for ``PORTAL_SITE_URL``: the providers want a link's address
  written in the template, so link variables (``link``) hold only the path after it;
* ``code_template``: a verification-code template (验证码 type: one variable, no link);
* an empty ``sms``: the kind goes by e-mail only.

The console and locmem backends render the text from the template (:meth:`MessageKind.render`),
so development logs and tests see exactly what the provider would send.
``python manage.py sms_templates`` prints the templates to register, with the real site address.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

VARIABLE = re.compile(r"\$\{([A-Za-z][A-Za-z0-9_]*)\}")
SITE = "{site}"


@dataclass(frozen=True)
class MessageKind:
    name: str
    label: str | Promise
    sms: str = ""
    code_template: bool = False

    @property
    def variables(self) -> tuple[str, ...]:
        """The template's variables in the order they appear (Tencent's ``{1}``, ``{2}``...)."""
        return tuple(VARIABLE.findall(self.sms))

    @property
    def setting(self) -> str:
        """The environment variable that may hold this kind's template code."""
        return f"SMS_TEMPLATE_{self.name.upper()}"

    def template_code(self) -> str:
        """The provider's code of this kind's template (``""`` when none is configured)."""
        return str((getattr(settings, "SMS_TEMPLATES", None) or {}).get(self.name, "") or "")

    def text(self, *, site: str | None = None) -> str:
        """The template as registered with Alibaba Cloud, ``{site}`` replaced by the site address."""
        return self.sms.replace(SITE, _site() if site is None else site)

    def tencent_text(self, *, site: str | None = None) -> str:
        """The template as registered with Tencent Cloud: variables numbered ``{1}``, ``{2}``..."""
        numbers = {name: index for index, name in enumerate(self.variables, start=1)}
        return VARIABLE.sub(lambda match: f"{{{numbers[match.group(1)]}}}", self.text(site=site))

    def params_check(self, params: dict) -> dict[str, str]:
        """``params`` as the provider gets them (every value a string); a missing or unknown
        variable is a programming error."""
        given, wanted = set(params), set(self.variables)
        if given != wanted:
            raise ValueError(
                f"Message kind {self.name!r} takes {sorted(wanted)}; got {sorted(given)} "
                f"(missing {sorted(wanted - given)}, unknown {sorted(given - wanted)})."
            )
        return {key: str(params[key]) for key in self.variables}

    def positional(self, params: dict) -> list[str]:
        """Tencent's ``TemplateParamSet``: the values in the template's variable order."""
        return [str(params[name]) for name in self.variables]

    def render(self, params: dict) -> str:
        """The SMS as the recipient reads it (without the signature)."""
        return VARIABLE.sub(lambda match: str(params[match.group(1)]), self.text())


def _site() -> str:
    return settings.PORTAL_SITE_URL.rstrip("/")


def link_param(url: str) -> str:
    """A link variable's value: the part of ``url`` after ``PORTAL_SITE_URL/`` (the address itself
    is written in the template)."""
    prefix = _site() + "/"
    if not url.startswith(prefix):
        raise ValueError("A link sent by SMS must point at PORTAL_SITE_URL.")
    return url[len(prefix) :]


KINDS: dict[str, MessageKind] = {
    kind.name: kind
    for kind in [
        # Sign-up (registration)
        MessageKind(
            "application_received",
            _("Registration received (to the contact)"),
            "报名${reference}已收到，共${count}人，应缴培训费${total}元。报名详情和进度：{site}/${link}",
        ),
        MessageKind(
            "attachment2_link",
            _("Information form link (to the trainee)"),
            "${name}，您已报名${programme}（${reference}），请打开{site}/${link} 填写信息采集表并上传照片和身份证。",
        ),
        # A sign-up refused because the person is registered already (registration): told to the
        # registered person only (their own mobile number on file), never to what the visitor typed.
        MessageKind(
            "registration_duplicate",
            _("Registered again with the same ID number (to the trainee)"),
            "${name}，刚才有人使用您的身份证号码再次提交了${programme}的报名。您已报名（${reference}），"
            "因此未重复登记。您的报名：{site}/${link} 如非您本人操作，无需处理。",
        ),
        MessageKind(
            "registration_duplicate_mobile",
            _("Registered with a mobile number in use (to its owner)"),
            "刚才有人使用本手机号码提交了${programme}的报名。该号码已被本培训项目的一项报名使用，因此新的报名"
            "未被受理：每位学员须使用本人的手机号码报名。如非您本人操作，无需处理。",
        ),
        # Unit account (registration.services.units): log-in, linking an application, link recovery
        MessageKind(
            "unit_login_code",
            _("Unit account code (to the unit's contact)"),
            "您正在登录单位报名账户，验证码${code}，10分钟内有效，请勿告诉他人。如非本人操作，请忽略本短信。",
            code_template=True,
        ),
        # Review (registration)
        MessageKind(
            "registration_approved_contact",
            _("Registration approved (to the contact)"),
            "${name}（${reference}）的报名已审核通过，应缴培训费${fee}元，缴费方式：{site}/${link}",
        ),
        MessageKind(
            "registration_approved",
            _("Registration approved (to the trainee)"),
            "${name}，您报名的${programme}已审核通过，缴费后将为您开通学习账号。",
        ),
        MessageKind(
            "registration_returned_contact",
            _("Registration returned (to the contact)"),
            "${name}（${reference}）的报名被退回修改，原因：${reason}。学员修改地址：{site}/${link}",
        ),
        MessageKind(
            "registration_returned",
            _("Registration returned (to the trainee)"),
            "${name}，您的报名被退回修改，原因：${reason}。请打开{site}/${link} 修改信息采集表。",
        ),
        MessageKind(
            "registration_rejected_contact",
            _("Registration rejected (to the contact)"),
            "${name}（${reference}）的报名未通过审核，原因：${reason}。",
        ),
        MessageKind(
            "registration_rejected",
            _("Registration rejected (to the trainee)"),
            "${name}，您报名的${programme}未通过审核，原因：${reason}。",
        ),
        MessageKind(
            "registration_withdrawn_contact",
            _("Registration withdrawn (to the contact)"),
            "${name}（${reference}）的报名已撤回。",
        ),
        MessageKind(
            "registration_withdrawn",
            _("Registration withdrawn (to the trainee)"),
            "${name}，您报名的${programme}已撤回。",
        ),
        # Payment (payments)
        MessageKind(
            "payment_confirmed",
            _("Payment confirmed"),
            "报名${reference}的培训费${amount}元已确认收到，学员的学习账号将在2日内开通。",
        ),
        MessageKind(
            "payment_rejected",
            _("Payment not confirmed"),
            "报名${reference}的缴费${amount}元未能确认，原因：${reason}。详情：{site}/${link}",
        ),
        MessageKind(
            "invoice_issued",
            _("E-invoice issued"),
            "培训费电子发票${number}已开具，已发送至您填写的电子邮箱。",
        ),
        MessageKind("invoice_deadlines_digest", _("Invoices to issue (to finance)")),
        MessageKind("staff_digest", _("Staff digest (new applications, payments, problems)")),
        # Study account (learning)
        MessageKind(
            "account_opened",
            _("Study account opened (set a password)"),
            "${name}，您的${programme}学习账号已开通，登录名为本人手机号。请在${hours}小时内打开{site}/${link} "
            "设置密码，并于${deadline}前完成学习和考试。",
        ),
        MessageKind(
            "account_opened_existing",
            _("Study account opened (existing password)"),
            "${name}，您的${programme}学习账号已开通，请用本人手机号和原密码登录{site}/learning/ ，"
            "并于${deadline}前完成学习和考试。",
        ),
        MessageKind(
            "password_code",
            _("Password code"),
            "您正在设置学习账号密码，验证码${code}，请勿告诉他人。如非本人操作，请忽略本短信。",
            code_template=True,
        ),
        # Identity checks (issue #23): the alternative to face comparison, a code to the own mobile.
        MessageKind(
            "identity_code",
            _("Identity check code (to the trainee)"),
            "您正在进行学习身份核验，验证码${code}，3分钟内有效，请勿告诉他人。如非本人操作，请忽略本短信。",
            code_template=True,
        ),
        MessageKind(
            "exam_pass_annulled",
            _("Exam pass annulled (exam photo rejected)"),
            "${name}，您的${programme}考试成绩因考场照片未通过身份审核已被取消，原因：${reason}。"
            "如有补考机会可重新参加考试。{site}/learning/",
        ),
        MessageKind(
            "study_deadline_reminder",
            _("Study deadline reminder"),
            "${name}，您的${programme}学习和考试将于${deadline}截止，还剩${days}天，逾期账号作废且不退费。"
            "{site}/learning/",
        ),
        MessageKind(
            "enrollment_expired",
            _("Study account void (deadline passed)"),
            "${name}，您的${programme}学习期限已过且未通过考试，学习账号已作废。",
        ),
        # Certificates
        MessageKind(
            "certificate_issued",
            _("Certificate issued"),
            "您的培训证书${number}已核发，可在个人中心下载，纸质证书将于${due}前寄出。",
        ),
        MessageKind(
            "certificate_mailed",
            _("Certificate mailed (tracking number)"),
            "您的培训证书${number}已由${courier}寄出，运单号${tracking}（到付）。",
        ),
        # Refresher invitations (certificates): once per holder and programme, with an opt-out link.
        MessageKind(
            "refresher_invitation",
            _("Refresher training invitation (to the certificate holder)"),
            "${name}，您的培训证书${number}应于${due}前复训，${programme}已开放报名。登录{site}/learning/ "
            "可一键报名复训。不再接收复训提醒：{site}/${link}",
        ),
        MessageKind(
            "refresher_invitation_contact",
            _("Refresher training invitation (to the unit's contacts)"),
            "贵单位有${count}名持证人员需参加复训，${programme}已开放报名。查看人员并一键报名："
            "{site}/registration/unit-account/people/",
        ),
    ]
}


def kind_get(name: str) -> MessageKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ImproperlyConfigured(f"Unknown message kind {name!r} (portal.messaging.kinds.KINDS).") from None


def sms_kinds() -> list[MessageKind]:
    """The kinds sent by SMS: each needs a template registered with the provider."""
    return [kind for kind in KINDS.values() if kind.sms]
