// Overview: every SLO with its status and remaining budget, and how many alerts fire.
import { get } from "./api.js";
import { h, replace, table, errorBox, fmtPercent, fmtNumber } from "./dom.js";

/** ok / burning / exhausted / no data, from a budget report. */
export function sloStatus(budget) {
  if (!budget || budget.remaining === null || budget.remaining === undefined) return ["no data", "muted"];
  if (budget.remaining <= 0) return ["budget exhausted", "status-bad"];
  if (budget.current_burn_rate !== null && budget.current_burn_rate > 1) return ["burning", "status-warn"];
  return ["ok", "status-ok"];
}

export async function render(main) {
  replace(main, h("h1", {}, "Overview"), h("p", { class: "muted" }, "Loading…"));
  const [slos, alerts] = await Promise.allSettled([
    get("/api/tocsin/v1/slos"),
    get("/api/v2/alerts?active=true&silenced=false&inhibited=false"),
  ]);
  const firing = alerts.status === "fulfilled" ? alerts.value.length : null;
  const list = slos.status === "fulfilled" ? slos.value.slos : [];
  const burning = list.filter((x) => sloStatus(x.budget)[0] !== "ok" && sloStatus(x.budget)[0] !== "no data").length;

  replace(main,
    h("h1", {}, "Overview"),
    h("section", { class: "cards", "aria-label": "Summary" },
      h("div", { class: "card" }, h("div", { class: "muted" }, "Firing alerts"),
        h("div", { class: "value", id: "firing-count" }, firing === null ? "?" : firing),
        h("a", { href: "#/alerts" }, "See alerts")),
      h("div", { class: "card" }, h("div", { class: "muted" }, "SLOs"), h("div", { class: "value" }, list.length)),
      h("div", { class: "card" }, h("div", { class: "muted" }, "SLOs burning or exhausted"),
        h("div", { class: "value" }, burning))),
    alerts.status === "rejected" ? errorBox(alerts.reason) : null,
    h("section", { "aria-labelledby": "slos-h" },
      h("h2", { id: "slos-h" }, "Service level objectives"),
      slos.status === "rejected" ? errorBox(slos.reason)
        : list.length === 0 ? h("p", { class: "muted" }, "No SLOs are configured (slo_files in the configuration).")
          : sloTable(list)));
}

function sloTable(list) {
  // Worst first: an SRE opens this page to find what is burning.
  const rank = { "budget exhausted": 0, burning: 1, ok: 2, "no data": 3 };
  const sorted = [...list].sort((a, b) =>
    rank[sloStatus(a.budget)[0]] - rank[sloStatus(b.budget)[0]]
    || (a.budget?.remaining ?? 2) - (b.budget?.remaining ?? 2)
    || `${a.service}/${a.name}`.localeCompare(`${b.service}/${b.name}`));
  return table("SLOs with status and remaining error budget",
    ["Service", "SLO", { text: "Objective", class: "num" }, "Window", "Status",
      { text: "Budget remaining", class: "num" }, { text: "Burn rate (1h)", class: "num" }],
    sorted.map((x) => {
      const [status, cls] = sloStatus(x.budget);
      return [
        x.service,
        h("a", { href: `#/slo/${encodeURIComponent(x.name)}` }, x.name),
        h("td", { class: "num" }, `${x.objective}%`),
        x.window,
        h("span", { class: cls }, status),
        h("td", { class: "num" }, fmtPercent(x.budget?.remaining)),
        h("td", { class: "num" }, fmtNumber(x.budget?.current_burn_rate)),
      ];
    }));
}
