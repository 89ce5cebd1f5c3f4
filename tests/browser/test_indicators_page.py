"""The staff indicators page and its print preview in Chromium: axe, and no sideways scrolling."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client

from resourcemap.reference import viewer_group_name
from tests.browser.test_accessibility import (
    AXE_JS,
    AXE_TAGS,
    DESKTOP,
    PHONE,
    _axe,
    _context,
    _report,
)
from tests.factories import ensure_reference, make_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff_cookie(transactional_db, live_server):
    ensure_reference()
    make_provider(type_code="nursing", area_code="yoga", capabilities={"h24": {}})
    make_provider(type_code="clinic", area_code="okusawa", capabilities={"home_visit": {}})
    user = User.objects.create_user("viewer", password="pass-Word-1234", is_staff=True)
    user.groups.add(Group.objects.get(name=viewer_group_name()))
    client = Client()
    client.force_login(user)
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": live_server.url}


def _axe_content(page) -> list[dict]:
    # Through the debugging protocol: the page's Content-Security-Policy refuses inline scripts.
    page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;true")
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run("#content-main", { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ") + " | " + n.failureSummary.replace(/\\s+/g, " ")),
            }));
        }""",
        AXE_TAGS,
    )


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("path", ["/admin/indicators/?region=tamagawa", "/admin/indicators/print/"])
def test_staff_indicator_pages_pass_axe_and_reflow(live_server, browser, staff_cookie, viewport, path):
    context = _context(browser, **(DESKTOP if viewport == "desktop" else PHONE))
    try:
        context.add_cookies([staff_cookie])
        page = context.new_page()
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        assert "評価指標" in page.content()
        if path.startswith("/admin/indicators/?"):
            violations = _axe_content(page)  # the page itself, not Django's admin header
        else:
            violations = _axe(page)
        assert violations == [], f"{path} at {viewport}:\n{_report(violations)}"
        width, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width <= client, f"{path} at {viewport}: {width}px wide in a {client}px viewport"
    finally:
        context.close()
