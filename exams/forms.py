"""Forms of the exams app: the question form of the admin and the import upload."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import TOPICS, Question, QuestionType
from .question_import import OPTION_LETTERS


class QuestionAdminForm(forms.ModelForm):
    """Options one per line and the answer as letters, instead of raw JSON."""

    topic = forms.ChoiceField(label=gettext_lazy("topic"), choices=[])
    options_text = forms.CharField(
        label=gettext_lazy("options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy("One option per line (A to F). Leave empty for a true/false question."),
    )
    answer_letters = forms.CharField(
        label=gettext_lazy("correct answer"),
        max_length=6,
        help_text=gettext_lazy(
            "Letters of the correct options, e.g. A or ACD; for true/false: A = 正确, B = 错误."
        ),
    )

    class Meta:
        model = Question
        fields = [
            "code",
            "qtype",
            "for_principal",
            "for_safety_manager",
            "topic",
            "stem",
            "explanation",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(key, f"{label} ({key})") for key, label in TOPICS.items()]
        if self.instance.pk and self.instance.topic not in TOPICS:
            choices.append((self.instance.topic, self.instance.topic))
        self.fields["topic"].choices = choices
        if self.instance.pk:
            if self.instance.qtype != QuestionType.TRUE_FALSE:
                self.initial["options_text"] = "\n".join(self.instance.options)
            self.initial["answer_letters"] = "".join(OPTION_LETTERS[i] for i in self.instance.answer)

    def clean(self):
        data = super().clean()
        qtype = data.get("qtype")
        if not data.get("for_principal") and not data.get("for_safety_manager"):
            self.add_error("for_principal", _("Choose at least one certificate type."))
        if qtype == QuestionType.TRUE_FALSE:
            options = ["正确", "错误"]
        else:
            options = [line.strip() for line in data.get("options_text", "").splitlines() if line.strip()]
            if not 2 <= len(options) <= len(OPTION_LETTERS):
                self.add_error("options_text", _("Enter between two and six options, one per line."))
                return data
        letters = "".join(data.get("answer_letters", "").upper().split())
        if not letters or any(letter not in OPTION_LETTERS[: len(options)] for letter in letters):
            self.add_error("answer_letters", _("Enter the letters of options that exist."))
            return data
        answer = sorted({OPTION_LETTERS.index(letter) for letter in letters})
        if qtype != QuestionType.MULTIPLE and len(answer) != 1:
            self.add_error("answer_letters", _("This type of question has exactly one correct option."))
        if qtype == QuestionType.MULTIPLE and len(answer) < 2:
            self.add_error(
                "answer_letters", _("A multiple choice question has at least two correct options.")
            )
        self.instance.options = options
        self.instance.answer = answer
        return data


class QuestionImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Excel file (.xlsx)"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 10 * 1024 * 1024:
            raise ValidationError(_("The file is larger than 10 MB."))
        return upload
