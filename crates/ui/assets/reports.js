// Reports: alert volume and noise, MTTA/MTTR per service and team with the weekly trend,
// out-of-hours pages per person, and a CPU capacity headroom forecast. Every section is a
// handful of requests whatever the number of services (aggregated server-side or by one
// PromQL query), and each says plainly when it has no data.
import { get, query } from "./api.js";
import { h, replace, table, errorBox, fmtPercent, fmtDuration, fmtNumber, fmtTime } from "./dom.js";
import { lineChart } from "./chart.js";

const RANGES = [["7d", 7], ["28d", 28], ["90d", 90]];
const DAY_MS = 86400000;
/** Utilisation at which a service is considered out of CPU headroom. */
export const CAPACITY_LIMIT = 0.8;

// Node CPU busy ratio per service, and its trend over 6 h (a subquery, so a plain gauge
// expression works with deriv and predict_linear).
const CPU_NOW = 'avg by (service) (1 - rate(node_cpu_seconds_total{mode="idle"}[5m]))';
const CPU_SLOPE = `deriv((${CPU_NOW})[6h:5m])`;
const CPU_IN_24H = `predict_linear((${CPU_NOW})[6h:5m], 86400)`;

export async function render(main, params) {
  const rangeName = RANGES.some(([r]) => r === params.get("range")) ? params.get("range") : "28d";
  const by = ["service", "alertname", "route"].includes(params.get("by")) ? params.get("by") : "service";
  const days = RANGES.find(([r]) => r === rangeName)[1];
  const to = new Date();
  const from = new Date(to.getTime() - days * DAY_MS);
  const span = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
  const controls = rangeForm(rangeName, by, params);
  replace(main, h("h1", {}, "Reports"), controls, h("p", { class: "muted" }, "Loading…"));

  const [noise, metrics, who, now, slope, in24h] = await Promise.allSettled([
    get(`/api/tocsin/v1/alerts/report?${new URLSearchParams({ by, from: from.toISOString(), to: to.toISOString(), step: "1d" })}`),
    get(`/api/tocsin/v1/incidents/metrics?${span}`),
    get("/api/tocsin/v1/oncall/who"),
    query(CPU_NOW), query(CPU_SLOPE), query(CPU_IN_24H),
  ]);
  // The schedule report is per schedule: one request each (a handful), not per person.
  const schedules = who.status === "fulfilled" ? (who.value.schedules || []).map((x) => x.schedule) : [];
  const loads = await Promise.allSettled(schedules.map((id) =>
    get(`/api/tocsin/v1/oncall/schedules/${encodeURIComponent(id)}/report?${span}`)));

  replace(main,
    h("h1", {}, "Reports"),
    controls,
    h("p", { class: "muted" }, `From ${fmtTime(from)} to ${fmtTime(to)}.`),
    noiseSection(noise, by),
    metricsSection(metrics),
    pagesSection(who, schedules, loads),
    capacitySection(now, slope, in24h));
}

function rangeForm(rangeName, by, params) {
  const range = h("select", { id: "report-range" }, RANGES.map(([r]) => h("option", { value: r, selected: r === rangeName }, `last ${r}`)));
  const group = h("select", { id: "report-by" }, ["service", "alertname", "route"].map((b) => h("option", { value: b, selected: b === by }, b)));
  const form = h("form", { class: "inline", "aria-label": "Report range" },
    h("label", {}, "Range", range), h("label", {}, "Alerts by", group), h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams(params);
    next.set("range", range.value);
    next.set("by", group.value);
    location.hash = `#/reports?${next}`;
  });
  return form;
}

// ---- alert volume and noise ----

