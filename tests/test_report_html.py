"""report.html (docs/usage.md, "Reports"): written on every run beside report.json and report.md, self-contained,
drawn from report.json's own text, every outside string shown as text; and opened in a real browser (headless
Chromium through Selenium): no console error, the "broke" filter shows exactly the broken cases, a case's detail
shows production's and the candidate's outputs, a hostile output stays text. The screenshot it takes is left in
test-artifacts/ for a reviewer."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from evaluator.cli import main
from evaluator.report.html import embedded_json
from tests.fake_openai import Reply, fake_openai
from tests.helpers import ROOT, benchmark_rows, write_jsonl

HOSTILE_OUTPUT = '<script>window.__xss = 1</script>{"action":"list_tasks"}'
HOSTILE_ID = '<img src=x onerror="window.__xss=2">'
HOSTILE_REASONING = "<script>window.__xss = 3</script>dropped the <b>due</b> date"
VERDICT = json.dumps({"reasoning": HOSTILE_REASONING, "scores": {"accuracy": 2, "helpfulness": 3, "format_quality": 5}})
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def block_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The shipped benchmark's 500 cases, one with a hostile id. Production is right on all but the last 20;
    the candidate breaks the first 30 (one with a hostile output), fixes 8 of production's failures and keeps 12:
    BLOCK against production's baseline. A judge on loopback grades a sample with hostile reasoning."""
    root = tmp_path_factory.mktemp("html")
    rows = benchmark_rows(500)
    rows[3]["id"] = HOSTILE_ID
    bench = write_jsonl(root / "bench.jsonl", rows)
    production = [{"id": r["id"], "output": "{}" if i >= 480 else r["expected_output"]} for i, r in enumerate(rows)]
    candidate = [{"id": r["id"], "output": (HOSTILE_OUTPUT if i == 5 else "{}") if i < 30 or i >= 488
                  else r["expected_output"]} for i, r in enumerate(rows)]
    write_jsonl(root / "production.jsonl", production)
    write_jsonl(root / "candidate.jsonl", candidate)
    config = root / "config.yaml"
    config.write_text("judge: {provider: none}\n")
    common = ["--benchmark", str(bench), "--quiet", "--no-cache"]
    assert main(["run", "--predictions", str(root / "production.jsonl"), *common, "--config", str(config),
                 "--output-dir", str(root / "production"), "--update-baseline", str(root / "baseline.json")]) == 0
    with fake_openai(lambda body, index: Reply(content=VERDICT)) as judge:
        judged = root / "judged.yaml"
        judged.write_text(f"judge: {{base_url: '{judge.base_url}', model: judge, sample_rate: 0.02, "
                          "prices: {judge: {input: 0, output: 0}}}\n")
        assert main(["run", "--predictions", str(root / "candidate.jsonl"), *common, "--config", str(judged),
                     "--baseline", str(root / "baseline.json"), "--output-dir", str(root / "out")]) == 1
    report = json.loads((root / "out" / "report.json").read_text())
    return {"root": root, "page": root / "out" / "report.html", "report": report,
            "broke": {c["id"] for c in report["comparison"]["flipped_cases"]}}


def outside_the_data(page: str) -> str:
    return re.sub(r'<script type="application/json" id="report-data">.*?</script>', "", page, flags=re.DOTALL)


def test_the_page_is_one_file_that_embeds_report_json_and_fetches_nothing(block_run: dict[str, Any]) -> None:
    page = block_run["page"].read_text(encoding="utf-8")
    report_text = (block_run["root"] / "out" / "report.json").read_text(encoding="utf-8")
    assert embedded_json(report_text) in page  # report.json's own text, not a second copy of the truth
    assert json.loads(embedded_json(report_text)) == block_run["report"]
    code = outside_the_data(page)
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|<link|@import|\bsrc=|fetch\(|XMLHttpRequest", code)
    assert "default-src 'none'" in code  # the browser refuses any request the page might make
    assert sum(1 for case in block_run["report"]["cases"] if case.get("judge_reasoning") == HOSTILE_REASONING) >= 10
    assert HOSTILE_OUTPUT not in page and "<script>window.__xss" not in page and HOSTILE_ID not in page
    assert "<b>due</b>" not in page
    assert len(page.encode()) < 2_000_000, len(page.encode())  # the 500-case run: well under 2 MB


def test_reports_are_written_together_and_a_command_line_error_leaves_none(block_run: dict[str, Any],
                                                                          tmp_path: Path) -> None:
    out = block_run["root"] / "out"
    assert {p.name for p in out.iterdir()} >= {"report.json", "report.md", "report.html"}
    assert "report.html" in (out / "report.md").read_text()
    assert main(["run", "--predictions", str(tmp_path / "missing.jsonl"), "--benchmark",
                 str(block_run["root"] / "bench.jsonl"), "--output-dir", str(tmp_path / "err")]) == 2
    assert not (tmp_path / "err" / "report.html").exists()  # nothing claims a verdict this run did not reach


def test_taskeval_view_opens_the_page(block_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture) -> None:
    import webbrowser

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda uri: opened.append(uri) or True)
    assert main(["view", str(block_run["root"] / "out")]) == 0
    assert opened == [block_run["page"].resolve().as_uri()]
    assert main(["view", str(block_run["root"])]) == 2
    assert "no report.html here" in capsys.readouterr().err


