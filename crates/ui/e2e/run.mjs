// Browser end-to-end test of tocsin's web UI, run by crates/tocsin/tests/it/ui.rs against a
// live server: every page loads without console errors, attacker-controlled labels stay
// text, a silence and an ack are made through the UI, a chart renders. Screenshots go to
// the directory given. Usage: node run.mjs BASE_URL SCREENSHOT_DIR CHROMIUM_PATH
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, shots, executablePath] = process.argv.slice(2);
if (!base || !shots || !executablePath) {
  console.error("usage: node run.mjs BASE_URL SCREENSHOT_DIR CHROMIUM_PATH");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const TIMEOUT = 15000;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function api(path) {
  const r = await fetch(base + path);
  check(r.ok, `${path} answered ${r.status}`);
  return r.json();
}

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--headless=new"], timeout: TIMEOUT });
const problems = [];
// The deliberate bad query answers 400, which Chromium logs as a console error.
let expectBadRequest = false;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("console", (m) => {
    if (m.type() !== "error" && m.type() !== "warning") return;
    if (expectBadRequest && m.text().includes("status of 400")) return;
    problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("dialog", (d) => { problems.push(`dialog opened: ${d.message()}`); d.dismiss(); });
  const visit = async (hash, ready, name) => {
    await page.goto(`${base}/ui/${hash}`);
    // "attached": a flat line has an empty box, which Playwright calls hidden.
    await page.waitForSelector(ready, { state: "attached" });
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    console.log(`ok: ${name} page`);
  };

  // Overview: the SLO table and the firing count.
  await visit("", "table >> text=checkout-availability", "overview");
  check((await page.textContent("#firing-count")).trim() === "1", "one firing alert on the overview");
  check(await page.locator("nav[aria-label=Main] a[aria-current=page]").textContent() === "Overview", "current page marked");

  // SLO page, with its two charts (or their no-data notes) rendered.
  await visit("#/slo/checkout-availability", "h3 >> text=Error budget remaining", "slo");
  check(await page.locator("h1").textContent() === "SLO checkout-availability", "SLO heading");

  // Alerts: the hostile label is shown as text and nothing ran.
  await visit("#/alerts", "h2 >> text=Firing (1)", "alerts");
  check(await page.locator("main img").count() === 0, "no element injected from labels");
  check(await page.evaluate(() => window.pwned === undefined), "no script ran from labels");
  check(await page.getByText('<img src=x onerror="window.pwned=1">', { exact: false }).count() > 0, "hostile annotation shown as text");

  // Ack the group through the UI (first: once silenced, nothing in it fires to acknowledge).
  const ackForm = page.locator("form[aria-label='Acknowledge group']").first();
  await ackForm.getByLabel("Acknowledged by").fill("e2e-oncall");
  await ackForm.getByLabel("Comment").fill("looking");
  await ackForm.getByRole("button", { name: "Ack" }).click();
  await page.waitForSelector("text=by e2e-oncall (looking)");
  const groups = await api("/api/tocsin/v1/alerts/groups");
  const list = Array.isArray(groups) ? groups : (groups.groups || groups.data || []);
  check(list.some((g) => g.ack && g.ack.by === "e2e-oncall"), "ack visible in /api/tocsin/v1/alerts/groups");
  console.log("ok: group acknowledged through the UI");

  // Silence through the UI, prefilled from the alert's labels.
  await page.getByRole("button", { name: "Silence HostileAlert" }).click();
  check((await page.inputValue("#silence-matchers")).includes('alertname="HostileAlert"'), "matchers prefilled");
  await page.fill("#silence-duration", "1h");
  await page.fill("#silence-by", "e2e");
  await page.fill("#silence-comment", "created by the browser test");
  await page.click("#silence-form button[type=submit]");
  await page.waitForSelector("#silence-created");
  const silences = await api("/api/v2/silences");
  check(silences.some((x) => x.createdBy === "e2e" && x.status.state === "active"
    && x.matchers.some((m) => m.name === "alertname" && m.value === "HostileAlert")), "silence visible in /api/v2/silences");
  await page.screenshot({ path: join(shots, "alerts-silenced.png"), fullPage: true });
  console.log("ok: silence created through the UI");

  // Query explorer: a graph with points, a table, and Prometheus's own error text.
  await visit(`#/query?${new URLSearchParams({ expr: "vector(time() % 60)", range: "5m" })}`, "svg.chart path.line", "query");
  const d = await page.getAttribute("svg.chart path.line", "d");
  check(/^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+){10,}$/.test(d), `chart path has points: ${d}`);
  check(await page.locator("#result table tbody tr").count() === 1, "instant table with one row");
  expectBadRequest = true;
  await page.fill("#expr", "sum(");
  await page.press("#expr", "Control+Enter");
  await page.waitForSelector(".error >> text=bad_data");
  await page.screenshot({ path: join(shots, "query-error.png"), fullPage: true });
  expectBadRequest = false;
  console.log("ok: query error shown");

  // Keyboard: the skip link is the first tab stop and moves focus to <main>.
  await page.goto(`${base}/ui/`);
  await page.waitForSelector("h1 >> text=Overview");
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.textContent) === "Skip to content", "skip link first in focus order");
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log("all UI checks passed");
