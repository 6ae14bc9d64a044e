"""The dashboards in a real browser: Debian's chromium, driven by playwright, logs in as the
executive, opens each dashboard, waits for every chart's data, and finds no chart in an error
state. Screenshots are kept as test artefacts under .local/test/screenshots/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from revenue_os.paths import DASHBOARDS_DIR
from tests.integration.conftest import state_file

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def dashboard_specs() -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted(DASHBOARDS_DIR.glob("*.yaml"))]


# A word with an underscore is a column name or a key leaking through ("display_value",
# "paid_search"); campaign keys are hyphenated by the sources and stay as they are.
SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
EMPTY_STATE = "No results were returned"


def chart_texts(page) -> dict[str, str]:
    """Each chart's title → the text it shows (tables, tiles, headers; canvases have none)."""
    texts = {}
    holders = page.locator(".dashboard-component-chart-holder")
    for index in range(holders.count()):
        text = holders.nth(index).inner_text()
        title, _, body = text.partition("\n")
        texts[title.strip()] = body
    return texts


def scorecards_cut_off(page, spec: dict) -> list[str]:
    """Titles of the one-row-per-KPI scorecards whose rows do not all fit in their frame."""
    scorecards = {
        chart["title"]
        for row in spec["rows"]
        for chart in row["charts"]
        if chart["viz"] == "kpi_table" and chart["kpi"].get("dimension", "overall") == "overall"
    }
    holders = page.locator(".dashboard-component-chart-holder")
    cut = []
    for index in range(holders.count()):
        holder = holders.nth(index)
        title = holder.inner_text().partition("\n")[0].strip()
        scrolls = holder.evaluate(
            "h => [...h.querySelectorAll('*')].some(e => {"
            " const y = getComputedStyle(e).overflowY;"
            " return (y === 'auto' || y === 'scroll') && e.scrollHeight > e.clientHeight + 2; })"
        )
        if title in scorecards and scrolls:
            cut.append(title)
    return cut


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def executive_session(stack, browser):
    """A browser logged in as the executive (the session cookie lives in the context)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})  # a laptop
    page = context.new_page()
    page.goto(f"{stack.profile.superset_url}/login/")
    page.fill("[data-test=username-input]", "executive")
    page.fill("[data-test=password-input]", stack.secrets["SUPERSET_EXECUTIVE_PASSWORD"])
    page.click("[data-test=login-button]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=30_000)
    page.close()
    yield context
    context.close()


@pytest.fixture
def executive_page(executive_session):
    """A fresh tab of the executive's session for each dashboard, as a person opens one."""
    page = executive_session.new_page()
    yield page
    page.close()


@pytest.mark.parametrize("spec", dashboard_specs(), ids=lambda spec: spec["slug"])
def test_dashboard_renders_every_chart_without_error(stack, executive_page, spec):
    page = executive_page
    responses: list[tuple[int, str]] = []
    cached: dict[str, bool] = {}  # each chart's and filter's query: answered from the cache?
    page_errors: list[str] = []
    titles = {chart["title"] for row in spec["rows"] for chart in row["charts"]}

    def record(response) -> None:
        if "/api/v1/chart/data" in response.url:
            responses.append((response.status, response.text()))
            form_data = (response.request.post_data_json or {}).get("form_data") or {}
            if response.ok:
                key = (
                    f"{form_data.get('slice_id') or form_data.get('groupby')} "
                    f"{form_data.get('viz_type')}"
                )
                cached[key] = all(part.get("is_cached") for part in response.json()["result"])

    def record_error(error) -> None:
        page_errors.append(str(error)[:300])

    page.on("response", record)
    page.on("pageerror", record_error)

    def every_chart_drawn() -> None:
        # The grid is drawn after the dashboard's charts and datasets arrive: wait for every
        # chart's frame, not only for a quiet network (the filters' queries can quiet it first).
        try:
            page.wait_for_function(
                "n => document.querySelectorAll('.dashboard-component-chart-holder').length >= n",
                arg=len(titles),
                timeout=60_000,
            )
        except Exception as error:
            raise AssertionError(
                f"{spec['slug']}: {page.locator('.dashboard-component-chart-holder').count()} "
                f"of {len(titles)} charts drawn after 60 s; page errors: {page_errors}"
            ) from error

    try:
        page.goto(f"{stack.profile.superset_url}/superset/dashboard/{spec['slug']}/")
        page.wait_for_selector(
            "[data-test=dashboard-header-container], .dashboard-header", timeout=60_000
        )
        every_chart_drawn()
        page.wait_for_load_state("networkidle", timeout=120_000)
        page.mouse.move(1, 1)  # no hover tooltip in the screenshot
        page.wait_for_timeout(1500)  # let the last charts paint after their data arrived
        # Read what the charts show at the viewer's window size, before the full-page
        # screenshot resizes the window (the grid redraws for the new size).
        every_chart_drawn()
        texts = chart_texts(page)
        cut_off = scorecards_cut_off(page, spec)
        shots = state_file("screenshots")
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"{spec['slug']}.png"), full_page=True)
    finally:
        page.remove_listener("response", record)
        page.remove_listener("pageerror", record_error)

    failed = [(status, body[:300]) for status, body in responses if status != 200]
    assert responses, "the dashboard asked for no chart data"
    assert failed == []
    # The refresh warmed the cache after publishing, the filters' option lists included: the
    # first open runs no query.
    assert cached and {key for key, hit in cached.items() if not hit} == set()
    may_be_empty = {
        chart["title"]
        for row in spec["rows"]
        for chart in row["charts"]
        if chart.get("may_be_empty")
    }
    assert set(texts) == titles
    assert cut_off == []  # every KPI of a scorecard in view, none scrolled below its fold
    assert {t for t, body in texts.items() if EMPTY_STATE in body} <= may_be_empty
    not_applicable = {
        chart["title"]
        for row in spec["rows"]
        for chart in row["charts"]
        if chart.get("not_applicable_cells")
    }
    assert {t: body for t, body in texts.items() if "N/A" in body and t not in not_applicable} == {}
    # A chart the browser refused to run (the Content-Security-Policy) shows the refusal as text.
    assert {t: body[:120] for t, body in texts.items() if "Content Security Policy" in body} == {}
    assert {
        t: SNAKE_CASE.findall(body) for t, body in texts.items() if SNAKE_CASE.search(body)
    } == {}
    errors = page.locator(
        ".chart-container [role=alert], [data-test=chart-container] .ant-alert-error"
    )
    assert errors.count() == 0, errors.first.inner_text()
