from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _

from portal.models import User
from portal.uploads import upload_size_check
from portal.validators import mobile_normalize, mobile_validate

from .models import Lesson


class ActivationPasswordForm(SetPasswordForm):
    """Django's SetPasswordForm (password validators included) with our labels."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = _("New password")
        self.fields["new_password2"].label = _("New password again")


class MobileForm(forms.Form):
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "username"}),
    )

    def clean_mobile(self) -> str:
        return mobile_validate(self.cleaned_data["mobile"])


class CodePasswordForm(MobileForm):
    code = forms.CharField(
        label=_("Code from the SMS"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    new_password2 = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not code.isdigit():
            raise forms.ValidationError(_("The code is 6 digits."))
        return code

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", _("The two passwords differ."))
        elif first and cleaned.get("mobile"):
            number = mobile_normalize(cleaned["mobile"])
            user = User.objects.filter(mobile=number).first() or User(mobile=number)
            try:
                password_validation.validate_password(first, user)
            except forms.ValidationError as exc:
                self.add_error("new_password1", exc)
        return cleaned


class ExtendForm(forms.Form):
    days = forms.IntegerField(label=_("Extend by (days)"), min_value=1, max_value=365, initial=7)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


LESSON_VIDEO_MAX_BYTES = 1024 * 1024 * 1024  # below PORTAL_MAX_ADMIN_REQUEST_BYTES
LESSON_DOCUMENT_MAX_BYTES = 50 * 1024 * 1024


class LessonAdminForm(forms.ModelForm):
    """A lesson needs the content of its kind: the video file, the PDF, or the text."""

    class Meta:
        model = Lesson
        fields = [
            "course",
            "code",
            "order",
            "title",
            "kind",
            "class_hours",
            "video",
            "document",
            "body_html",
            "is_active",
        ]

    def clean_video(self):
        upload = self._size_checked("video", LESSON_VIDEO_MAX_BYTES)
        if upload and hasattr(upload, "content_type"):
            # The processing task probes it again; refusing here tells staff at once.
            from .video import upload_probe

            upload_probe(upload)
        return upload

    def clean_document(self):
        return self._size_checked("document", LESSON_DOCUMENT_MAX_BYTES)

    def _size_checked(self, name, limit):
        upload = self.cleaned_data.get(name)
        if upload and hasattr(upload, "content_type"):  # a new upload, not the stored file
            upload_size_check(upload, max_bytes=limit)
        return upload

    def _value(self, data, name):
        # The course page's inline edits a few fields only; the rest come from the lesson itself.
        return data.get(name) if name in self.fields else getattr(self.instance, name, None)

    def _error(self, name, message):
        self.add_error(name if name in self.fields else None, message)

    def clean(self):
        data = super().clean()
        kind = self._value(data, "kind")
        if kind == "video" and not self._value(data, "video") and "video" not in self.errors:
            self._error("video", _("Upload the video file of a video lesson."))
        if kind == "document":
            document = self._value(data, "document")
            if not document:
                self._error("document", _("Upload the PDF of a document lesson."))
            elif not str(getattr(document, "name", "")).lower().endswith(".pdf"):
                self._error("document", _("The document must be a PDF file."))
        if kind == "html" and not (self._value(data, "body_html") or "").strip():
            self._error("body_html", _("Enter the text of a text lesson."))
        return data


class StaffHoursForm(forms.Form):
    """Class hours earned elsewhere (e.g. classroom training), entered by staff."""

    enrollment = forms.IntegerField(label=_("Enrollment number"), min_value=1, widget=forms.HiddenInput)
    lesson = forms.ModelChoiceField(label=_("Lesson"), queryset=None)
    minutes = forms.IntegerField(
        label=_("Minutes"),
        min_value=1,
        max_value=24 * 60,
        help_text=_("Time earned; credited up to what the lesson still lacks."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Where and when the hours were earned (e.g. classroom training on 2026-03-02)."),
    )

    def __init__(self, *args, lessons=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lesson"].queryset = Lesson.objects.filter(pk__in=[lesson.pk for lesson in lessons])
        self.fields["lesson"].label_from_instance = lambda lesson: f"{lesson.course.title} / {lesson.title}"
