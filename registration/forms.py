"""Forms of attachment 1 (the unit's or the person's registration with the roster) and attachment 2.

The forms collect the input and check only what the field type says (required, length, e-mail
address, a choice from the list). Every rule and its message belongs to the services: each form's
``clean`` shows the service's own checks (:func:`registration.services.applications.applicant_check`,
:func:`~registration.services.applications.roster_row_check`,
:func:`~registration.services.applications.roster_duplicates_check`,
:func:`registration.services.attachment2.attachment2_check`), so the person sees every problem at
once, and the views show what the services find on submit through
:func:`portal.forms.form_errors_apply` (never whether a person or mobile is registered already).
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.forms import form_errors_apply

from . import documents
from .consents import (
    ATTACHMENT1_CONSENTS,
    ATTACHMENT2_CONSENTS,
    consent_field_name,
    consent_missing_message,
    consent_text,
)
from .models import CertificateType, ConsentGiver, ConsentKind, Education, TrainingCategory
from .roster_card import RosterCardMixin
from .services.applications import (
    MAX_ROSTER_ROWS,
    applicant_check,
    application_outside_area,
    roster_duplicates_check,
    roster_row_check,
    roster_size_check,
)
from .services.attachment2 import ATTACHMENT2_FILES, SAFETY_YEARS_MAX, attachment2_check
from .validators import (
    HIGH_RISK_INDUSTRIES,
    HIGH_RISK_MESSAGE,
    INDUSTRY_CHOICES,
    uscc_area_name,
    uscc_validate,
)

ROSTER_PREFIX = "roster"
ROSTER_FIELDS = (
    "name",
    "id_number",
    "mobile",
    "email",
    "certificate_type",
    "training_category",
    "previous_certificate_no",
)
APPLICANT_FIELDS = (
    "kind",
    "unit_name",
    "industry",
    "contact_name",
    "contact_phone",
    "contact_email",
    "mail_recipient",
    "mail_phone",
    "mail_address",
    "invoice_title",
    "invoice_tax_id",
    "invoice_email",
)


#: Any image: WeChat's browser (and some Android ones) offer the camera and the gallery only for
#: ``image/*``; the file is judged by its content (JPEG or PNG) in :mod:`registration.documents`.
PHOTO_ACCEPT = "image/*"


def _blank_choice(choices, label=None):
    return [("", label or _("— choose —")), *list(choices)]


def _rule_errors_show(form: forms.BaseForm, error: ValidationError, *, field_map=None, skip=()) -> None:
    """Show the messages of a service's check on ``form``, except on the fields the form's own
    field checks refused already (an empty field is reported once) and on ``skip``."""
    field_map = field_map or {}
    shown = {
        name: messages
        for name, messages in error.message_dict.items()
        if field_map.get(name, name) not in form.errors and field_map.get(name, name) not in skip
    }
    if shown:
        form_errors_apply(form, ValidationError(shown), field_map=field_map)


def _text(label, *, max_length, required=True, **attrs):
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        widget=forms.TextInput(attrs=attrs) if attrs else None,
    )


_CONSENT_SUMMARY_LABELS = {
    ConsentKind.ID_NUMBER: _("Consent to the processing of the ID number"),
    ConsentKind.PHOTO: _("Consent to the processing of the photo"),
    ConsentKind.ID_COPY: _("Consent to the processing of the ID card copy"),
}


class IndustrySelect(forms.Select):
    """The industry list carrying the high-risk rule for ``registration/industry.js``: the codes
    refused and the refusal, both from :mod:`registration.validators` (where the rule lives), in the
    page's language; the server still refuses them on submit."""

    def get_context(self, name, value, attrs):
        attrs = {
            **(attrs or {}),
            "data-high-risk": " ".join(sorted(HIGH_RISK_INDUSTRIES)),
            "data-high-risk-message": str(HIGH_RISK_MESSAGE),
        }
        return super().get_context(name, value, attrs)


