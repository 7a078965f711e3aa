"""Fill msgstr in a .po file from a JSON dict {msgid: msgstr}; print what is still untranslated.

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
        if entry.msgid in translations:
            entry.msgstr = translations[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
        elif not entry.msgstr:
            missing.append(entry.msgid)
    po.save()
    print("untranslated:", len(missing))
    for msgid in missing:
        print("  ", repr(msgid))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
