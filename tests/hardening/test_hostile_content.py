"""Hostile text in a scenario file runs nothing and fetches nothing, from ``run`` through report.html.

A scenario extending the baseline puts markup in every piece of free text a user writes: title,
description, place names and municipalities, KFOR, police and armed-group names, event labels,
reinforcement unit names and provenance notes. After a real ``run``, report.html must hold no
tag or attribute that came from that text, no script it did not write itself, and no address a
browser would fetch; in chromium no dialog fires and no request leaves the file. The text must
still be shown, as text.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import psutil
import pyarrow.parquet as pq
import pytest

from sim.runner import run_scenario

from .conftest import BASELINE, SHORT_END, sim_process

EXTRA = (
    '<svg onload=alert(1)><iframe src=https://evil.example/f></iframe><a href="javascript:alert(1)">x</a>'
    "<base href=https://evil.example/><link rel=stylesheet href=https://evil.example/c.css>"
    '<meta http-equiv=refresh content="0;url=https://evil.example/">'
    "<style>@import url(https://evil.example/i.css)</style>{{7*7}}${7*7}"
)
"""More ways in, in the one field long enough for them (the description)."""


def payload(field: str) -> str:
    """Markup that would run or fetch if it reached the page unescaped, tagged with its field.

    Under 120 characters for the short fields (place names); the description carries EXTRA too.
    """
    text = f"\"'><img src=https://evil.example/{field} onerror=alert('{field}')></script><script>alert('{field}')</script>"
    return text + EXTRA if field == "description" else text


def q(field: str) -> str:
    return json.dumps(payload(field))  # a JSON string is a valid YAML double-quoted scalar


HOSTILE_YAML = f"""extends: {BASELINE}
name: hostile
title: {q("title")}
description: {q("description")}
calendar:
  resident_scale: 0.02
  replications: 3
  end: {SHORT_END}
geography:
  places:
    - {{id: zvecan, name: {q("place")}, municipality: {q("municipality")}}}
    - {{id: raska, name: {q("staging")}}}
actors:
  kfor:
    - {{id: kfor_hu_north, name: {q("kfor_unit")}}}
  police:
    - {{id: kp_zvecan, name: {q("police_unit")}}}
  armed_groups:
    - {{id: banjska_group, name: {q("armed_group")}}}
posture:
  kfor:
    roe: {{value: 0.0, unit: "1", source: "SEED 003", note: {q("note")}}}
timeline:
  - {{id: election_april, label: {q("label_election")}}}
  - {{id: install_mayors, label: {q("label_operation")}}}
  - {{id: banjska_plan, label: {q("label_attack")}}}
  - {{id: orf_may_decision, name: {q("reinforcement_name")}}}
"""


class Page(HTMLParser):
    """Every tag, attribute and script body of a page, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


