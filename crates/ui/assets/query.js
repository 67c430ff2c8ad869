// Query explorer: a PromQL expression, its instant result as a table and its range as a graph.
// Errors are shown as Prometheus reports them (`errorType: error`).
import { query, queryRange } from "./api.js";
import { h, replace, table, errorBox, labelChips, fmtNumber, announce } from "./dom.js";
import { lineChart, fromMatrix } from "./chart.js";

const RANGES = [["5m", 300], ["1h", 3600], ["6h", 21600], ["1d", 86400], ["7d", 604800]];

export async function render(main, params) {
  const expr = params.get("expr") || "";
  const rangeName = RANGES.some(([r]) => r === params.get("range")) ? params.get("range") : "1h";
  const input = h("textarea", { id: "expr", name: "expr", class: "mono", rows: 3, spellcheck: "false", required: true }, expr);
  const range = h("select", { id: "range", name: "range" },
    RANGES.map(([r]) => h("option", { value: r, selected: r === rangeName }, r)));
  const form = h("form", { class: "stack", role: "search", "aria-label": "PromQL query" },
    h("label", { for: "expr" }, "Expression", h("span", { class: "hint" }, "PromQL; Ctrl+Enter runs it")),
    input,
    h("div", { class: "inline" }, h("label", { for: "range" }, "Graph range "), range, " ", h("button", { type: "submit" }, "Run")));
  const out = h("div", { id: "result", "aria-live": "polite" });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams({ expr: input.value, range: range.value });
    // Going through the hash keeps queries bookmarkable and in the browser history.
    location.hash = `#/query?${next}`;
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); }
  });
  replace(main, h("h1", {}, "Query explorer"), form, out);
  if (!expr.trim()) { input.focus(); return; }

  replace(out, h("p", { class: "muted" }, "Running…"));
  const seconds = RANGES.find(([r]) => r === rangeName)[1];
  const [instant, ranged] = await Promise.allSettled([query(expr), queryRange(expr, seconds)]);
  replace(out,
    h("h2", {}, "Table"),
    instant.status === "fulfilled" ? resultTable(instant.value) : errorBox(instant.reason),
    h("h2", {}, "Graph"),
    ranged.status === "fulfilled" ? lineChart(fromMatrix(ranged.value), { title: `${expr} over ${rangeName}` })
      : instant.status === "rejected" ? h("p", { class: "muted" }, "See the error above.") : errorBox(ranged.reason));
  announce(instant.status === "fulfilled" ? "Query finished" : "Query failed");
}

function resultTable(data) {
  switch (data.resultType) {
    case "vector":
      if (data.result.length === 0) return h("p", { class: "muted" }, "Empty result.");
      return table("Instant query result", ["Series", { text: "Value", class: "num" }],
        data.result.map((r) => [labelChips(r.metric), h("td", { class: "num mono" }, r.value[1])]));
    case "matrix":
      if (data.result.length === 0) return h("p", { class: "muted" }, "Empty result.");
      return table("Range vector result", ["Series", "Samples"],
        data.result.map((r) => [labelChips(r.metric), h("td", { class: "mono" },
          r.values.map(([t, v]) => `${v} @${t}`).join("\n"))]));
    case "scalar":
    case "string":
      return table("Result", ["Type", { text: "Value", class: "num" }],
        [[data.resultType, h("td", { class: "num mono" }, data.result[1])]]);
    default:
      return h("p", {}, `Unknown result type ${data.resultType}; value: ${fmtNumber(NaN)}`);
  }
}
