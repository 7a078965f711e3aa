"""HTML of the long per-question lists (the paper, the review of wrong answers), built in Python:
a 100-question paper through the template engine costs tens of milliseconds per page view, this
a few. Every text from the database is escaped."""

from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _


def points_text(points: Decimal) -> str:
    return f"{Decimal(points).normalize():f}"


def paper_html(rows: list[dict]) -> SafeString:
    """The questions of the exam page: no correct answer, no explanation (they are not in ``rows``)."""
    parts = []
    section = None
    points_labels: dict[str, str] = {}
    for row in rows:
        p = row["position"]
        if row["qtype"] != section:
            section = row["qtype"]
            parts.append(f'<h2 class="h6 mt-3 text-primary">{escape(row["type_label"])}</h2>')
        points = points_text(row["points"])
        if points not in points_labels:
            points_labels[points] = escape(_("%(p)s points") % {"p": points})
        kind = "checkbox" if row["multiple"] else "radio"
        parts.append(
            f'<div class="exam-question card card-body mb-3" id="q{p}" data-position="{p}" tabindex="-1">'
            f'<fieldset><legend class="fs-6 fw-semibold">{p}. {escape(row["stem"])} <span class="text-body-secondary small">'
            f"（{escape(row['type_label'])}，{points_labels[points]}）</span></legend>"
        )
        for option in row["options"]:
            i = option["index"]
            checked = " checked" if option["checked"] else ""
            parts.append(
                f'<div class="form-check"><input class="form-check-input" type="{kind}" name="q{p}" value="{i}"'
                f' id="q{p}-{i}"{checked}><label class="form-check-label" for="q{p}-{i}">'
                f"{option['letter']}. {escape(option['text'])}</label></div>"
            )
        parts.append("</fieldset></div>")
    return mark_safe("".join(parts))  # noqa: S308 -- every database text above is escaped


def review_html(items: list[dict]) -> SafeString:
    """The wrong answers after submission, with the correct answer and the explanation."""
    your, right, explained = escape(_("Your answer")), escape(_("Correct answer")), escape(_("Explanation"))
    parts = []
    for item in items:
        parts.append(
            f'<div class="card card-body mb-2"><p class="fw-semibold mb-1">{item["position"]}. {escape(item["stem"])}'
            f' <span class="small text-body-secondary">（{escape(item["type_label"])}）</span></p>'
            '<ul class="list-unstyled mb-1">'
        )
        for option in item["options"]:
            css = ' class="text-success fw-semibold"' if option["correct"] else ""
            parts.append(f"<li{css}>{option['letter']}. {escape(option['text'])}</li>")
        parts.append(
            f'</ul><p class="mb-1">{your}: <span class="text-danger">{escape(item["given"])}</span> · '
            f'{right}: <span class="text-success">{escape(item["correct"])}</span></p>'
        )
        if item["explanation"]:
            parts.append(
                f'<p class="small text-body-secondary mb-0">{explained}: {escape(item["explanation"])}</p>'
            )
        parts.append("</div>")
    return mark_safe("".join(parts))  # noqa: S308 -- every database text above is escaped


def sheet_html(rows: list[dict]) -> SafeString:
    """The answer sheet: one numbered link per question, coloured answered / not answered."""
    done, todo = escape(_("answered")), escape(_("not answered"))
    parts = []
    for row in rows:
        p = row["position"]
        css, state = ("btn-success", done) if row["answered"] else ("btn-outline-secondary", todo)
        parts.append(
            f'<li><a href="#q{p}" data-position="{p}" class="btn btn-sm sheet-item {css}">{p}'
            f'<span class="visually-hidden sheet-state"> {state}</span></a></li>'
        )
    return mark_safe("".join(parts))  # noqa: S308 -- numbers and translated labels only