function noiseSection(result, by) {
  const head = h("h2", { id: "noise-h" }, "Alert volume and noise");
  if (result.status === "rejected") return h("section", { "aria-labelledby": "noise-h" }, head, errorBox(result.reason));
  const r = result.value;
  const series = r.series || [];
  const total = r.total || {};
  return h("section", { "aria-labelledby": "noise-h" }, head,
    h("div", { class: "cards" },
      card("Notifications", total.notifications ?? 0),
      card("Alerts fired", total.alerts_fired ?? 0),
      card("Marked noise", `${total.noise ?? 0} of ${(total.noise ?? 0) + (total.actionable ?? 0)} judged`),
      card("Noise ratio", total.noise_ratio === null || total.noise_ratio === undefined ? "no feedback" : fmtPercent(total.noise_ratio))),
    series.length === 0 ? h("p", { class: "muted", id: "noise-empty" }, "No alerts fired and no notifications were sent in this range.")
      : [
        lineChart(series.slice(0, 8).map((x) => ({
          name: x.key || `(no ${by})`,
          points: (x.buckets || []).map((b) => [Date.parse(b.start), b.alerts_fired]),
        })), { title: `Alerts fired per day by ${by} (largest 8)` }),
        table(`Alert volume by ${by}`, [by, { text: "Notifications", class: "num" }, { text: "Alerts fired", class: "num" },
          { text: "Actionable", class: "num" }, { text: "Noise", class: "num" }, { text: "Noise ratio", class: "num" }],
        series.map((x) => [x.key || h("span", { class: "muted" }, `(no ${by})`),
          num(x.total.notifications), num(x.total.alerts_fired), num(x.total.actionable), num(x.total.noise),
          h("td", { class: "num" }, x.total.noise_ratio === null || x.total.noise_ratio === undefined ? "–" : fmtPercent(x.total.noise_ratio))])),
      ],
    h("h3", {}, "Noisiest"),
    (r.top_noisy || []).length === 0 ? h("p", { class: "muted" }, "Nothing stands out as noisy.")
      : table("Noisiest alerts with suggestions", [by, { text: "Fired per day", class: "num" }, { text: "Noise ratio", class: "num" }, "Suggestion"],
        r.top_noisy.map((x) => [x.key || `(no ${by})`, h("td", { class: "num" }, fmtNumber(x.fired_per_day, 1)),
          h("td", { class: "num" }, x.noise_ratio === null || x.noise_ratio === undefined ? "no feedback" : fmtPercent(x.noise_ratio)),
          x.suggestion])));
}

// ---- incident metrics ----

function metricsSection(result) {
  const head = h("h2", { id: "mttr-h" }, "Incident response: MTTA and MTTR");
  if (result.status === "rejected") return h("section", { "aria-labelledby": "mttr-h" }, head, errorBox(result.reason));
  const r = result.value;
  const rows = [["all", r.overall],
    ...Object.entries(r.by_service || {}).map(([k, v]) => [`service ${k}`, v]),
    ...Object.entries(r.by_team || {}).map(([k, v]) => [`team ${k}`, v])];
  const weeks = r.weeks || [];
  const minutes = (v) => (v === null || v === undefined ? null : v / 60);
  const trend = [
    { name: "MTTA (minutes)", points: weeks.filter((w) => w.mtta_seconds !== null).map((w) => [w.start, minutes(w.mtta_seconds)]) },
    { name: "MTTR (minutes)", points: weeks.filter((w) => w.mttr_seconds !== null).map((w) => [w.start, minutes(w.mttr_seconds)]) },
  ].filter((x) => x.points.length > 0);
  // A line needs two weeks with a measurement; with fewer the table says it all.
  const chartable = trend.some((x) => x.points.length >= 2);
  return h("section", { "aria-labelledby": "mttr-h" }, head,
    (r.overall?.incidents ?? 0) === 0 ? h("p", { class: "muted", id: "mttr-empty" }, "No incidents were opened in this range.") : null,
    table("Time to acknowledge and resolve, overall, per service and per team", ["", ...SUMMARY_HEADERS],
      rows.map(([name, x]) => [name, ...summaryCells(x)])),
    h("h3", {}, "Weekly trend"),
    chartable ? lineChart(trend, { title: "MTTA and MTTR per week", unit: " min" })
      : h("p", { class: "muted" }, "Fewer than two weeks with an acknowledged or resolved incident: no trend to draw yet."),
    weeks.length === 0 ? null : table("Weekly trend", ["Week of", ...SUMMARY_HEADERS],
      weeks.map((w) => [w.start_time.slice(0, 10), ...summaryCells(w)])));
}

const SUMMARY_HEADERS = [{ text: "Incidents", class: "num" }, { text: "Resolved", class: "num" },
  { text: "MTTA", class: "num" }, { text: "MTTD", class: "num" }, { text: "MTTR", class: "num" }, { text: "Median TTR", class: "num" }];

function summaryCells(x) {
  return [num(x.incidents), num(x.resolved), dur(x.mtta_seconds), dur(x.mttd_seconds), dur(x.mttr_seconds), dur(x.median_ttr_seconds)];
}

// ---- pages out of hours ----

function pagesSection(who, schedules, loads) {
  const head = h("h2", { id: "pages-h" }, "Pages out of hours, per person");
  if (who.status === "rejected") return h("section", { "aria-labelledby": "pages-h" }, head, errorBox(who.reason));
  if (schedules.length === 0) return h("section", { "aria-labelledby": "pages-h" }, head, h("p", { class: "muted" }, "No schedules."));
  const rows = [];
  const errors = [];
  loads.forEach((l, i) => {
    if (l.status === "rejected") { errors.push(errorBox(l.reason)); return; }
    for (const p of l.value.people || []) rows.push([schedules[i], p, l.value.coverage]);
  });
  rows.sort((a, b) => b[1].pages_out_of_hours - a[1].pages_out_of_hours || b[1].night_hours - a[1].night_hours);
  return h("section", { "aria-labelledby": "pages-h" }, head,
    h("p", { class: "hint" }, "Night is 22:00–06:00 and the weekend Saturday and Sunday, in each person's own time zone."),
    errors,
    rows.length === 0 ? h("p", { class: "muted" }, "Nobody was on call in this range.")
      : table("On-call load and out-of-hours pages per person and schedule", ["Person", "Schedule",
        { text: "Hours on call", class: "num" }, { text: "Night hours", class: "num" }, { text: "Weekend hours", class: "num" },
        { text: "Pages", class: "num" }, { text: "Out of hours", class: "num" }, { text: "Schedule coverage", class: "num" }],
      rows.map(([schedule, p, coverage]) => [p.user, schedule, h("td", { class: "num" }, fmtNumber(p.hours, 1)),
        h("td", { class: "num" }, fmtNumber(p.night_hours, 1)), h("td", { class: "num" }, fmtNumber(p.weekend_hours, 1)),
        num(p.pages), num(p.pages_out_of_hours), h("td", { class: "num" }, fmtPercent(coverage))])));
}