class ConsentFieldsMixin:
    """Separate, unticked consent checkboxes (``consent_<kind>``), one per kind in ``consent_kinds``.

    The label is the consent text itself (:func:`registration.consents.consent_text`, rendered in
    the request's language): exactly what the service stores with the consent.
    """

    consent_kinds: tuple = ()
    consent_given_by: str = ConsentGiver.TRAINEE

    def _consent_fields_add(self) -> None:
        for kind in self.consent_kinds:
            self.fields[consent_field_name(kind)] = forms.BooleanField(
                label=consent_text(kind, given_by=self.consent_given_by),
                required=True,
                error_messages={"required": consent_missing_message(kind, given_by=self.consent_given_by)},
            )

    @property
    def consent_fields(self) -> list:
        return [self[consent_field_name(kind)] for kind in self.consent_kinds]

    def consents_given(self) -> list[str]:
        return [kind for kind in self.consent_kinds if self.cleaned_data.get(consent_field_name(kind))]

    def summary_label(self, name: str):
        """Short label of a field for the error summary (the consent texts are long)."""
        for kind in self.consent_kinds:
            if name == consent_field_name(kind):
                return _CONSENT_SUMMARY_LABELS[kind]
        return self.fields[name].label


class ApplicantForm(ConsentFieldsMixin, forms.Form):
    """Attachment 1 without the roster: the unit, its contact, certificate mailing and the invoice."""

    unit_name = _text(_("Unit name"), max_length=120, autocomplete="organization")
    industry = forms.ChoiceField(
        label=_("Industry"),
        choices=_blank_choice(INDUSTRY_CHOICES),
        widget=IndustrySelect,
        help_text=_("Units in high-risk industries cannot register for this training."),
    )
    contact_name = _text(_("Contact person"), max_length=50, autocomplete="name")
    contact_phone = _text(_("Contact phone"), max_length=20, autocomplete="tel", inputmode="tel")
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False, max_length=254)
    mail_recipient = _text(_("Certificate recipient"), max_length=50)
    mail_phone = _text(_("Recipient phone"), max_length=20, inputmode="tel")
    mail_address = _text(
        _("Mailing address for the certificate"), max_length=200, autocomplete="street-address"
    )
    invoice_title = _text(_("Invoice title (unit full name)"), max_length=120, autocomplete="organization")
    invoice_tax_id = _text(
        _("Taxpayer ID (unified social credit code)"),
        max_length=30,
        autocapitalize="characters",
        spellcheck="false",
    )
    invoice_email = forms.EmailField(
        label=_("E-mail for the e-invoice"),
        max_length=254,
        help_text=_("The electronic VAT invoice is sent to this address."),
    )

    # Shown (and required by the service) only when the credit code is registered outside the
    # programme's area; the page's script shows it as soon as such a code is typed.
    area_confirmed = forms.BooleanField(required=False)

    kind = "unit"
    consent_kinds = ATTACHMENT1_CONSENTS
    consent_given_by = ConsentGiver.CONTACT

    def __init__(self, *args, programme=None, **kwargs):
        self.programme = programme
        super().__init__(*args, **kwargs)
        self._consent_fields_add()
        area = self.area_name
        self.fields["area_confirmed"].label = _(
            "The unit's trainees work in %(area)s's administrative area, where this training is held."
        ) % {"area": area or "—"}
        self.fields["area_confirmed"].help_text = _(
            "This training is for units in %(area)s. The unit's credit code is registered elsewhere "
            "(its characters 3–8 are the administrative division code): tick this if the unit or "
            "its branch trains in %(area)s. Reviewers check it."
        ) % {"area": area or "—"}

    @property
    def area_name(self) -> str:
        prefix = self.programme.area_code_prefix if self.programme else ""
        return uscc_area_name(prefix) if prefix else ""

    @property
    def area_question_shown(self) -> bool:
        """Whether the page shows the area confirmation: the credit code typed (or imported) is
        registered outside the programme's area, or the box was ticked or refused."""
        if not self.area_name:
            return False
        if self.is_bound and (self.errors.get("area_confirmed") or self.data.get("area_confirmed")):
            return True
        raw = self.data.get("invoice_tax_id") if self.is_bound else self.initial.get("invoice_tax_id")
        try:
            tax_id = uscc_validate(raw or "")
        except ValidationError:
            return False
        return application_outside_area(programme=self.programme, kind=self.kind, tax_id=tax_id)

    def clean(self):
        cleaned = super().clean()
        try:
            checked = applicant_check(applicant=self.applicant_data(), programme=self.programme)
        except ValidationError as error:
            _rule_errors_show(self, error)
        else:
            cleaned.update({name: checked[name] for name in APPLICANT_FIELDS if name in self.fields})
        return cleaned

    def applicant_data(self) -> dict:
        data = {name: self.cleaned_data.get(name, "") for name in APPLICANT_FIELDS if name != "kind"}
        data["kind"] = self.kind
        data["area_confirmed"] = bool(self.cleaned_data.get("area_confirmed"))
        return data


