// Hash router: #/ overview, #/slo/<name>, #/alerts, #/incidents[/<id>], #/oncall, #/reports,
// #/query?expr=…. Pages are plain modules
// rendering into <main>; a failed render shows its error instead of a blank page.
import { h, replace, errorBox } from "./dom.js";
import * as overview from "./overview.js";
import * as slo from "./slo.js";
import * as alerts from "./alerts.js";
import * as query from "./query.js";
import * as incidents from "./incidents.js";
import * as oncall from "./oncall.js";
import * as reports from "./reports.js";

function parse(hash) {
  const raw = hash.replace(/^#\/?/, "");
  const [path, search = ""] = raw.split("?", 2);
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(search) };
}

async function route() {
  const main = document.getElementById("main");
  const { parts, params } = parse(location.hash);
  const page = parts[0] || "overview";
  for (const link of document.querySelectorAll("nav a[data-page]")) {
    if (link.dataset.page === (page === "slo" ? "overview" : page)) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    if (page === "overview") await overview.render(main);
    else if (page === "slo" && parts[1]) await slo.render(main, parts[1], params);
    else if (page === "alerts") await alerts.render(main);
    else if (page === "query") await query.render(main, params);
    else if (page === "incidents") await incidents.render(main, parts, params);
    else if (page === "oncall") await oncall.render(main, params);
    else if (page === "reports") await reports.render(main, params);
    else replace(main, h("h1", {}, "Not found"), h("p", {}, `No page ${location.hash}. `, h("a", { href: "#/" }, "Go to the overview")));
  } catch (err) {
    replace(main, h("h1", {}, "Error"), errorBox(err));
  }
  document.title = `${main.querySelector("h1")?.textContent || "tocsin"} · tocsin`;
}

// During a drill the server records which pages the trainee looked at (scoring "scoping").
const drillActive = fetch("/api/tocsin/v1/drill").then((r) => r.json()).then((b) => b.data?.active === true, () => false);
function recordView() {
  drillActive.then((active) => {
    if (active) fetch("/api/tocsin/v1/drill/views", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ page: `/ui/${location.hash}` }) }).catch(() => {});
  });
}

window.addEventListener("hashchange", () => {
  recordView();
  route().then(() => document.getElementById("main").focus({ preventScroll: true }));
});
recordView();
route();
