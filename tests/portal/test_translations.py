"""The translation catalogues: complete, and without clashes between them.

Django merges every catalogue into one: the project's ``locale/`` wins over the apps, and an app
earlier in INSTALLED_APPS over a later one. So a msgid translated differently in two catalogues
shows only one of the translations everywhere (the attempt history once said 继续学习, the lesson
list's word, and a failed print run 不及格, the exam's). A word that means different things in
different places needs a context (``pgettext`` / ``{% translate ... context ... %}``).
"""

from collections import defaultdict
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

ROOT = Path(settings.BASE_DIR)
APPS = ["registration", "payments", "learning", "exams", "certificates"]


def _catalogue(where: str, language: str) -> polib.POFile:
    base = ROOT / "locale" if where == "project" else ROOT / where / "locale"
    return polib.pofile(str(base / language / "LC_MESSAGES" / "django.po"))


def _entries(po: polib.POFile):
    return [entry for entry in po if not entry.obsolete]


@pytest.mark.parametrize("where", ["project", *APPS])
def test_chinese_catalogue_is_complete_and_compiled(where):
    po = _catalogue(where, "zh_Hans")
    assert not [entry.msgid for entry in po.untranslated_entries()]
    assert not [entry.msgid for entry in po.fuzzy_entries()]  # fuzzy entries are not compiled
    compiled = {
        (entry.msgctxt, entry.msgid): entry.msgstr
        for entry in polib.mofile(str(Path(po.fpath).with_suffix(".mo")))
    }
    stale = [
        entry.msgid for entry in _entries(po) if compiled.get((entry.msgctxt, entry.msgid)) != entry.msgstr
    ]
    assert not stale, f"compile the catalogue (make messages): {stale[:5]}"


def test_no_msgid_is_translated_two_ways():
    translations: dict[tuple, dict[str, str]] = defaultdict(dict)
    for where in ["project", *APPS]:
        for entry in _entries(_catalogue(where, "zh_Hans")):
            value = entry.msgstr or "|".join(entry.msgstr_plural[k] for k in sorted(entry.msgstr_plural))
            translations[(entry.msgctxt, entry.msgid)][where] = value
    clashes = {key: found for key, found in translations.items() if len(set(found.values())) > 1}
    assert not clashes, "give these a context or one translation:\n" + "\n".join(
        f"{context or ''}|{msgid}: {found}" for (context, msgid), found in clashes.items()
    )


def test_words_with_two_meanings_show_the_right_one():
    from certificates.models import Certificate, PrintRunStatus
    from exams.models import Attempt
    from payments.models import PaymentStatus
    from registration.models import Programme, Trainee, TraineeStatus

    with translation.override("zh-hans"):
        assert str(PrintRunStatus.FAILED.label) == "失败"  # not the exam's 不及格
        assert (
            str(PaymentStatus.REJECTED.label) == "已驳回" and str(TraineeStatus.REJECTED.label) == "不予通过"
        )
        assert str(Programme._meta.get_field("name").verbose_name) == "名称"
        assert str(Trainee._meta.get_field("name").verbose_name) == "姓名"
        assert str(Certificate._meta.get_field("issued_at").verbose_name) == "发证时间"  # not 开票时间
        assert str(Attempt._meta.get_field("submitted_at").verbose_name) == "交卷时间"