class RosterRowForm(RosterCardMixin, forms.Form):
    """One row of the roster of attachment 1."""

    name = _text(_("Name"), max_length=50, autocomplete="off")
    id_number = _text(
        _("ID number"),
        max_length=24,
        autocomplete="off",
        autocapitalize="characters",
        spellcheck="false",
        inputmode="text",
    )
    mobile = _text(_("Mobile number (the trainee's own)"), max_length=20, inputmode="tel", autocomplete="off")
    email = forms.EmailField(label=_("E-mail (optional)"), required=False, max_length=254)
    certificate_type = forms.ChoiceField(
        label=_("Certificate type"), choices=_blank_choice(CertificateType.choices)
    )
    training_category = forms.ChoiceField(
        label=_("Training category"), choices=_blank_choice(TrainingCategory.choices)
    )
    previous_certificate_no = _text(
        _("Previous certificate number"), max_length=40, required=False, autocomplete="off"
    )

    def __init__(self, *args, programme=None, **kwargs):
        self.programme = programme
        super().__init__(*args, **kwargs)

    def clean_name(self):
        return re.sub(r"\s+", " ", self.cleaned_data["name"]).strip()

    def clean_previous_certificate_no(self):
        return self.cleaned_data["previous_certificate_no"].strip()

    def clean(self):
        cleaned = super().clean()
        try:
            checked = roster_row_check(row=self.roster_data(), programme=self.programme)
        except ValidationError as error:
            _rule_errors_show(self, error)
        else:
            cleaned.update({name: checked[name] for name in ROSTER_FIELDS})
        return cleaned

    def roster_data(self) -> dict:
        return {name: self.cleaned_data.get(name, "") for name in ROSTER_FIELDS}


class BaseRosterFormSet(forms.BaseFormSet):
    """The roster: at least one row; the same person or mobile number only once."""

    def clean(self):
        if any(self.errors):
            # Per-row errors first; duplicates are checked once every row is readable.
            return
        rows = self.rows()
        roster_size_check(count=len(rows))
        duplicates = roster_duplicates_check(
            rows=[form.roster_data() for _position, form in rows],
            labels=[position for position, _form in rows],
        )
        for index, fields in duplicates.items():
            form_errors_apply(rows[index - 1][1], ValidationError(fields))

    def initial_form_count(self) -> int:
        # Every row is an "extra" row: blank rows are skipped, and rows put in by the server
        # (an Excel import, "add rows") are sent back like rows typed in the page.
        return 0

    def rows(self) -> list[tuple[int, RosterRowForm]]:
        """``(row number shown on the page, form)`` of the rows that will be registered."""
        result = []
        for index, form in enumerate(self.forms):
            if self.can_delete and self._should_delete_form(form):
                continue
            if not form.has_changed():
                continue
            result.append((index + 1, form))
        return result


def roster_formset(data=None, *, initial=None, blank_rows: int = 0, programme=None) -> BaseRosterFormSet:
    """The roster formset: bound to ``data``, or showing the ``initial`` rows plus blank ones; its
    rows check what depends on the ``programme``."""
    extra = 0 if data is not None else len(initial or []) + blank_rows
    formset_class = forms.formset_factory(
        RosterRowForm,
        formset=BaseRosterFormSet,
        extra=extra,
        can_delete=True,
        max_num=MAX_ROSTER_ROWS,
        validate_max=True,
        absolute_max=MAX_ROSTER_ROWS,
    )
    return formset_class(data, prefix=ROSTER_PREFIX, initial=initial, form_kwargs={"programme": programme})


