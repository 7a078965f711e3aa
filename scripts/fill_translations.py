"""Fill msgstr in a .po file from a JSON dict {msgid: msgstr}; print what is still untranslated.

For a plural entry give a list (one form per plural index; Chinese has one form, so ``["…"]``).

Usage: .venv/bin/python scripts/fill_translations.py <app>/locale/zh_Hans/LC_MESSAGES/django.po tr.json
Then compile: (cd <app> && ../.venv/bin/django-admin compilemessages)
"""

import json
import sys

import polib


def main(po_path: str, json_path: str) -> int:
    po = polib.pofile(po_path)
    with open(json_path, encoding="utf-8") as handle:
        translations = json.load(handle)
    missing = []
    for entry in po:
        value = translations.get(entry.msgid)
        if value is not None:
            if entry.msgid_plural:
                forms = value if isinstance(value, list) else [value]
                entry.msgstr_plural = {
                    index: forms[min(index, len(forms) - 1)] for index in entry.msgstr_plural
                }
            else:
                entry.msgstr = value
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
        elif not (entry.msgstr or any(entry.msgstr_plural.values())):
            missing.append(entry.msgid)
    po.save()
    print("untranslated:", len(missing))
    for msgid in missing:
        print("  ", repr(msgid))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
