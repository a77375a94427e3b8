"""report.html's size and speed (docs/usage.md, "Reports"): the page of a run, opened in headless Chromium.

    make demo && python benchmarks/report_page.py                 # the shipped example's page, taskeval-report/
    python benchmarks/report_page.py --report-dir DIR --loads 5

Prints the page's size (the target: under 2 MB for the shipped 500-case example) and, over `--loads` fresh loads,
the median time from navigation to a drawn page (every chart and all the case rows: the target is under a second)
and to re-filter the case table ("broke", then "all"). Writes benchmarks/results/report_page.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "report_page.json"
FILTER_TWICE = """
const started = performance.now();
document.querySelector('button[data-filter="broke"]').click();
document.querySelector('button[data-filter="all"]').click();
return performance.now() - started;
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-dir", type=Path, default=ROOT / "taskeval-report")
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    page = args.report_dir / "report.html"
    if not page.is_file():
        raise SystemExit(f"{page}: no report.html (run `make demo` first, or give --report-dir)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    ready, filtering = [], []
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or "chromedriver"))
    try:
        for _ in range(args.loads):
            driver.get("about:blank")
            driver.get(page.resolve().as_uri())
            ready.append(float(driver.find_element("tag name", "body").get_attribute("data-ready-ms") or "nan"))
            filtering.append(float(driver.execute_script(FILTER_TWICE)))
        rows = len(driver.find_elements("css selector", "#cases tbody tr"))
    finally:
        driver.quit()
    report = json.loads((args.report_dir / "report.json").read_text(encoding="utf-8"))
    result = {"page_bytes": page.stat().st_size, "report_json_bytes": (args.report_dir / "report.json").stat().st_size,
              "cases": len(report.get("cases", [])), "rows": rows, "loads": args.loads,
              "drawn_ms_median": round(statistics.median(ready), 1), "drawn_ms_max": round(max(ready), 1),
              "filter_twice_ms_median": round(statistics.median(filtering), 1)}
    print(f"{page}: {result['page_bytes'] / 1e6:.2f} MB (report.json {result['report_json_bytes'] / 1e6:.2f} MB), "
          f"{result['cases']} cases; drawn {result['drawn_ms_median']:.0f} ms after navigation (median of "
          f"{args.loads}, max {result['drawn_ms_max']:.0f}); filter and back {result['filter_twice_ms_median']:.0f} ms")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"written: {args.output}")


if __name__ == "__main__":
    main()
