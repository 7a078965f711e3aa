"""Layout and accessibility checks for the trainee's pages in a real browser.

- :func:`assert_fits_viewport`: no horizontal scrolling on the page.
- :func:`assert_unobstructed`: a control scrolled into view is the element under its own centre
  (not hidden behind a sticky bar, a footer or an overlapping block).
- :func:`assert_accessible_basics`: ``<html lang>`` is set, every visible form field has a label,
  every visible button has a name.
- :func:`assert_exam_keyboard_operable`: the exam paper works with a keyboard alone.
- :func:`assert_axe_clean`: axe-core (vendored in ``vendor/``) finds no serious or critical violation.
- :func:`assert_tap_targets`: links, buttons and fields are large enough for a finger (44 px).
- :func:`assert_images_sized`: every image has its size before it loads (no layout shift).

They run JavaScript through Playwright (the DevTools protocol), which the pages' Content-Security-Policy
does not restrict.
"""

from __future__ import annotations

import functools
from pathlib import Path

PAGE_LANGUAGES = ("zh-Hans", "en")

# Visible form fields without a label: label[for] / wrapping label (``el.labels``), aria-label,
# aria-labelledby pointing at elements with text.
_UNLABELLED_JS = """
() => {
  const visible = (el) => {
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden") { return false; }
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && !el.closest("[hidden], [aria-hidden='true']");
  };
  const text = (node) => (node && (node.innerText || node.textContent) || "").trim();
  const named = (el) => {
    if (el.labels && Array.from(el.labels).some((label) => text(label))) { return true; }
    if ((el.getAttribute("aria-label") || "").trim()) { return true; }
    const ids = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    return ids.some((id) => text(document.getElementById(id)));
  };
  const skip = new Set(["hidden", "submit", "button", "reset", "image"]);
  return Array.from(document.querySelectorAll("input, select, textarea"))
    .filter((el) => !skip.has((el.getAttribute("type") || "").toLowerCase()) && visible(el) && !named(el))
    .map((el) => el.outerHTML.slice(0, 160));
}
"""

# Visible buttons (and input buttons) without an accessible name.
_UNNAMED_BUTTONS_JS = """
() => {
  const visible = (el) => {
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden") { return false; }
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const name = (el) => (el.getAttribute("aria-label") || el.getAttribute("title") || el.innerText
    || el.value || "").trim()
    || (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean)
      .map((id) => (document.getElementById(id) || {}).textContent || "").join("").trim();
  return Array.from(document.querySelectorAll("button, input[type=submit], input[type=button]"))
    .filter((el) => visible(el) && !name(el))
    .map((el) => el.outerHTML.slice(0, 160));
}
"""

_OBSTRUCTION_JS = """
(el) => {
  el.scrollIntoView({block: "center", inline: "nearest", behavior: "instant"});
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) { return "has no size (not displayed)"; }
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  if (x < 0 || y < 0 || x > window.innerWidth || y > window.innerHeight) {
    return `is outside the viewport at (${Math.round(x)}, ${Math.round(y)})`;
  }
  const hit = document.elementFromPoint(x, y);
  if (hit && (hit === el || el.contains(hit))) { return ""; }
  return "is covered by " + (hit ? hit.outerHTML.slice(0, 160) : "nothing (outside the document)");
}
"""


def assert_fits_viewport(page) -> None:
    """No horizontal scrolling: the document (``scrollingElement.scrollWidth``) is no wider than the
    window. On a phone (mobile emulation) ``innerWidth`` grows with content that is too wide, so the
    width of the layout viewport (``documentElement.clientWidth``) is the measure there."""
    width, client, inner = page.evaluate(
        "[document.scrollingElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth]"
    )
    assert width <= min(client, inner), (
        f"{page.url} scrolls horizontally: {width}px wide in a {client}px window"
    )


def assert_unobstructed(page, *locators) -> None:
    """Each control (a Playwright locator, first match), scrolled into view, is the element found at
    its own centre, or contains it: nothing is drawn over it."""
    for locator in locators:
        target = locator.first
        target.wait_for(state="visible")
        problem = target.evaluate(_OBSTRUCTION_JS)
        assert not problem, f"{page.url}: {target} {problem}"


def assert_accessible_basics(page) -> None:
    """``<html lang>`` is zh-Hans or en, every visible input / select / textarea has a label, every
    visible button has a name."""
    lang = page.locator("html").get_attribute("lang")
    assert lang in PAGE_LANGUAGES, f"{page.url}: <html lang={lang!r}>"
    unlabelled = page.evaluate(_UNLABELLED_JS)
    assert not unlabelled, f"{page.url}: form fields without a label:\n" + "\n".join(unlabelled)
    unnamed = page.evaluate(_UNNAMED_BUTTONS_JS)
    assert not unnamed, f"{page.url}: buttons without a name:\n" + "\n".join(unnamed)


def _active(page, selector: str) -> bool:
    return page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector)