// ---- capacity ----

/** Per service: current CPU use, slope per second, prediction in 24 h, and the estimated time
 * until it reaches the limit (null when flat or falling, 0 when already over). */
export function headroom(nowVec, slopeVec, in24hVec, limit = CAPACITY_LIMIT) {
  const key = (m) => m.service ?? "";
  const slopes = new Map(slopeVec.map((r) => [key(r.metric), Number(r.value[1])]));
  const later = new Map(in24hVec.map((r) => [key(r.metric), Number(r.value[1])]));
  return nowVec.map((r) => {
    const service = key(r.metric);
    const current = Number(r.value[1]);
    const slope = slopes.has(service) ? slopes.get(service) : null;
    let secondsToLimit = null;
    if (current >= limit) secondsToLimit = 0;
    else if (slope !== null && Number.isFinite(slope) && slope > 0) secondsToLimit = (limit - current) / slope;
    return { service, current, slope, in24h: later.has(service) ? later.get(service) : null, secondsToLimit };
  }).sort((a, b) => (a.secondsToLimit ?? Infinity) - (b.secondsToLimit ?? Infinity) || b.current - a.current);
}

function capacitySection(now, slope, in24h) {
  const head = h("h2", { id: "capacity-h" }, "CPU capacity headroom");
  const explain = h("p", { class: "hint" },
    `Busy CPU share per service (node_cpu_seconds_total, not idle, over 5 minutes), its linear trend over the last 6 hours, and when that trend reaches ${fmtPercent(CAPACITY_LIMIT, 0)}. `,
    h("a", { href: `#/query?${new URLSearchParams({ expr: CPU_NOW, range: "6h" })}` }, "See the query"));
  if (now.status === "rejected") return h("section", { "aria-labelledby": "capacity-h" }, head, explain, errorBox(now.reason));
  const vec = now.value.result || [];
  if (vec.length === 0) {
    return h("section", { "aria-labelledby": "capacity-h" }, head, explain,
      h("p", { class: "muted", id: "capacity-empty" },
        "No data: no node_cpu_seconds_total series with a service label were scraped in the last 5 minutes, so there is nothing to forecast. Scrape node_exporter with a service label on each target."));
  }
  const rows = headroom(vec, slope.status === "fulfilled" ? slope.value.result || [] : [],
    in24h.status === "fulfilled" ? in24h.value.result || [] : []);
  return h("section", { "aria-labelledby": "capacity-h" }, head, explain,
    slope.status === "rejected" ? errorBox(slope.reason) : null,
    table("CPU use and forecast per service, soonest to run out first", ["Service", { text: "CPU busy now", class: "num" },
      { text: "Trend per hour", class: "num" }, { text: "Forecast in 24 h", class: "num" }, `Time to ${fmtPercent(CAPACITY_LIMIT, 0)}`],
    rows.map((x) => [x.service || h("span", { class: "muted" }, "(no service label)"),
      h("td", { class: "num" }, fmtPercent(x.current)),
      h("td", { class: "num" }, x.slope === null ? "not enough data" : `${x.slope >= 0 ? "+" : ""}${fmtPercent(x.slope * 3600, 2)}`),
      h("td", { class: "num" }, x.in24h === null ? "–" : fmtPercent(x.in24h)),
      x.secondsToLimit === 0 ? h("span", { class: "status-bad" }, "already over")
        : x.secondsToLimit === null ? h("span", { class: "status-ok" }, "not on the current trend")
          : h("span", { class: x.secondsToLimit < 7 * 86400 ? "status-warn" : null }, `about ${fmtDuration(x.secondsToLimit)}`)])));
}

// ---- cells ----

function card(title, value) {
  return h("div", { class: "card" }, h("div", { class: "muted" }, title), h("div", { class: "value" }, value));
}

function num(v) {
  return h("td", { class: "num" }, v === null || v === undefined ? "–" : String(v));
}

function dur(v) {
  return h("td", { class: "num" }, fmtDuration(v));
}