def chromium() -> Any:
    """Headless Chromium through Selenium, or a skip that says why (make test installs both where it can)."""
    browser, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver_path is None:
        pytest.skip("no headless Chromium here: `make browser` installs Debian's chromium and chromium-driver "
                    "(it needs apt-get and root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1800"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(driver_path))


def test_the_page_in_a_real_browser(block_run: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    driver = chromium()
    try:
        driver.get(block_run["page"].resolve().as_uri())  # returns once the page has loaded and its script ran
        assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true"
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == [], errors
        assert driver.find_element(By.TAG_NAME, "h1").text.startswith("taskeval: BLOCK")
        rows = driver.find_elements(By.CSS_SELECTOR, "#cases tbody tr")
        assert len(rows) == 500 + len(block_run["report"]["stages"][2].get("details", {}).get("unsafe_cases", []))

        driver.find_element(By.CSS_SELECTOR, 'button[data-filter="broke"]').click()
        shown = {row.get_attribute("data-id") for row in driver.find_elements(By.CSS_SELECTOR, "#cases tbody tr")}
        assert shown == block_run["broke"] and len(shown) == 30
        assert HOSTILE_ID in shown  # the hostile id is an id, shown as text

        hostile = next(row for row in block_run["report"]["cases"] if row["output"] == HOSTILE_OUTPUT)
        driver.find_element(By.CSS_SELECTOR, f'#cases tbody tr[data-id="{hostile["id"]}"]').click()
        sides = driver.find_elements(By.CSS_SELECTOR, "#detail .side")
        assert [side.find_element(By.TAG_NAME, "h3").text for side in sides] == ["Expected", "Production",
                                                                                 "Candidate"]
        assert hostile["expected"] in sides[1].text  # production was right: its output is the expected call
        assert HOSTILE_OUTPUT in sides[2].text  # the candidate's output, as text
        assert driver.execute_script("return window.__xss === undefined")  # and never run

        driver.find_element(By.CSS_SELECTOR, 'button[data-filter="still wrong"]').click()
        still = driver.find_elements(By.CSS_SELECTOR, "#cases tbody tr")
        assert len(still) == 12
        still[0].click()  # production answered "{}" too: the same output, said so
        assert driver.find_elements(By.CSS_SELECTOR, "#detail .side h3")[1].text == "Production (the same output)"

        driver.find_element(By.CSS_SELECTOR, 'button[data-filter="judged"]').click()
        judged = driver.find_elements(By.CSS_SELECTOR, "#cases tbody tr")
        assert len(judged) == sum(1 for case in block_run["report"]["cases"] if "judge" in case) >= 10
        judged[0].click()
        assert f"Judge's reasoning: {HOSTILE_REASONING}" in driver.find_element(By.ID, "detail").text
        assert driver.execute_script("return window.__xss === undefined")

        driver.find_element(By.CSS_SELECTOR, 'button[data-filter="broke"]').click()
        driver.find_element(By.ID, "search").send_keys("xss")  # within "broke": the hostile id and output
        found = {row.get_attribute("data-id") for row in driver.find_elements(By.CSS_SELECTOR, "#cases tbody tr")}
        assert found == {HOSTILE_ID, hostile["id"]}
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "report-html-block.png"))

        # an ERROR run's page: the cause and the fix, as text
        from evaluator.report.writer import write_error_reports

        write_error_reports("<b>bench.jsonl</b>: line 3 is not JSON", "fix line 3", block_run["root"] / "error")
        driver.get((block_run["root"] / "error" / "report.html").resolve().as_uri())
        assert driver.find_element(By.TAG_NAME, "h1").text == "taskeval: ERROR — the model"
        assert "Cause: <b>bench.jsonl</b>: line 3 is not JSON" in driver.find_element(By.TAG_NAME, "body").text
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        driver.quit()
    assert (ARTIFACTS / "report-html-block.png").stat().st_size > 10_000