def _tab_to(page, selector: str, *, key: str = "Tab", limit: int = 80) -> int:
    """Press Tab (or Shift+Tab) until the focused element matches ``selector``; the number of presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        if _active(page, selector):
            return presses
    raise AssertionError(f"{page.url}: {selector} is not reached with {limit} presses of {key}")


def assert_exam_keyboard_operable(page) -> str:
    """The exam paper with a keyboard alone, from a freshly loaded page: Tab reaches an answer option
    and Space selects it (and it is saved); the answer sheet is reached (on a phone Shift+Tab goes
    back to its button and Enter opens the panel) and Enter on a question number moves the focus to
    that question.

    Returns the id of the option selected (the caller's answers then replace it)."""
    from playwright.sync_api import expect

    _tab_to(page, ".exam-question input[type=radio], .exam-question input[type=checkbox]")
    chosen = page.evaluate("document.activeElement.id")
    with page.expect_response(lambda r: r.request.method == "POST" and "/answer/" in r.url):
        page.keyboard.press("Space")
    assert page.locator(f"#{chosen}").is_checked(), "Space on a focused option does not select it"

    sheet_item = "#answer-sheet a.sheet-item"
    if not page.locator(sheet_item).first.is_visible():  # a phone: the sheet is a panel behind a button
        _tab_to(page, "[aria-controls='answer-sheet']", key="Shift+Tab")
        page.keyboard.press("Enter")
        page.wait_for_selector("#answer-sheet.show")
    _tab_to(page, sheet_item)
    position = page.evaluate("document.activeElement.dataset.position")
    page.keyboard.press("Enter")
    expect(page.locator(f"#q{position}")).to_be_focused()
    if page.locator("#answer-sheet.show").count():
        page.wait_for_selector("#answer-sheet.show", state="detached")
    return chosen


# ---------------------------------------------------------------------------------------------
# Issue 19, point 7: axe-core, tap targets, sized images

AXE_SOURCE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"  # see vendor/README.md
AXE_FAILING_IMPACTS = ("serious", "critical")
# Run once per page: every rule axe runs by default (WCAG 2.0–2.2 A/AA and best practices), the
# violations only.
_AXE_RUN_JS = """
async () => {
  const results = await window.axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), html: n.html.slice(0, 160),
                                summary: (n.failureSummary || "").replace(/\\s+/g, " ")})),
  }));
}
"""


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now (all impacts). The vendored script is evaluated
    through the DevTools protocol (``page.evaluate``), which the page's Content-Security-Policy does
    not restrict; a ``<script>`` added to the page would be refused by it (no inline scripts)."""
    if not page.evaluate("typeof window.axe === 'object' && typeof window.axe.run === 'function'"):
        page.evaluate(_axe_source())
    return page.evaluate(_AXE_RUN_JS)


@functools.cache
def _axe_source() -> str:
    return AXE_SOURCE.read_text(encoding="utf-8")


def assert_axe_clean(page, *, impacts: tuple[str, ...] = AXE_FAILING_IMPACTS) -> list[dict]:
    """No axe-core violation of a serious or critical impact; the message names each rule, its help
    text and link, and every element (CSS target, markup, axe's summary of what is wrong). Returns
    the violations of lesser impact (moderate, minor) for the caller to report."""
    violations = axe_violations(page)
    failing = [v for v in violations if v["impact"] in impacts]
    lines = []
    for v in failing:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['url']}>")
        lines += [f"    {n['target']}: {n['html']}\n      {n['summary']}" for n in v["nodes"]]
    assert not failing, f"{page.url}: axe-core violations:\n" + "\n".join(lines)
    return [v for v in violations if v["impact"] not in impacts]


# Controls a finger has to hit. Each one visible (rendered with a box larger than 1 × 1 px, so the
# visually hidden "skip to content" link is left out until it is focused) must be ``min`` CSS pixels
# wide and tall, measured on the area that acts on a tap: a checkbox or radio button together with
# its label(s) (a tap on the label ticks it). Exempt, as WCAG 2.5.5 / 2.5.8 allow ("Inline: the
# target is in a sentence or its size is otherwise constrained by the line-height of non-target
# text"): a link that is laid out inline (``display: inline``) in a block which also holds text of
# its own, outside any control (a link in a sentence). A link alone in its paragraph, list item or
# table cell is not in a sentence and is measured.
_TAP_TARGETS_JS = """
([scope, min]) => {
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, " +
    "[role=button], [role=link], [role=tab], [role=checkbox], [role=radio]";
  const controls = "a[href], button, input, select, textarea, summary, label, [role=button], [role=link]";
  const rendered = (el) => {
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") { return null; }
    const r = el.getBoundingClientRect();
    return r.width > 1 && r.height > 1 ? r : null;
  };
  const union = (a, b) => ({left: Math.min(a.left, b.left), top: Math.min(a.top, b.top),
                            right: Math.max(a.right, b.right), bottom: Math.max(a.bottom, b.bottom)});
  const block = (el) => {
    let node = el.parentElement;
    while (node && ["inline", "contents"].includes(getComputedStyle(node).display)) { node = node.parentElement; }
    return node;
  };
  const inSentence = (el) => {
    if (el.tagName !== "A" || getComputedStyle(el).display !== "inline") { return false; }
    const container = block(el);
    if (!container) { return false; }
    const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const owner = node.parentElement;
      if (owner.closest(controls) || !rendered(owner)) { continue; }
      if (node.textContent.trim()) { return true; }
    }
    return false;
  };
  const small = [];
  const roots = Array.from(document.querySelectorAll(scope));
  for (const el of roots.flatMap((root) => Array.from(root.querySelectorAll(selector)))) {
    const own = rendered(el);
    if (!own || el.closest("[aria-hidden='true']") || inSentence(el)) { continue; }
    let box = {left: own.left, top: own.top, right: own.right, bottom: own.bottom};
    if (["checkbox", "radio"].includes(el.type) && el.labels) {
      for (const label of el.labels) {
        const r = rendered(label);
        if (r) { box = union(box, r); }
      }
    }
    const width = box.right - box.left, height = box.bottom - box.top;
    if (width < min - 0.5 || height < min - 0.5) {
      small.push(`${Math.round(width)}×${Math.round(height)} px: ${el.outerHTML.slice(0, 140)}`);
    }
  }
  return small;
}
"""


def assert_tap_targets(page, min_px: int = 44, *, scope: str = "main") -> None:
    """Every visible link, button and form field inside ``scope`` (a CSS selector; the page's main
    content by default) is at least ``min_px`` × ``min_px`` CSS pixels, links in a sentence exempt
    (see ``_TAP_TARGETS_JS``)."""
    small = page.evaluate(_TAP_TARGETS_JS, [scope, min_px])
    assert not small, f"{page.url}: tap targets smaller than {min_px} px:\n" + "\n".join(small)


_SIZE_PROPERTIES = ("width", "height", "aspect-ratio")
_UNSIZED = ("", "auto", "initial", "inherit", "unset", "revert", "none")


def _declared_sizes(cdp, node_id: int) -> dict[str, str]:
    """The author's declarations of width, height and aspect-ratio that apply to the element (the
    stylesheets' rules in cascade order, then its style attribute); the user agent's are left out."""
    matched = cdp.send("CSS.getMatchedStylesForNode", {"nodeId": node_id})
    declared: dict[str, tuple[bool, str]] = {}
    styles = [
        rule["rule"]["style"]
        for rule in matched.get("matchedCSSRules", [])
        if rule["rule"].get("origin") != "user-agent"
    ]
    if matched.get("inlineStyle"):
        styles.append(matched["inlineStyle"])
    for style in styles:
        for prop in style.get("cssProperties", []):
            name = prop.get("name")
            if name not in _SIZE_PROPERTIES or prop.get("disabled") or prop.get("parsedOk") is False:
                continue
            important = bool(prop.get("important"))
            if name in declared and declared[name][0] and not important:
                continue
            declared[name] = (important, prop.get("value", "").strip().lower())
    return {name: value for name, (_important, value) in declared.items()}


def assert_images_sized(page) -> None:
    """Every ``<img>`` has its box before its file arrives, so nothing moves when it loads: both
    ``width`` and ``height`` attributes (the browser takes the aspect ratio from them), or a CSS width
    and height that are not ``auto``, or one of them and a CSS ``aspect-ratio``. Images positioned
    out of the flow (absolute, fixed) move nothing and are exempt — the rule of Lighthouse's
    "Image elements have explicit width and height". Reads the matched CSS rules through the DevTools
    protocol (Chromium)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        unsized = []
        for node_id in cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": "img"})["nodeIds"]:
            flat = cdp.send("DOM.getAttributes", {"nodeId": node_id})["attributes"]
            attributes = dict(zip(flat[::2], flat[1::2], strict=True))
            if (
                attributes.get("width", "").strip().isdigit()
                and attributes.get("height", "").strip().isdigit()
            ):
                continue
            computed = {
                item["name"]: item["value"]
                for item in cdp.send("CSS.getComputedStyleForNode", {"nodeId": node_id})["computedStyle"]
            }
            if computed.get("position") in ("absolute", "fixed") or computed.get("display") == "none":
                continue
            declared = {name: attributes[name] for name in ("width", "height") if name in attributes}
            declared.update(_declared_sizes(cdp, node_id))  # CSS wins over the attributes
            declared = {name: value for name, value in declared.items() if value.strip() not in _UNSIZED}
            if ("width" in declared or "height" in declared) and len(declared) >= 2:
                continue
            html = cdp.send("DOM.getOuterHTML", {"nodeId": node_id})["outerHTML"][:160]
            unsized.append(f"{html} (CSS: {declared or 'no size'})")
    finally:
        cdp.detach()
    assert not unsized, f"{page.url}: images without a size (the layout moves when they load):\n" + "\n".join(
        unsized
    )
