"""The portal's own scripts (issue #18, point 7): one shared helper (``static/js/portal.js``, loaded
by the base template before the others) posts JSON with the CSRF token, and every word a script
shows comes from a data attribute the template translates, never from the page language."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import reverse

from tests.factories import EnrollmentFactory, LessonFactory, ProgrammeFactory, plan_with

ROOT = Path(settings.BASE_DIR)
HELPER = ROOT / "static" / "js" / "portal.js"


def _scripts() -> list[Path]:
    """Every script of the project: the shared static folder and each of our apps' (vendored
    libraries such as Bootstrap come from installed packages, outside the project)."""
    folders = [Path(folder) for folder in settings.STATICFILES_DIRS]
    folders += [
        Path(config.path) / "static"
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(ROOT) and ".venv" not in Path(config.path).parts
    ]
    return sorted(path for folder in folders for path in folder.rglob("*.js"))


SCRIPTS = _scripts()
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
COMMENT = re.compile(r"/\*.*?\*/|(?:^|(?<=\s))//[^\n]*", re.DOTALL)
# Text put on the page by a script: a string literal with a letter in it is a word nobody translated
SHOWN = re.compile(
    r"(?:\.textContent\s*=|\.innerText\s*=|(?<!function )\b(?:setStatus|showAlert|stop)\()([^;]*)"
)
# ... except a literal compared with an answer's code or naming elements to look up.
NOT_SHOWN_BEFORE = re.compile(r"(?:[=!]==?|(?:querySelector|querySelectorAll|getElementById|closest)\()\s*$")
LITERAL = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'""")


def test_the_project_scripts_are_all_found():
    assert {path.relative_to(ROOT).as_posix() for path in SCRIPTS} == {
        "static/js/portal.js",
        "certificates/static/certificates/print_run.js",
        "exams/static/exams/exam.js",
        "learning/static/learning/identity.js",
        "learning/static/learning/study.js",
        "payments/static/payments/report.js",
        "registration/static/registration/area.js",
        "registration/static/registration/confirm.js",
        "registration/static/registration/industry.js",
        "registration/static/registration/review_queue.js",
        "registration/static/registration/roster.js",
        "registration/static/registration/share.js",
        "static/js/wechat.js",
    }


def _code_of(text: str) -> str:
    """A script without its comments (which may quote the Chinese of the page)."""
    return COMMENT.sub("", text)


def _words_shown(code: str) -> list[str]:
    """String literals with a letter that a script puts on the page."""
    return [
        literal.group(0)
        for match in SHOWN.finditer(code)
        for literal in LITERAL.finditer(match.group(1))
        if re.search(r"[A-Za-z]", literal.group(0))
        and not re.search(NOT_SHOWN_BEFORE, match.group(1)[: literal.start()])
    ]


def test_the_checks_find_what_the_old_roster_script_did():
    old = """countBadge.textContent = zh ? all.length + " 行" : all.length + (all.length === 1 ? " row" : " rows");
      feeLine.textContent = filled
        ? (zh ? "已填写 " + filled + " 人" : filled + " filled in")
        : "";
      var zh = document.documentElement.lang.indexOf("zh") === 0; // 中文
      showAlert(body.code === "missed" ? body.message : "");"""
    assert _words_shown(_code_of(old)) == ['" row"', '" rows"', '" filled in"']
    assert CJK.findall(_code_of(old)) == ["行", "已", "填", "写", "人"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_scripts_take_their_words_from_the_page(script):
    code = _code_of(script.read_text(encoding="utf-8"))
    assert CJK.findall(code) == []
    assert "documentElement.lang" not in code and "navigator.language" not in code
    assert _words_shown(code) == []


@pytest.mark.parametrize("script", [path for path in SCRIPTS if path != HELPER], ids=lambda path: path.name)
def test_only_the_shared_helper_posts_and_reads_the_csrf_token(script):
    code = script.read_text(encoding="utf-8")
    assert not re.search(r"""method:\s*["']POST""", code, re.IGNORECASE)
    assert "X-CSRFToken" not in code and "csrfmiddlewaretoken" not in code


def _script_sources(html: str) -> list[str]:
    return re.findall(r'<script src="/static/([^"]+)"', html)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "rows_one", "rows_other", "fee"),
    [
        ("zh-hans", "%(count)s 行", "%(count)s 行", "已填写 %(filled)s 人，预计费用 %(fee)s 元"),
        ("en", "%(count)s row", "%(count)s rows", "%(filled)s filled in, estimated fee %(fee)s yuan"),
    ],
)
def test_roster_words_are_translated_data_attributes(client, language, rows_one, rows_other, fee):
    ProgrammeFactory()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = client.get(reverse("registration:unit_register")).content.decode()
    assert _script_sources(html) == [
        "bootstrap/js/bootstrap.bundle.min.js",
        "js/portal.js",
        "registration/roster.js",
        "registration/area.js",
        "registration/industry.js",
    ]
    assert f'data-text-rows-one="{rows_one}"' in html
    assert f'data-text-rows-other="{rows_other}"' in html
    assert f'data-text-fee="{fee}"' in html


@pytest.mark.django_db
def test_lesson_page_loads_the_helper_first_and_translates_the_countdown(client):
    enrollment = EnrollmentFactory()
    lesson = LessonFactory(class_hours=Decimal("1"))
    plan_with(lesson.course)
    client.force_login(enrollment.user)
    html = client.get(reverse("learning:lesson", args=[enrollment.pk, lesson.pk])).content.decode()
    assert _script_sources(html) == [
        "bootstrap/js/bootstrap.bundle.min.js",
        "js/portal.js",
        "learning/study.js",
    ]
    assert 'data-text-seconds="%(seconds)s 秒"' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "words"), [("zh-hans", "属于高危行业"), ("en", "is a high-risk industry")]
)
def test_high_risk_words_are_translated_data_attributes(client, language, words):
    """industry.js reads the refused codes and the refusal from the industry list (rendered from
    registration.validators, where the rule lives), on the unit and the individual form."""
    from registration.validators import HIGH_RISK_INDUSTRIES

    ProgrammeFactory()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    for name in ("registration:unit_register", "registration:individual_register"):
        html = client.get(reverse(name)).content.decode()
        assert "registration/industry.js" in _script_sources(html)
        select = re.search(r'<select name="industry"[^>]*>', html).group(0)
        assert f'data-high-risk="{" ".join(sorted(HIGH_RISK_INDUSTRIES))}"' in select
        message = re.search(r'data-high-risk-message="([^"]*)"', select).group(1)
        assert "%(industry)s" in message and words in message
