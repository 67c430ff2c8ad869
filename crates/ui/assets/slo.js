// One SLO: its budget report, and burn-rate and remaining-budget charts from the recording
// rules tocsin generates for it (docs/slo.md: slo:current_burn_rate:ratio and
// slo:period_error_budget_remaining:ratio, labelled sloth_service and sloth_slo).
import { get, queryRange } from "./api.js";
import { h, replace, table, errorBox, fmtPercent, fmtNumber, fmtTime } from "./dom.js";
import { lineChart, fromMatrix } from "./chart.js";
import { sloStatus } from "./overview.js";

const RANGES = [["1h", 3600], ["6h", 21600], ["1d", 86400], ["7d", 604800], ["30d", 2592000]];

/** PromQL string literal (JSON's escapes are a subset of PromQL's). */
export function promString(value) {
  return JSON.stringify(String(value));
}

export async function render(main, name, params) {
  const rangeName = RANGES.some(([r]) => r === params.get("range")) ? params.get("range") : "6h";
  const seconds = RANGES.find(([r]) => r === rangeName)[1];
  replace(main, h("h1", {}, `SLO ${name}`), h("p", { class: "muted" }, "Loading…"));
  let report;
  try {
    report = await get(`/api/tocsin/v1/slos/${encodeURIComponent(name)}`);
  } catch (err) {
    replace(main, h("h1", {}, `SLO ${name}`), errorBox(err), h("p", {}, h("a", { href: "#/" }, "Back to the overview")));
    return;
  }
  const b = report.budget;
  const selector = `{sloth_service=${promString(b.service)}, sloth_slo=${promString(b.slo)}}`;
  const [status, cls] = sloStatus(b);

  const charts = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading charts…"));
  replace(main,
    h("p", {}, h("a", { href: "#/" }, "Overview"), " › ", b.service),
    h("h1", {}, `SLO ${b.slo}`),
    h("section", { class: "cards", "aria-label": "Budget" },
      card("Status", h("span", { class: cls }, status)),
      card("Objective", `${b.objective}% over ${b.window}`),
      card("Budget remaining", fmtPercent(b.remaining)),
      card("Burn rate (1h)", fmtNumber(b.current_burn_rate)),
      card("Burned in 24 h", fmtPercent(b.burned_last_24h)),
      card("Exhausted in", b.time_to_exhaustion_seconds === null ? "not burning" : duration(b.time_to_exhaustion_seconds))),
    h("h2", {}, "Burn rate by window"),
    table("Burn rate per SLI window", ["Window", { text: "Burn rate", class: "num" }],
      Object.entries(b.burn_rates || {}).map(([w, v]) => [w, h("td", { class: "num" }, fmtNumber(v))])),
    h("p", { class: "muted" }, `Error ratio ${fmtNumber(b.error_ratio, 6)} of a budget of ${fmtNumber(b.error_budget, 6)}; evaluated ${fmtTime(b.evaluated_at)}.`),
    h("h2", { id: "charts-h" }, "History"),
    h("nav", { "aria-label": "Chart range" }, h("ul", { class: "legend" }, RANGES.map(([r]) =>
      h("li", {}, h("a", { href: `#/slo/${encodeURIComponent(name)}?range=${r}`, "aria-current": r === rangeName ? "true" : null }, r))))),
    charts);

  const [burn, remaining] = await Promise.allSettled([
    queryRange(`slo:current_burn_rate:ratio${selector}`, seconds),
    queryRange(`slo:period_error_budget_remaining:ratio${selector}`, seconds),
  ]);
  replace(charts,
    h("h3", {}, "Burn rate"),
    burn.status === "fulfilled"
      ? lineChart(fromMatrix(burn.value, () => "burn rate (1h)"), { title: `Burn rate of ${b.slo} over ${rangeName}`, threshold: 1 })
      : errorBox(burn.reason),
    h("h3", {}, "Error budget remaining"),
    remaining.status === "fulfilled"
      ? lineChart(fromMatrix(remaining.value, () => "budget remaining").map((x) => ({ ...x, points: x.points.map(([t, v]) => [t, v * 100]) })),
        { title: `Error budget remaining of ${b.slo} over ${rangeName}`, unit: "%", threshold: 0 })
      : errorBox(remaining.reason));
}

function card(title, value) {
  return h("div", { class: "card" }, h("div", { class: "muted" }, title), h("div", { class: "value" }, value));
}

function duration(seconds) {
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}