def roster_rows_posted(data) -> list[dict]:
    """The roster rows of a posted (possibly invalid) form, as typed: deleted and blank rows left out."""
    try:
        total = min(int(data.get(f"{ROSTER_PREFIX}-TOTAL_FORMS", 0)), MAX_ROSTER_ROWS)
    except (TypeError, ValueError):
        total = 0
    rows = []
    for index in range(max(total, 0)):
        prefix = f"{ROSTER_PREFIX}-{index}-"
        if data.get(prefix + "DELETE"):
            continue
        row = {name: str(data.get(prefix + name, "")).strip() for name in ROSTER_FIELDS}
        if any(row[name] for name in ("name", "id_number", "mobile", "email", "previous_certificate_no")):
            rows.append(row)
    return rows


def roster_form_data(rows: list[dict]) -> dict:
    """Form data (as if posted) for a roster of ``rows``: lets the server bind imported rows."""
    data = {
        f"{ROSTER_PREFIX}-TOTAL_FORMS": str(len(rows)),
        f"{ROSTER_PREFIX}-INITIAL_FORMS": "0",
        f"{ROSTER_PREFIX}-MIN_NUM_FORMS": "0",
        f"{ROSTER_PREFIX}-MAX_NUM_FORMS": str(MAX_ROSTER_ROWS),
    }
    for index, row in enumerate(rows):
        for name in ROSTER_FIELDS:
            data[f"{ROSTER_PREFIX}-{index}-{name}"] = row.get(name) or ""
    return data


class RosterImportForm(forms.Form):
    workbook = forms.FileField(
        label=_("Roster in Excel (.xlsx)"),
        error_messages={"required": _("Choose the Excel file of the roster to import.")},
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
    )


class IndividualForm(ConsentFieldsMixin, RosterRowForm):
    """A person registering alone: one roster row plus the applicant details that apply to one person."""

    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        help_text=_("The e-invoice and messages about your registration are sent here."),
    )
    unit_name = _text(_("Work unit (optional)"), max_length=120, required=False, autocomplete="organization")
    industry = forms.ChoiceField(
        label=_("Industry of your work unit"),
        choices=_blank_choice(INDUSTRY_CHOICES),
        widget=IndustrySelect,
        help_text=_("Units in high-risk industries cannot register for this training."),
    )
    mail_recipient = _text(
        _("Certificate recipient (optional)"),
        max_length=50,
        required=False,
    )
    mail_phone = _text(_("Recipient phone (optional)"), max_length=20, required=False, inputmode="tel")
    mail_address = _text(
        _("Mailing address for the certificate"), max_length=200, autocomplete="street-address"
    )
    invoice_title = _text(_("Invoice title (optional)"), max_length=120, required=False)
    invoice_tax_id = _text(
        _("Taxpayer ID (optional)"),
        max_length=30,
        required=False,
        autocapitalize="characters",
        spellcheck="false",
    )
    invoice_email = forms.EmailField(
        label=_("E-mail for the e-invoice (optional)"), required=False, max_length=254
    )

    # Where errors of applicant fields land on this form.
    APPLICANT_FIELD_MAP = {
        "unit_name": "unit_name",
        "industry": "industry",
        "contact_name": "name",
        "contact_phone": "mobile",
        "contact_email": "email",
        "mail_recipient": "mail_recipient",
        "mail_phone": "mail_phone",
        "mail_address": "mail_address",
        "invoice_title": "invoice_title",
        "invoice_tax_id": "invoice_tax_id",
        "invoice_email": "invoice_email",
    }

    field_order = [
        "name",
        "id_number",
        "mobile",
        "email",
        "certificate_type",
        "training_category",
        "previous_certificate_no",
        "unit_name",
        "industry",
        "mail_recipient",
        "mail_phone",
        "mail_address",
        "invoice_title",
        "invoice_tax_id",
        "invoice_email",
    ]

    consent_kinds = ATTACHMENT1_CONSENTS
    consent_given_by = ConsentGiver.TRAINEE

    def __init__(self, *args, programme=None, **kwargs):
        super().__init__(*args, programme=programme, **kwargs)
        self._consent_fields_add()

    # Optional fields that take another field's value when left empty.
    FALLBACK_FIELDS = ("unit_name", "mail_recipient", "mail_phone", "invoice_title", "invoice_email")

    def clean(self):
        cleaned = super().clean()
        try:
            checked = applicant_check(applicant=self.applicant_data(), programme=self.programme)
        except ValidationError as error:
            # An empty optional field took another field's value: that field reports its problem.
            empty = [name for name in self.FALLBACK_FIELDS if not cleaned.get(name)]
            _rule_errors_show(self, error, field_map=self.APPLICANT_FIELD_MAP, skip=empty)
        else:
            cleaned["industry"] = checked["industry"]
        return cleaned

    def applicant_data(self) -> dict:
        c = self.cleaned_data
        name, mobile, email = c.get("name", ""), c.get("mobile", ""), c.get("email", "")
        unit_name = c.get("unit_name") or name
        return {
            "kind": "individual",
            "unit_name": unit_name,
            "industry": c.get("industry", ""),
            "contact_name": name,
            "contact_phone": mobile,
            "contact_email": email,
            "mail_recipient": c.get("mail_recipient") or name,
            "mail_phone": c.get("mail_phone") or mobile,
            "mail_address": c.get("mail_address", ""),
            "invoice_title": c.get("invoice_title") or unit_name,
            "invoice_tax_id": c.get("invoice_tax_id", ""),
            "invoice_email": c.get("invoice_email") or email,
        }


