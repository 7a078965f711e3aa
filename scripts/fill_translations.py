"""Fill msgstr in a .po from a JSON dict {msgid: msgstr}; print what is still untranslated.

Usage: .venv/bin/python scripts/fill_translations.py <app>/locale/zh_Hans/LC_MESSAGES/django.po tr.json
"""

import json, sys, polib

po = polib.pofile(sys.argv[1])
tr = json.load(open(sys.argv[2]))
missing = []
for e in po:
    if e.msgid in tr:
        e.msgstr = tr[e.msgid]
        if "fuzzy" in e.flags:
            e.flags.remove("fuzzy")
    elif not e.msgstr:
        missing.append(e.msgid)
po.save()
print("untranslated:", len(missing))
for m in missing:
    print("  ", repr(m))