@pytest.fixture(scope="module")
def hostile_result(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    scenario = folder / "hostile.yaml"
    scenario.write_text(HOSTILE_YAML, encoding="utf-8")
    return run_scenario(scenario, out=folder / "result")


@pytest.fixture(scope="module")
def page_html(hostile_result: Path) -> str:
    return (hostile_result / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def parsed(page_html: str) -> Page:
    p = Page()
    p.feed(page_html)
    p.close()
    return p


def test_the_hostile_text_reached_the_results(hostile_result: Path) -> None:
    """Otherwise the checks below would pass for want of anything to escape."""
    summary = json.loads((hostile_result / "summary.json").read_text(encoding="utf-8"))
    assert summary["scenario"]["title"] == payload("title")
    assert summary["scenario"]["description"] == payload("description")
    assert payload("place") in {p["name"] for p in summary["places"]}
    assert {payload(f) for f in ("label_election", "label_operation", "label_attack")} <= {
        t["label"] for t in summary["timeline"]
    }
    assert payload("note") in json.dumps(summary["provenance"])
    assert pq.read_table(hostile_result / "runs.parquet").num_rows == 3


def test_no_tag_or_attribute_comes_from_user_text(parsed: Page) -> None:
    names = {tag for tag, _ in parsed.tags}
    assert not names & {"img", "svg", "iframe", "object", "embed", "form", "input", "base", "link"}, names
    handlers = [(tag, k) for tag, attrs in parsed.tags for k, _ in attrs if k.lower().startswith("on")]
    assert handlers == []
    assert all(v is None or "evil.example" not in v for _, attrs in parsed.tags for _, v in attrs)


def test_every_script_is_one_the_report_wrote(parsed: Page, page_html: str) -> None:
    scripts = [s.strip() for s in parsed.scripts]
    bundle, figures = scripts[0], scripts[1:]
    assert "plotly" in bundle[:2000].lower(), "the first script is the inlined plotly.js"
    assert figures and all(s.startswith("window.PLOTLYENV") for s in figures), [s[:60] for s in figures]
    assert page_html.lower().count("<script") == len(scripts) == page_html.lower().count("</script>")
    assert all(attrs in ([], [("type", "text/javascript")]) for tag, attrs in parsed.tags if tag == "script")
    for s in figures:  # user text inside figure data is JSON with < and / escaped
        assert "</" not in s and "<script" not in s.lower()


def test_user_text_is_shown_as_text(parsed: Page) -> None:
    text = "".join(parsed.text)
    for field in ("title", "description", "place", "label_election", "label_operation", "note"):
        assert payload(field) in text, f"{field} is shown literally"


def test_nothing_a_browser_would_fetch(parsed: Page, page_html: str) -> None:
    refs = [
        (tag, k, v)
        for tag, attrs in parsed.tags
        for k, v in attrs
        if k in ("src", "href", "action", "srcset")
    ]
    assert all(v is not None and v.startswith("#") for _, _, v in refs), refs
    css = "".join(re.findall(r"<style>(.*?)</style>", page_html, flags=re.S))
    assert not re.search(r"url\(|@import", css), "styles fetch nothing"


@pytest.mark.browser
def test_chromium_fires_no_dialog_and_sends_no_request(hostile_result: Path, page: Any) -> None:
    dialogs: list[str] = []
    outside: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r: Any) -> None:
        if r.request.url.startswith(("file:", "data:", "blob:", "about:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto((hostile_result / "report.html").as_uri())
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8")
    for fig in page.locator(".js-plotly-plot").all()[:4]:  # hover labels render user text too
        fig.scroll_into_view_if_needed()
        fig.hover()
    page.wait_for_timeout(300)
    assert dialogs == []
    assert outside == []
    assert errors == []
    assert page.evaluate("() => document.querySelectorAll('img, iframe, header svg').length") == 0
    assert page.inner_text("h1") == payload("title")


# --------------------------------------------------------------------------- the dashboard
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - a loopback URL built here
        return r.read().decode("utf-8")


@pytest.mark.slow
def test_the_dashboard_binds_loopback_by_default_and_loads_nothing_remote(hostile_result: Path) -> None:
    port = _free_port()
    proc = sim_process("dashboard", str(hostile_result), "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                index = _get(base + "/")
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"dashboard exited: {proc.communicate()[1]}")
                time.sleep(0.1)
        else:
            pytest.fail("the dashboard never answered")
        listening = {
            c.laddr.ip
            for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            for c in p.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        }
        assert listening == {"127.0.0.1"}, listening
        layout = _get(base + "/_dash-layout")
    finally:
        os.killpg(os.getpgid(proc.pid), signal.SIGTERM)
        proc.wait(15)
    page = Page()
    page.feed(index)
    remote = [v for _, attrs in page.tags for k, v in attrs if k in ("src", "href") and v and "://" in v]
    assert remote == [], "the dashboard page loads nothing from another host"
    raw_html = [c for c in _components(json.loads(layout)) if c["props"].get("dangerously_allow_html")]
    assert raw_html == [], "no component renders text as HTML"
    assert not {c["type"] for c in _components(json.loads(layout))} & {
        "Iframe",
        "Script",
        "Embed",
        "ObjectEl",
    }


def _components(node: Any) -> list[dict[str, Any]]:
    """Every Dash component in a serialised layout."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "props" in node and "type" in node:
            found.append(node)
        for value in node.values():
            found += _components(value)
    elif isinstance(node, list):
        for value in node:
            found += _components(value)
    return found
