"""The report and the dashboard in Debian's chromium (Playwright): offline, drawn, interactive, escaped.

Screenshots go to tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from views_synthetic import served_dashboard, write_synthetic_result

from sim.views.report import write_report

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]

FIGURES_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
    id: gd.id,
    traces: gd._fullData.length,
    points: gd._fullData.reduce((n, t) => n + ((t.x && t.x.length) || (t.z && t.z.length)
        || (t.dimensions && t.dimensions.length) || 0), 0),
}))"""


def guard(page: Any, allowed: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Record console errors and every request; abort (and record) any request to another origin."""
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(allowed) else outside.append(r.url))

    def route(r: Any) -> None:
        if r.request.url.startswith(allowed):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return errors, outside


OFFLINE = ("file:", "data:", "blob:", "about:")


# --------------------------------------------------------------------------- the static report
@pytest.fixture
def report_page(page: Any, make_result: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    folder = make_result("run", reps=12, steps=200, factors=None)
    out = write_report(folder)
    errors, outside = guard(page, OFFLINE)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(out.as_uri())
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 8")
    yield page, errors, outside


def test_report_opens_offline_and_draws_every_figure(report_page: Any, artifacts: Path):
    page, errors, outside = report_page
    figures = page.evaluate(FIGURES_JS)
    assert len(figures) >= 8
    for f in figures:
        assert f["traces"] > 0 and f["points"] > 0, f
    page.screenshot(path=str(artifacts / "report_full.png"), full_page=True)
    for el in page.query_selector_all("figure.plot"):
        el.screenshot(path=str(artifacts / f"report_{el.get_attribute('data-name')}.png"))
    assert errors == []
    assert outside == []


def test_map_slider_changes_the_day_drawn(report_page: Any, artifacts: Path):
    page, errors, _ = report_page
    gd = "document.getElementById('fig-incident_map')"
    state = f"""() => {{
        const gd = {gd};
        const cap = gd._fullData.find(t => t.name === 'day');
        const inc = gd._fullData.find(t => t.name === 'incidents');
        return {{caption: cap.text[0], x: Array.from(inc.x || [])}};
    }}"""
    before = page.evaluate(state)
    page.locator("#fig-incident_map").scroll_into_view_if_needed()
    rail = page.locator("#fig-incident_map .slider-rail-rect").bounding_box()
    page.mouse.click(rail["x"] + rail["width"] * 0.285, rail["y"] + rail["height"] / 2)
    page.wait_for_function(
        f"() => {gd}._fullData.find(t => t.name === 'day').text[0] !== {before['caption']!r}"
    )
    after = page.evaluate(state)
    assert after["caption"] != before["caption"]
    # what is drawn is the frame of the day the caption names
    frame = page.evaluate(
        f"""(cap) => {{
        const gd = {gd};
        const f = gd._transitionData._frames.find(fr => fr.data[1].text[0] === cap);
        return Array.from(f.data[0].x);
    }}""",
        after["caption"],
    )
    assert after["x"] == pytest.approx(frame)
    page.locator("#fig-incident_map").screenshot(path=str(artifacts / "report_map_slider.png"))
    assert errors == []


def test_script_in_a_title_shows_as_text(page: Any, make_result: Any, artifacts: Path):
    title = "<script>window.__pwned = 1</script><img src=x onerror='window.__pwned = 2'>"
    folder = make_result("evil", reps=3, steps=30, title=title, description="<b>not bold</b>")
    out = write_report(folder)
    errors, outside = guard(page, OFFLINE)
    page.goto(out.as_uri())
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 8")
    assert page.inner_text("h1") == title
    assert page.evaluate("() => window.__pwned === undefined")
    assert page.evaluate("() => document.querySelector('header b') === null")
    page.locator("header").screenshot(path=str(artifacts / "report_escaped_title.png"))
    assert outside == []  # the <img src=x> never became a request


@pytest.fixture
def sweep_report(page: Any, make_result: Any) -> Iterator[tuple[Any, list[str]]]:
    folder = make_result("sweep", reps=120, steps=40, factors={
        "roe": lambda rng, r: float(r % 3) / 2, "isr": lambda rng, r: float(rng.uniform(0, 1)),
        "reserve": lambda rng, r: float(r % 2)})  # fmt: skip
    out = write_report(folder)
    errors, outside = guard(page, OFFLINE)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(out.as_uri())
    page.wait_for_function("() => document.getElementById('fig-sweep_heatmap') !== null")
    yield page, errors
    assert outside == []


def _menu(page: Any, fig: str, menu: int, option: str) -> None:
    page.locator(f"#{fig}").scroll_into_view_if_needed()
    page.locator(f"#{fig} .updatemenu-header-group").nth(menu).click()
    page.locator(f"#{fig} .updatemenu-dropdown-button").filter(has_text=option).first.click()


def test_sweep_dropdowns_change_what_is_drawn(sweep_report: Any, artifacts: Path):
    page, errors = sweep_report
    gd = "document.getElementById('fig-sweep_heatmap')"
    visible = f"() => {gd}._fullData.filter(t => t.visible === true).map(t => t.name)"
    assert page.evaluate(visible) == ["P(level ≥ L3)"]
    _menu(page, "fig-sweep_heatmap", 1, "L5 organised armed attack")
    page.wait_for_function(f"() => {gd}._fullData.find(t => t.visible === true).name === 'P(level ≥ L5)'")
    assert "L5" in page.evaluate(f"() => {gd}.layout.title.text")
    x_before = page.evaluate(f"() => {gd}._fullLayout.xaxis.title.text")
    _menu(page, "fig-sweep_heatmap", 0, "isr × roe")
    page.wait_for_function(f"() => {gd}._fullLayout.xaxis.title.text === 'isr'")
    assert x_before == "roe"
    heat = page.evaluate(f"() => {gd}._fullData.find(t => t.visible === true)")
    assert heat["name"] == "P(level ≥ L5)"  # the level chosen first survives the change of factors
    page.locator("#fig-sweep_heatmap").screenshot(path=str(artifacts / "report_sweep_heatmap.png"))
    _menu(page, "fig-main_effects", 0, "L6 interstate militarised crisis")
    page.wait_for_function(
        "() => document.getElementById('fig-main_effects')._fullData.filter(t => t.visible === true)"
        ".every(t => t.name === 'P(level ≥ L6)')"
    )
    page.locator("#fig-main_effects").screenshot(path=str(artifacts / "report_main_effects.png"))
    page.locator("#fig-parallel_coordinates").screenshot(path=str(artifacts / "report_parcoords.png"))
    assert errors == []


# --------------------------------------------------------------------------- the dashboard
def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on this port (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if int(hexport, 16) == port and state == "0A":
                found.add(addr)
    return found


@pytest.fixture
def dashboard(make_result: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    a = make_result("a", reps=6, steps=90, name="alpha")
    b = make_result("b", reps=6, steps=90, name="beta", seed=5)
    with served_dashboard(a, b, refresh=1) as (url, port):
        yield {"url": url, "port": port, "a": a, "b": b, "tmp": tmp_path}


def test_dashboard_serves_only_on_loopback(dashboard: dict[str, Any]):
    assert _listening_addresses(dashboard["port"]) == {"0100007F"}  # 127.0.0.1, nothing else


def _fig(page: Any, gid: str) -> str:
    return f"document.querySelector('#{gid} .js-plotly-plot')"


def _medians(page: Any, gid: str) -> list[str]:
    return page.evaluate(
        f"() => {_fig(page, gid)}._fullData.filter(t => t.hoverinfo !== 'skip' && t.type === 'scatter')"
        ".map(t => t.name)"
    )


def test_dashboard_filters_and_links_change_its_figures(
    page: Any, dashboard: dict[str, Any], artifacts: Path
):
    origin = dashboard["url"].rstrip("/")
    errors, outside = guard(page, (origin,))
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(dashboard["url"])
    page.wait_for_function(f"() => {_fig(page, 'envelope')} && {_fig(page, 'envelope')}._fullData.length > 0")
    page.wait_for_function(f"() => {_fig(page, 'map')} && {_fig(page, 'map')}._fullData.length > 0")
    assert sorted(_medians(page, "envelope")) == ["alpha", "beta"]
    page.screenshot(path=str(artifacts / "dashboard_full.png"), full_page=True)

    # folder filter: unticking beta leaves one band
    page.get_by_label("beta").uncheck()
    page.wait_for_function(
        f"() => {_fig(page, 'envelope')}._fullData.filter(t => t.hoverinfo !== 'skip').length === 1"
    )

    # outcome dropdown (Radix): the y axis follows the chosen outcome
    page.locator("#outcome").click()
    page.get_by_role("option", name="perceived legitimacy (0 to 1)").click()
    page.wait_for_function(
        f"() => {_fig(page, 'envelope')}._fullLayout.yaxis.title.text === 'perceived legitimacy (0 to 1)'"
    )

    # replication range: only replication 0 leaves shares of 0 or 1 in the level strip
    upper = page.locator("#reps input").last
    upper.fill("0")
    upper.press("Tab")  # the input commits its value when it loses focus
    page.wait_for_function(
        f"""() => {{
        const heat = {_fig(page, "levels")}._fullData.find(t => t.type === 'heatmap');
        return heat && heat.z.every(row => Array.from(row).every(v => v === 0 || v === 1));
    }}"""
    )

    # linked views: a click on the level strip moves the map to that day
    title_before = page.evaluate(f"() => {_fig(page, 'map')}._fullLayout.title.text")
    page.locator("#levels").scroll_into_view_if_needed()
    drag = max((d.bounding_box() for d in page.locator("#levels .nsewdrag").all()), key=lambda b: b["height"])
    page.mouse.click(drag["x"] + drag["width"] * 0.6, drag["y"] + drag["height"] * 0.5)
    page.wait_for_function(
        f"() => {_fig(page, 'map')}._fullLayout.title.text !== {title_before!r}", timeout=15000
    )
    marks = page.evaluate(
        f"() => {_fig(page, 'forces')}._fullLayout.shapes.filter(s => s.name === 'chosen-day')"
    )
    assert len(marks) == 1
    page.screenshot(path=str(artifacts / "dashboard_filtered.png"), full_page=True)
    assert errors == []
    assert outside == []


def test_dashboard_rereads_files_as_they_grow(page: Any, dashboard: dict[str, Any], artifacts: Path):
    errors, outside = guard(page, (dashboard["url"].rstrip("/"),))
    page.goto(dashboard["url"])
    page.wait_for_function("() => document.getElementById('status')?.innerText?.includes('12 runs')")
    fresh = write_synthetic_result(dashboard["tmp"] / "fresh", reps=10, steps=90, name="alpha")
    for name in ("timeseries", "events", "runs"):  # atomic replacement, as the store publishes
        tmp = dashboard["a"] / f".{name}.parquet.tmp"
        tmp.write_bytes((fresh / f"{name}.parquet").read_bytes())
        os.replace(tmp, dashboard["a"] / f"{name}.parquet")
    page.wait_for_function(
        "() => document.getElementById('status')?.innerText?.includes('16 runs')", timeout=45000
    )
    # the full replication range grows with the data
    page.wait_for_function(
        "() => { const i = document.querySelectorAll('#reps input'); return i.length && i[i.length - 1].value === '9'; }"
    )
    page.screenshot(path=str(artifacts / "dashboard_live.png"))
    assert errors == []
    assert outside == []
