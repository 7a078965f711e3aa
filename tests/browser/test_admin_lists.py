"""Staff lists at 1366 px (a common office laptop): the trainee list shows every column without
horizontal scrolling, its status badges stay on one line; the admin index shows the to-do panel."""

from registration.models import TraineeStatus
from tests.factories import PASSWORD, ApplicationFactory, CompleteTraineeFactory, StaffFactory, TraineeFactory


def _admin_login(page, live_server, staff):
    page.goto(live_server.url + "/admin/login/")
    page.locator("#id_username").fill(staff.mobile)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(live_server.url + "/admin/")


def test_trainee_list_fits_1366_px_without_horizontal_scroll(live_server, open_page):
    application = ApplicationFactory(unit_name="广州市越秀区示例机电设备安装工程有限责任公司第二分公司")
    for status in (TraineeStatus.SUBMITTED, TraineeStatus.RETURNED, TraineeStatus.APPROVED):
        CompleteTraineeFactory(application=application, status=status, name="欧阳示例")
    TraineeFactory(
        application=application,
        certificate_type="safety_manager",
        training_category="refresher",
        name="司马示例",
    )
    reviewer = StaffFactory(role="reviewer")

    watched = open_page("desktop")
    page = watched.page
    _admin_login(page, live_server, reviewer)
    # The to-do panel on the index links to the list of registrations awaiting review.
    panel = page.locator("#todo-panel")
    assert panel.is_visible()
    panel.locator("[data-todo=trainees_review] a").click()
    # Wait for the navigation itself (a load-state wait can return for the index still shown).
    page.wait_for_url("**/admin/registration/trainee/**status__exact=submitted**")
    watched.screenshot("trainees-awaiting-review")

    page.goto(live_server.url + "/admin/registration/trainee/?_all=1")
    assert page.locator("#result_list tbody tr").count() == 4
    watched.screenshot("trainee-list-1366")
    watched.assert_no_horizontal_scroll()
    overflow = page.evaluate(
        "(() => { const r = document.querySelector('#changelist .results');"
        " return r.scrollWidth - r.clientWidth; })()"
    )
    assert overflow <= 1, f"the list scrolls sideways inside the page by {overflow}px"
    # Every badge on one line: its height is one line of text.
    heights = page.locator("#result_list .status-badge").evaluate_all(
        "badges => badges.map(b => b.getBoundingClientRect().height)"
    )
    assert len(heights) == 4 and max(heights) < 32, heights
    # 附件2 and 已缴费 are in view (no scrolling to reach them).
    for column in ("attachment2_done", "paid"):
        box = page.locator(f"#result_list th.column-{column}").bounding_box()
        assert box["x"] + box["width"] <= 1366, column
