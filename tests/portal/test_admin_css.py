"""The shared admin styles (static/css/admin.css): every status badge and warning colour meets WCAG
AA contrast (4.5:1) on its background."""

import re
from pathlib import Path

import pytest

from portal.admin_lists import BADGE_TONES

CSS = (Path(__file__).resolve().parents[2] / "static" / "css" / "admin.css").read_text()


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_formula():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#777777", "#ffffff") < 4.5  # a grey that fails AA, so the check can fail


@pytest.mark.parametrize("tone", BADGE_TONES)
def test_every_badge_tone_is_aa(tone):
    rule = re.search(rf"\.status-badge--{tone} \{{([^}}]*)\}}", CSS)
    assert rule, f"no rule for the {tone} badge"
    colour = re.search(r"(?<![-\w])color: (#[0-9a-f]{6})", rule.group(1)).group(1)
    background = re.search(r"background: (#[0-9a-f]{6})", rule.group(1)).group(1)
    assert contrast(colour, background) >= 4.5, (tone, colour, background)


@pytest.mark.parametrize(
    "selector", [".section-links .link-overdue", ".section-links .link-due-soon", ".state-overdue"]
)
def test_progress_board_colours_are_aa_on_white(selector):
    rule = re.search(re.escape(selector) + r" \{([^}]*)\}", CSS)
    assert rule, selector
    colour = re.search(r"color: (#[0-9a-f]{6})", rule.group(1)).group(1)
    assert contrast(colour, "#ffffff") >= 4.5, (selector, colour)