class Attachment2Form(ConsentFieldsMixin, forms.Form):
    """Attachment 2, the trainee's own details. Gender and date of birth come from the ID number."""

    education = forms.ChoiceField(label=_("Education"), choices=_blank_choice(Education.choices))
    safety_years = forms.CharField(
        label=_("Years in safety work"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": SAFETY_YEARS_MAX}),
    )
    work_unit = _text(_("Work unit"), max_length=120, autocomplete="organization")
    work_unit_address = _text(_("Work unit address"), max_length=200)
    mailing_address = _text(_("Mailing address"), max_length=200, autocomplete="street-address")
    landline = _text(_("Landline (optional)"), max_length=20, required=False, inputmode="tel")
    email = forms.EmailField(label=_("E-mail (optional)"), required=False, max_length=254)
    work_history = forms.CharField(
        label=_("Work history"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("From – to, unit, position; one line each, most recent first."),
    )
    photo = forms.FileField(
        label=_("Colour ID photo (25×35 mm)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": PHOTO_ACCEPT}),
        help_text=_(
            "A recent one-inch colour photo without a hat, JPEG or PNG, upright, at least 295×413 pixels."
        ),
    )
    id_front = forms.FileField(
        label=_("ID card, front (photo side)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": PHOTO_ACCEPT}),
        help_text=_("A clear photo or scan, JPEG or PNG."),
    )
    id_back = forms.FileField(
        label=_("ID card, back (national emblem side)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": PHOTO_ACCEPT}),
        help_text=_("A clear photo or scan, JPEG or PNG."),
    )
    # Required by the service, which says how to sign when it is left empty.
    declaration_name = forms.CharField(
        label=_("Signature (type your full name)"),
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name", "required": True}),
    )

    DOCUMENT_FIELDS = ATTACHMENT2_FILES
    DATA_FIELDS = (
        "education",
        "safety_years",
        "work_unit",
        "work_unit_address",
        "mailing_address",
        "landline",
        "email",
        "work_history",
        "declaration_name",
    )

    consent_kinds = ATTACHMENT2_CONSENTS
    consent_given_by = ConsentGiver.TRAINEE

    def __init__(self, *args, trainee, **kwargs):
        self.trainee = trainee
        super().__init__(*args, **kwargs)
        self._consent_fields_add()
        # The size limit next to each file input (a larger phone photo is scaled down, not refused).
        limit = (
            _("At most %(limit)s MB; a larger phone photo (up to %(input)s MB) is scaled down automatically.")
            % documents.upload_limits()
        )
        for name in self.DOCUMENT_FIELDS:
            self.fields[name].help_text = f"{self.fields[name].help_text} {limit}"

    def clean(self):
        cleaned = super().clean()
        try:
            checked = attachment2_check(
                trainee=self.trainee,
                data=self.service_data(),
                files=self.service_files(),
                consents=self.consents_given(),
            )
        except ValidationError as error:
            _rule_errors_show(self, error)
        else:
            cleaned.update({name: checked[name] for name in self.DATA_FIELDS})
        return cleaned

    def service_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.DATA_FIELDS}

    def service_files(self) -> dict:
        return {name: self.cleaned_data.get(name) or None for name in self.DOCUMENT_FIELDS}
