"""Forms of attachment 1 (the unit's or the person's registration with the roster) and attachment 2.

Forms check each field with the validators of :mod:`registration.validators`; everything that needs
the database (a person or mobile already registered in the programme) is checked by
:func:`registration.services.application_submit`, whose errors the views map back onto these forms.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from portal.validators import mobile_validate

from .consents import (
    ATTACHMENT1_CONSENTS,
    ATTACHMENT2_CONSENTS,
    consent_field_name,
    consent_missing_message,
    consent_text,
)
from .models import CertificateType, ConsentGiver, ConsentKind, Education, TrainingCategory
from .services import phone_validate
from .validators import INDUSTRY_CHOICES, id_number_validate, industry_validate, uscc_validate

ROSTER_PREFIX = "roster"
ROSTER_MAX_ROWS = 1000
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


def _blank_choice(choices, label=None):
    return [("", label or _("— choose —")), *list(choices)]


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

    kind = "unit"
    consent_kinds = ATTACHMENT1_CONSENTS
    consent_given_by = ConsentGiver.CONTACT

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._consent_fields_add()

    def clean_industry(self):
        return industry_validate(self.cleaned_data["industry"])

    def clean_contact_phone(self):
        return phone_validate(self.cleaned_data["contact_phone"])

    def clean_mail_phone(self):
        return phone_validate(self.cleaned_data["mail_phone"])

    def clean_invoice_tax_id(self):
        value = self.cleaned_data["invoice_tax_id"]
        return uscc_validate(value) if value else ""

    def applicant_data(self) -> dict:
        data = {name: self.cleaned_data.get(name, "") for name in APPLICANT_FIELDS if name != "kind"}
        data["kind"] = self.kind
        return data


class RosterRowForm(forms.Form):
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

    def clean_name(self):
        return re.sub(r"\s+", " ", self.cleaned_data["name"]).strip()

    def clean_id_number(self):
        return id_number_validate(self.cleaned_data["id_number"])

    def clean_mobile(self):
        return mobile_validate(self.cleaned_data["mobile"])

    def clean_previous_certificate_no(self):
        return self.cleaned_data["previous_certificate_no"].strip()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("training_category") == TrainingCategory.REFRESHER and not cleaned.get(
            "previous_certificate_no"
        ):
            self.add_error(
                "previous_certificate_no",
                ValidationError(
                    _("Refresher training needs the number of the previous certificate."),
                    code="previous_certificate_required",
                ),
            )
        return cleaned

    def roster_data(self) -> dict:
        return {name: self.cleaned_data.get(name, "") for name in ROSTER_FIELDS}

    # Rendering: a roster can have hundreds of rows, so a row is built here with format_html
    # (about 20 times faster than a template per widget). Layout: a card with a responsive grid,
    # stacked on a phone, two lines per row on a wide screen.
    _COLUMNS = {
        "name": ("col-6 col-md-4 col-xl-2", "text", 50, ' autocomplete="off"'),
        "id_number": (
            "col-12 col-sm-6 col-md-8 col-xl-3",
            "text",
            24,
            ' autocomplete="off" autocapitalize="characters" spellcheck="false"',
        ),
        "mobile": ("col-12 col-sm-6 col-md-4 col-xl-2", "tel", 20, ' autocomplete="off" inputmode="tel"'),
        "email": ("col-12 col-sm-6 col-md-8 col-xl-5", "email", 254, ' autocomplete="off"'),
        "certificate_type": ("col-12 col-sm-6 col-md-4 col-xl-3", None, None, ""),
        "training_category": ("col-12 col-sm-6 col-md-4 col-xl-3", None, None, " data-roster-category"),
        "previous_certificate_no": ("col-12 col-md-4 col-xl-3", "text", 40, ' autocomplete="off"'),
    }

    def as_roster_card(self) -> str:
        """The row as a Bootstrap card; ``__num__`` as its number for the formset's empty form."""
        skeleton = _roster_card_skeleton()
        index = self.prefix.rsplit("-", 1)[-1]
        number = str(int(index) + 1) if index.isdigit() else "__num__"
        errors = self.errors if self.is_bound else {}
        parts = []
        for name, (cols, input_type, max_length, extra) in self._COLUMNS.items():
            html_name = self.add_prefix(name)
            auto_id = f"id_{html_name}"
            if self.is_bound:
                value = self.data.get(html_name, "")
            else:
                value = self.get_initial_for_field(self.fields[name], name)
            value = "" if value is None else str(value)
            field_errors = errors.get(name) if errors else None
            invalid = " is-invalid" if field_errors else ""
            aria = f' aria-invalid="true" aria-describedby="{auto_id}_error"' if field_errors else ""
            if input_type is None:
                options = skeleton["options"][name]
                selected = f'<option value="{escape(value)}">'
                if value and selected in options:
                    options = options.replace(selected, selected[:-1] + " selected>", 1)
                control = (
                    f'<select class="form-select form-select-sm{invalid}" name="{html_name}" id="{auto_id}"'
                    f"{extra}{aria}>{options}</select>"
                )
            else:
                control = (
                    f'<input type="{input_type}" class="form-control form-control-sm{invalid}" name="{html_name}" '
                    f'id="{auto_id}" value="{escape(value)}" maxlength="{max_length}"{extra}{aria}>'
                )
            feedback = (
                f'<div class="invalid-feedback" id="{auto_id}_error">{escape(" ".join(field_errors))}</div>'
                if field_errors
                else ""
            )
            parts.append(
                f'<div class="{cols}"><label class="form-label small mb-0" for="{auto_id}">'
                f"{skeleton['labels'][name]}</label>{control}{feedback}</div>"
            )
        delete_name = self.add_prefix("DELETE")
        checked = " checked" if self.is_bound and self.data.get(delete_name) else ""
        non_field = "".join(
            f'<div class="text-danger small">{escape(e)}</div>'
            for e in (errors.get("__all__", []) if errors else [])
        )
        return mark_safe(  # noqa: S308 (every value typed by a user is escaped above)
            f'<div class="card roster-row mb-2{" border-danger" if errors else ""}" data-roster-row '
            f'id="row-{self.prefix}"><div class="card-header d-flex flex-wrap align-items-center '
            f'justify-content-between gap-2 py-1"><h3 class="h6 mb-0">{skeleton["trainee"]} '
            f'<span data-row-number>{number}</span></h3><div class="form-check mb-0" data-roster-delete>'
            f'<input type="checkbox" class="form-check-input" name="{delete_name}" id="id_{delete_name}"{checked}>'
            f'<label class="form-check-label small" for="id_{delete_name}">{skeleton["leave_out"]}</label></div>'
            f'<button type="button" class="btn btn-sm btn-outline-danger d-none" data-roster-remove>'
            f'{skeleton["remove"]}</button></div><div class="card-body py-2">{non_field}'
            f'<div class="row g-2">{"".join(parts)}</div></div></div>\n'
        )


