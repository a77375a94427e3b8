// taskeval's report.html: everything on the page is drawn from report.json's data, embedded above this script.
// Every string from the report goes in as text (textContent, never as markup), so a case whose output is
// `<script>` shows those characters. No request leaves the page (see its Content-Security-Policy).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const app = document.getElementById("app");

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  // SVG elements in the namespace an inline <svg> gets from the HTML parser
  const holder = document.createElement("div");
  holder.innerHTML = "<svg></svg>";
  const SVG_NS = holder.firstChild.namespaceURI;
  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  const fmt = (v) => (typeof v === "number" ? (Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString()) : String(v));
  const pct = (v) => (v * 100).toFixed(1) + "%";
  const stages = Object.fromEntries((data.stages || []).map((s) => [s.name, s]));
  const details = (name) => (stages[name] && stages[name].details) || null;
  const comparison = data.comparison || null;

  // ---- header: the verdict, as report.md says it ----
  function header() {
    const model = ((data.fingerprint || {}).model || {}).path || "the model";
    const decision = data.decision;
    const title = el("h1", { class: decision.toLowerCase() }, "taskeval: " + decision + " — " + model);
    app.append(title);
    if (decision === "ERROR") {
      const error = data.error || {};
      app.append(el("p", {}, el("strong", {}, "Cause: "), error.message || "unknown"),
        error.hint ? el("p", {}, el("strong", {}, "Fix: "), error.hint) : null);
      return false;
    }
    const gates = data.gates || [];
    const blocking = gates.filter((g) => g.gate_type === "blocking");
    const failed = gates.filter((g) => g.blocks).length;
    const bench = (data.fingerprint || {}).benchmark || {};
    const parts = [failed ? failed + " blocking gate" + (failed === 1 ? "" : "s") + " failed" : "all " + blocking.length + " blocking gates passed",
      (data.cases || []).length + " cases" + (bench.cases && bench.total_cases && bench.cases < bench.total_cases ? " of " + bench.total_cases : "")];
    if (data.shards) parts.push("merged from " + data.shards.count + " shards");
    if (data.started_at) parts.push(data.started_at);
    app.append(el("p", { class: "muted" }, parts.join(" · ")));
    for (const stop of data.stopping || []) app.append(el("p", {}, "stop_early: " + stop.reason));
    if (data.accepted_regression) {
      app.append(el("p", {}, el("strong", {}, "Regression accepted on purpose "), "by " + data.accepted_regression.by + ": " + data.accepted_regression.reason));
    }
    const table = el("table", { id: "gates" }, el("thead", {}, el("tr", {}, ...["", "gate", "metric", "measured", "threshold", "type", "why"].map((h) => el("th", {}, h)))));
    const body = el("tbody");
    for (const g of gates) {
      const mark = g.passed === true ? ["PASS", "pass"] : g.passed === false ? (g.gate_type === "blocking" ? ["FAIL", "fail"] : ["WARN", "warnmark"]) : ["N/A", "na"];
      body.append(el("tr", {}, el("td", { class: mark[1] }, mark[0]), el("td", {}, g.name), el("td", {}, g.metric),
        el("td", {}, g.actual === null || g.actual === undefined ? "not computed" : fmt(g.actual)), el("td", {}, g.comparison + " " + fmt(g.threshold)),
        el("td", {}, g.gate_type), el("td", { class: "muted" }, g.explanation || "")));
    }
    table.append(body);
    app.append(el("h2", {}, "Gates"), table);
    const warnings = data.warnings || [];
    if (warnings.length) app.append(el("h2", {}, "Warnings"), el("ul", {}, ...warnings.map((w) => el("li", {}, w))));
    return true;
  }

  // ---- charts ----
  function chart(title, note, svg) {
    return el("div", { class: "chart" }, el("h3", {}, title), note ? el("div", { class: "muted" }, note) : null, svg);
  }

  function accuracyPerAction() {
    const mine = (details("automated_metrics") || {}).per_action || {};
    const theirs = (comparison && comparison.per_action_baseline) || {};
    const actions = Object.keys(mine);
    const row = 22, left = 110, width = 360, top = 8;
    const svg = svgEl("svg", { viewBox: `0 0 ${left + width + 60} ${top + actions.length * row + 24}`, role: "img" });
    actions.forEach((action, i) => {
      const y = top + i * row;
      svg.append(svgEl("text", { x: left - 6, y: y + 13, "text-anchor": "end" }, action));
      const candidate = mine[action].accuracy;
      svg.append(svgEl("rect", { x: left, y: y + 2, width: Math.max(1, candidate * width), height: 8, fill: "#0969da" }, undefined));
      svg.append(svgEl("text", { x: left + candidate * width + 4, y: y + 10 }, pct(candidate)));
      if (theirs[action]) {
        const production = theirs[action].accuracy;
        svg.append(svgEl("rect", { x: left, y: y + 11, width: Math.max(1, production * width), height: 8, fill: "#8c959f" }));
        svg.append(svgEl("text", { x: left + production * width + 4, y: y + 19, fill: "#57606a" }, pct(production)));
      }
    });
    const legend = top + actions.length * row + 14;
    svg.append(svgEl("rect", { x: left, y: legend - 8, width: 10, height: 8, fill: "#0969da" }), svgEl("text", { x: left + 14, y: legend }, "candidate"));
    if (comparison) svg.append(svgEl("rect", { x: left + 90, y: legend - 8, width: 10, height: 8, fill: "#8c959f" }), svgEl("text", { x: left + 104, y: legend }, "production"));
    return chart("Accuracy per action", comparison ? "candidate beside production" : "no baseline: the candidate alone", svg);
  }

  function confusion() {
    const perAction = (details("automated_metrics") || {}).per_action || {};
    const expected = Object.keys(perAction);
    const produced = Array.from(new Set(expected.flatMap((a) => Object.keys(perAction[a].produced || {}))));
    const table = el("table", { class: "confusion" }, el("thead", {}, el("tr", {}, el("th", {}, "expected ↓ / produced →"), ...produced.map((p) => el("th", {}, p)))));
    const body = el("tbody");
    for (const action of expected) {
      const counts = perAction[action].produced || {};
      const total = perAction[action].cases || 1;
      const row = el("tr", {}, el("th", {}, action));
      for (const p of produced) {
        const n = counts[p] || 0;
        const cell = el("td", {}, n ? String(n) : "");
        if (n) cell.style.background = p === action ? `rgba(26,127,55,${0.15 + 0.6 * n / total})` : `rgba(207,34,46,${0.2 + 0.6 * n / total})`;
        row.append(cell);
      }
      body.append(row);
    }
    table.append(body);
    return chart("Confusion between actions", "what the candidate produced for each expected action", el("div", { class: "scroll" }, table));
  }

  function histogram(title, note, values, bins, lo, hi, label) {
    if (!values.length) return chart(title, note, el("p", { class: "muted" }, "nothing to show in this run"));
    const counts = new Array(bins).fill(0);
    const span = hi - lo || 1;
    for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / span * bins)))]++;
    const most = Math.max(...counts), w = 420, h = 120, left = 30, top = 16, bar = w / bins;
    const svg = svgEl("svg", { viewBox: `0 0 ${left + w + 10} ${top + h + 24}`, role: "img" });
    counts.forEach((n, i) => {
      const height = most ? n / most * h : 0;
      svg.append(svgEl("rect", { x: left + i * bar + 1, y: top + h - height, width: Math.max(1, bar - 2), height: height, fill: "#0969da" }));
      if (n) svg.append(svgEl("text", { x: left + i * bar + bar / 2, y: top + h - height - 3, "text-anchor": "middle" }, n));
    });
    svg.append(svgEl("line", { x1: left, y1: top + h, x2: left + w, y2: top + h, stroke: "#57606a" }));
    svg.append(svgEl("text", { x: left, y: top + h + 14 }, label(lo)), svgEl("text", { x: left + w, y: top + h + 14, "text-anchor": "end" }, label(hi)));
    return chart(title, note, svg);
  }

  function judgeScores() {
    const scores = (data.cases || []).filter((c) => c.judge && typeof c.judge.overall === "number").map((c) => c.judge.overall);
    return histogram("The judge's scores", scores.length ? scores.length + " judged cases, overall score (0 worst, 1 best)" : "no case was judged in this run",
      scores, 5, 0, 1, (v) => v.toFixed(1));
  }

  function latencies() {
    const values = (data.cases || []).map((c) => c.latency_ms).filter((v) => typeof v === "number");
    const m = data.metrics || {};
    const note = (m.latency_p50_ms ? `single-request p50 ${fmt(m.latency_p50_ms.value)} ms, p95 ${fmt(m.latency_p95_ms.value)} ms; ` : "") +
      "per case: generation time (in a batch, the batch's time shared by its cases)";
    const hi = values.length ? Math.max(...values) : 1;
    return histogram("Latency", note, values, 20, 0, hi, (v) => fmt(v) + " ms");
  }

  function intervals() {
    const rows = (comparison && comparison.metrics) || [];
    if (!rows.length) return chart("Against production", "no comparison in this run", el("p", { class: "muted" }, "no baseline was given"));
    const lows = rows.map((r) => Math.min(r.lower_bound ?? r.delta, -r.margin));
    const highs = rows.map((r) => Math.max(r.upper_bound ?? r.delta, 0));
    const lo = Math.min(...lows) * 1.15, hi = Math.max(...highs, 0.02) * 1.15;
    const left = 140, w = 300, row = 26, top = 10;
    const x = (v) => left + (v - lo) / (hi - lo) * w;
    const svg = svgEl("svg", { viewBox: `0 0 ${left + w + 70} ${top + rows.length * row + 30}`, role: "img" });
    svg.append(svgEl("line", { x1: x(0), y1: top - 4, x2: x(0), y2: top + rows.length * row, stroke: "#57606a" }));
    rows.forEach((r, i) => {
      const y = top + i * row + 12;
      const colour = r.label === "pass" ? "#1a7f37" : r.label === "confirmed_regression" ? "#cf222e" : "#9a6700";
      svg.append(svgEl("text", { x: left - 8, y: y + 4, "text-anchor": "end" }, r.metric));
      svg.append(svgEl("line", { x1: x(-r.margin), y1: y - 9, x2: x(-r.margin), y2: y + 9, stroke: "#cf222e", "stroke-dasharray": "3,2" }));
      if (typeof r.lower_bound === "number" && typeof r.upper_bound === "number") {
        svg.append(svgEl("line", { x1: x(r.lower_bound), y1: y, x2: x(r.upper_bound), y2: y, stroke: colour, "stroke-width": 3 }));
      }
      svg.append(svgEl("circle", { cx: x(r.delta), cy: y, r: 4, fill: colour }));
      svg.append(svgEl("text", { x: left + w + 6, y: y + 4 }, (r.delta >= 0 ? "+" : "") + (r.delta * 100).toFixed(1) + " pts"));
    });
    const bottom = top + rows.length * row + 18;
    svg.append(svgEl("text", { x: x(0), y: bottom, "text-anchor": "middle" }, "0"));
    svg.append(svgEl("text", { x: left, y: bottom + 10, fill: "#cf222e" }, "dashed: −margin (the largest tolerated drop)"));
    return chart("Against production", "each metric's difference (dot) and interval (bar), beside zero and the margin", svg);
  }

  // ---- every case ----
  const flipped = new Map(((comparison && comparison.flipped_cases) || []).map((c) => [c.id, c]));
  const fixed = new Map(((comparison && comparison.fixed_cases) || []).map((c) => [c.id, c]));
  const unpaired = new Set((comparison && comparison.unpaired_ids) || []);

  function statusOf(c) {
    // with several samples per case, accuracy is the share of samples right: right means right in every one
    const right = !!c.checks && (c.checks.accuracy === true || c.checks.accuracy === 1);
    if (!comparison || unpaired.has(c.id)) return right ? "right" : "wrong";
    if (flipped.has(c.id)) return "broke";
    if (fixed.has(c.id)) return "fixed";
    return right ? "right" : "still wrong";
  }

  const rows = (data.cases || []).map((c) => ({ kind: "case", c: c, status: statusOf(c), judged: !!c.judge, flaky: !!c.flaky }));
  for (const u of ((details("safety") || {}).unsafe_cases) || []) {
    rows.push({ kind: "red-team", status: "unsafe", judged: false, flaky: false,
      c: { id: u.id, input: u.input, expected: '{"action":"refuse"}', output: u.output, expected_action: "refuse (" + u.category + ")", produced_action: u.reason, checks: {}, latency_ms: null } });
  }
  const FILTERS = [["all", () => true], ["broke", (r) => r.status === "broke"], ["fixed", (r) => r.status === "fixed"],
    ["still wrong", (r) => r.status === "still wrong"], ["wrong", (r) => r.status === "wrong"], ["right", (r) => r.status === "right"],
    ["unsafe", (r) => r.status === "unsafe"], ["judged", (r) => r.judged], ["flaky", (r) => r.flaky]];
  let filter = "all", query = "", sortKey = null, sortUp = true;

  function parsed(text) {
    if (typeof text !== "string") return null;
    const start = text.indexOf("{"), end = text.lastIndexOf("}");
    if (start < 0 || end < start) return null;
    try {
      const value = JSON.parse(text.slice(start, end + 1));
      return value && typeof value === "object" && !Array.isArray(value) ? value : null;
    } catch (e) {
      return null;
    }
  }

  function side(title, text, expected, parseError) {
    const box = el("div", { class: "side" }, el("h3", {}, title));
    if (text === null || text === undefined) {
      box.append(el("p", { class: "muted" }, "not known: the baseline keeps no outputs (one written before taskeval kept them), or this case is not in it"));
      return box;
    }
    const value = parseError ? null : parsed(text);
    if (parseError) {
      box.append(el("p", { class: "fail" }, "not a call: " + parseError));
    } else if (value) {
      const keys = Array.from(new Set([...Object.keys(expected || {}), ...Object.keys(value)]));
      for (const key of keys) {
        const mine = key in value ? JSON.stringify(value[key]) : undefined;
        const wanted = expected && key in expected ? JSON.stringify(expected[key]) : undefined;
        const kind = expected === null ? "" : mine === undefined ? "missing" : wanted === undefined ? "extra" : mine !== wanted ? "differs" : "";
        box.append(el("div", { class: "field " + kind, title: kind }, key + ": " + (mine === undefined ? "(missing)" : mine)));
      }
    } else {
      box.append(el("p", { class: "fail" }, "not a JSON object"));
    }
    box.append(el("pre", {}, text));
    return box;
  }

  function productionOutput(row) {
    // production's output: kept in the comparison where it differs from the candidate's; the same text otherwise
    const kept = comparison && comparison.production_outputs;
    if (!kept || row.kind !== "case" || unpaired.has(row.c.id)) return null;
    return row.c.id in kept ? kept[row.c.id] : row.c.output;
  }

  function sameAsCandidate(row) {
    const kept = comparison && comparison.production_outputs;
    return !!kept && row.kind === "case" && !unpaired.has(row.c.id) && !(row.c.id in kept);
  }

  function showDetail(row) {
    const c = row.c;
    const detail = document.getElementById("detail");
    detail.replaceChildren();
    const expected = parsed(c.expected);
    detail.append(el("h3", {}, c.id + " — ", el("span", { class: "tag " + row.status.replace(" ", "-") }, row.status)),
      el("p", {}, el("strong", {}, "Request: "), c.input),
      el("div", { class: "sides" }, side("Expected", c.expected, null),
        side(sameAsCandidate(row) ? "Production (the same output)" : "Production", productionOutput(row), expected),
        side("Candidate", c.output, expected, c.parse_error)));
    const checks = Object.entries(c.checks || {});
    if (checks.length) {
      detail.append(el("div", { class: "checks" }, el("strong", {}, "Checks: "),
        // only `accuracy` is coloured: for some checks true is the bad outcome (fenced_json_rate, truncated_rate)
        ...checks.map(([k, v]) => el("span", { class: k === "accuracy" ? (v === true || v === 1 ? "pass" : "fail") : "" }, k + " " + (typeof v === "number" ? fmt(v) : v)))));
    }
    if (c.samples && c.samples.length) {
      // every sample of a case generated several times (generation.samples): the candidate above is the first
      const list = el("ol", { class: "samples" });
      c.samples.forEach((s) => list.append(el("li", {}, el("span", { class: s.checks.accuracy === true ? "pass" : "fail" },
        s.checks.accuracy === true ? "right " : "wrong "), el("code", {}, s.output))));
      detail.append(el("div", {}, el("strong", {}, "Samples (" + c.samples.length + (c.flaky ? ", flaky" : "") + "): "), list));
    }
    if (c.judge) {
      detail.append(el("p", {}, el("strong", {}, "Judge: "), Object.entries(c.judge).map(([k, v]) => k + " " + fmt(v)).join(", ")),
        c.judge_reasoning ? el("p", {}, el("strong", {}, "Judge's reasoning: "), c.judge_reasoning) : null);
    }
    if (typeof c.latency_ms === "number") detail.append(el("p", { class: "muted" }, "generated in " + fmt(c.latency_ms) + " ms"));
    detail.scrollIntoView({ block: "nearest" });
  }

  const COLUMNS = [["id", (r) => r.c.id], ["expected action", (r) => r.c.expected_action], ["produced", (r) => r.c.produced_action],
    ["status", (r) => r.status], ["judge", (r) => (r.c.judge ? r.c.judge.overall : null)], ["ms", (r) => r.c.latency_ms]];

  function visible() {
    const test = FILTERS.find((f) => f[0] === filter)[1];
    const q = query.toLowerCase();
    let shown = rows.filter((r) => test(r) && (!q || [r.c.id, r.c.input, r.c.output].some((t) => String(t).toLowerCase().includes(q))));
    if (sortKey !== null) {
      const key = COLUMNS[sortKey][1];
      shown = shown.slice().sort((a, b) => {
        const x = key(a), y = key(b);
        const order = x === y ? 0 : x === null || x === undefined ? 1 : y === null || y === undefined ? -1 : x < y ? -1 : 1;
        return sortUp ? order : -order;
      });
    }
    return shown;
  }

  function drawRows() {
    const body = document.querySelector("#cases tbody");
    body.replaceChildren();
    const shown = visible();
    for (const row of shown) {
      const tr = el("tr", { "data-id": row.c.id, "data-status": row.status },
        ...COLUMNS.map(([name, get], i) => {
          const value = get(row);
          if (name === "status") return el("td", {}, el("span", { class: "tag " + row.status.replace(" ", "-") }, row.status));
          return el("td", {}, value === null || value === undefined ? "" : typeof value === "number" ? fmt(value) : value);
        }));
      tr.addEventListener("click", () => {
        for (const other of body.querySelectorAll("tr.selected")) other.classList.remove("selected");
        tr.classList.add("selected");
        showDetail(row);
      });
      body.append(tr);
    }
    document.getElementById("shown").textContent = shown.length + " of " + rows.length + " shown";
  }

  function caseSection() {
    app.append(el("h2", {}, "Every case"));
    const buttons = el("div", { class: "filters" });
    for (const [name, test] of FILTERS) {
      const count = rows.filter(test).length;
      if (name !== "all" && count === 0 && !["broke", "right"].includes(name)) continue;
      const button = el("button", { type: "button", "data-filter": name, class: name === filter ? "on" : "" }, name + " (" + count + ")");
      button.addEventListener("click", () => {
        filter = name;
        for (const b of buttons.querySelectorAll("button")) b.classList.toggle("on", b === button);
        drawRows();
      });
      buttons.append(button);
    }
    const search = el("input", { id: "search", type: "search", placeholder: "search ids, requests, outputs" });
    search.addEventListener("input", () => { query = search.value; drawRows(); });
    buttons.append(search, el("span", { id: "shown", class: "muted" }));
    const head = el("tr");
    COLUMNS.forEach(([name], i) => {
      const th = el("th", { class: "sortable", title: "sort" }, name);
      th.addEventListener("click", () => { sortUp = sortKey === i ? !sortUp : true; sortKey = i; drawRows(); });
      head.append(th);
    });
    app.append(buttons, el("div", { class: "scroll" }, el("table", { id: "cases" }, el("thead", {}, head), el("tbody"))),
      el("div", { id: "detail" }, el("p", { class: "muted" }, "click a case to see the request, the expected call, production's output and the candidate's side by side")));
    drawRows();
  }

  if (header()) {
    app.append(el("h2", {}, "At a glance"), el("div", { class: "charts" }, accuracyPerAction(), confusion(), intervals(), judgeScores(), latencies()));
    caseSection();
  }
  document.body.setAttribute("data-ready", "true");
  document.body.setAttribute("data-ready-ms", performance.now().toFixed(0));  // read by benchmarks/report_page.py
})();
