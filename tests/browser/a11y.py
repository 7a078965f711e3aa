"""Layout and accessibility checks for the trainee's pages in a real browser.

- :func:`assert_fits_viewport`: no horizontal scrolling on the page.
- :func:`assert_unobstructed`: a control scrolled into view is the element under its own centre
  (not hidden behind a sticky bar, a footer or an overlapping block).
- :func:`assert_accessible_basics`: ``<html lang>`` is set, every visible form field has a label,
  every visible button has a name.
- :func:`assert_exam_keyboard_operable`: the exam paper works with a keyboard alone.

They run JavaScript through Playwright (the DevTools protocol), which the pages' Content-Security-Policy
does not restrict.
"""

from __future__ import annotations

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