_SKELETONS: dict[str, dict] = {}


def _roster_card_skeleton() -> dict:
    """Labels and option lists of a roster row in the active language (built once per language)."""
    language = get_language() or ""
    skeleton = _SKELETONS.get(language)
    if skeleton is None:
        fields = RosterRowForm.base_fields
        labels = {name: escape(fields[name].label) for name in RosterRowForm._COLUMNS}
        labels["previous_certificate_no"] = format_html(
            '{} <span class="text-body-secondary">{}</span>',
            fields["previous_certificate_no"].label,
            gettext("(refresher only)"),
        )
        skeleton = {
            "labels": labels,
            "options": {
                name: "".join(
                    f'<option value="{escape(value)}">{escape(label)}</option>'
                    for value, label in fields[name].choices
                )
                for name in ("certificate_type", "training_category")
            },
            "trainee": escape(gettext("Trainee")),
            "leave_out": escape(gettext("Leave out this row")),
            "remove": escape(gettext("Remove row")),
        }
        _SKELETONS[language] = skeleton
    return skeleton


class BaseRosterFormSet(forms.BaseFormSet):
    """The roster: at least one row; the same person or mobile number only once."""

    def clean(self):
        if any(self.errors):
            # Per-row errors first; duplicates are checked once every row is readable.
            return
        rows = self.rows()
        if not rows:
            raise ValidationError(_("Add at least one trainee to the roster."), code="roster_empty")
        seen_ids: dict[str, int] = {}
        seen_mobiles: dict[str, int] = {}
        for position, form in rows:
            id_number = form.cleaned_data["id_number"]
            mobile = form.cleaned_data["mobile"]
            if id_number in seen_ids:
                form.add_error(
                    "id_number",
                    ValidationError(
                        _("This person is already in row %(row)s of the roster."),
                        code="roster_duplicate_person",
                        params={"row": seen_ids[id_number]},
                    ),
                )
            else:
                seen_ids[id_number] = position
            if mobile in seen_mobiles:
                form.add_error(
                    "mobile",
                    ValidationError(
                        _(
                            "Mobile number %(mobile)s is already used in row %(row)s: every trainee needs "
                            "their own mobile number."
                        ),
                        code="roster_duplicate_mobile",
                        params={"mobile": mobile, "row": seen_mobiles[mobile]},
                    ),
                )
            else:
                seen_mobiles[mobile] = position

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


def roster_formset(data=None, *, initial=None, blank_rows: int = 0) -> BaseRosterFormSet:
    """The roster formset: bound to ``data``, or showing the ``initial`` rows plus blank ones."""
    extra = 0 if data is not None else len(initial or []) + blank_rows
    formset_class = forms.formset_factory(
        RosterRowForm,
        formset=BaseRosterFormSet,
        extra=extra,
        can_delete=True,
        max_num=ROSTER_MAX_ROWS,
        validate_max=True,
        absolute_max=ROSTER_MAX_ROWS,
    )
    return formset_class(data, prefix=ROSTER_PREFIX, initial=initial)


def roster_rows_posted(data) -> list[dict]:
    """The roster rows of a posted (possibly invalid) form, as typed: deleted and blank rows left out."""
    try:
        total = min(int(data.get(f"{ROSTER_PREFIX}-TOTAL_FORMS", 0)), ROSTER_MAX_ROWS)
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
        f"{ROSTER_PREFIX}-MAX_NUM_FORMS": str(ROSTER_MAX_ROWS),
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._consent_fields_add()

    def clean_industry(self):
        return industry_validate(self.cleaned_data["industry"])

    def clean_mail_phone(self):
        value = self.cleaned_data["mail_phone"]
        return phone_validate(value) if value else ""

    def clean_invoice_tax_id(self):
        value = self.cleaned_data["invoice_tax_id"]
        return uscc_validate(value) if value else ""

    def applicant_data(self) -> dict:
        c = self.cleaned_data
        unit_name = c.get("unit_name") or c["name"]
        return {
            "kind": "individual",
            "unit_name": unit_name,
            "industry": c["industry"],
            "contact_name": c["name"],
            "contact_phone": c["mobile"],
            "contact_email": c["email"],
            "mail_recipient": c.get("mail_recipient") or c["name"],
            "mail_phone": c.get("mail_phone") or c["mobile"],
            "mail_address": c["mail_address"],
            "invoice_title": c.get("invoice_title") or unit_name,
            "invoice_tax_id": c.get("invoice_tax_id", ""),
            "invoice_email": c.get("invoice_email") or c["email"],
        }


class Attachment2Form(ConsentFieldsMixin, forms.Form):
    """Attachment 2, the trainee's own details. Gender and date of birth come from the ID number."""

    education = forms.ChoiceField(label=_("Education"), choices=_blank_choice(Education.choices))
    safety_years = forms.IntegerField(
        label=_("Years in safety work"),
        min_value=0,
        max_value=60,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
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
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png"}),
        help_text=_(
            "A recent one-inch colour photo without a hat, JPEG or PNG, upright, at least 295×413 pixels."
        ),
    )
    id_front = forms.FileField(
        label=_("ID card, front (photo side)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png"}),
        help_text=_("A clear photo or scan, JPEG or PNG."),
    )
    id_back = forms.FileField(
        label=_("ID card, back (national emblem side)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png"}),
        help_text=_("A clear photo or scan, JPEG or PNG."),
    )
    declaration_name = _text(_("Signature (type your full name)"), max_length=50, autocomplete="name")

    DOCUMENT_FIELDS = ("photo", "id_front", "id_back")
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

    def clean_landline(self):
        value = self.cleaned_data["landline"]
        return phone_validate(value) if value else ""

    def clean_declaration_name(self):
        value = re.sub(r"\s+", "", self.cleaned_data["declaration_name"])
        expected = re.sub(r"\s+", "", self.trainee.name)
        if value != expected:
            raise ValidationError(
                _("Type your name exactly as registered (%(name)s) to sign the declaration."),
                code="declaration_name_mismatch",
                params={"name": self.trainee.name},
            )
        return value

    def clean(self):
        cleaned = super().clean()
        for name in self.DOCUMENT_FIELDS:
            if not cleaned.get(name) and not getattr(self.trainee, name):
                self.add_error(
                    name,
                    ValidationError(
                        _("Upload the %(document)s."),
                        code="document_required",
                        params={"document": self.fields[name].label},
                    ),
                )
        return cleaned

    def service_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.DATA_FIELDS}

    def service_files(self) -> dict:
        return {name: self.cleaned_data.get(name) or None for name in self.DOCUMENT_FIELDS}
