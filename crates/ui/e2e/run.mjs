// Browser end-to-end test of tocsin's web UI, run by crates/tocsin/tests/it/ui.rs against a
// live server: every page loads without console errors, attacker-controlled labels stay
// text, a silence and an ack are made through the UI, a chart renders, an incident is
// acknowledged (and a refused change shows the 409), a page is acknowledged from an inbox,
// an override is created, the reports render (capacity says it has no data). Screenshots go to
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

/** Polls `probe` (an async predicate) every 100 ms for at most `ms`. */
async function eventually(what, probe, ms = 10000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`check failed: ${what} (waited ${ms} ms)`);
}

/** A datetime-local value in this process's zone (Chromium runs in the same one). */
function localInput(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--headless=new"], timeout: TIMEOUT });
const problems = [];
// Deliberate errors (a bad query's 400, a refused incident change's 409) are logged by
// Chromium as console errors; only the one being provoked is let through.
let expectedStatus = null;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("console", (m) => {
    if (m.type() !== "error" && m.type() !== "warning") return;
    if (expectedStatus && m.text().includes(`status of ${expectedStatus}`)) return;
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

  // Incidents: the list shows the hand-opened incidents, hostile title as text.
  await visit("#/incidents", "#incident-count", "incidents");
  check(await page.locator("nav[aria-label=Main] a[aria-current=page]").textContent() === "Incidents", "incidents marked current");
  check(await page.getByText("<img src=x onerror=window.pwned=2> checkout down", { exact: true }).count() === 1, "hostile title shown as text");
  check(await page.locator("main img").count() === 0 && await page.evaluate(() => window.pwned === undefined), "nothing injected from the title");
  check(/so far/.test(await page.locator("main table tbody tr").first().textContent()), "open incident shows its time so far");

  // The incident page: acknowledge through the UI, then a refused change shows the 409.
  await page.click("main table a >> text=INC-1");
  await page.waitForSelector("#incident-status >> text=triage");
  await page.fill("#status-by", "e2e-ic");
  await page.fill("#status-note", "on it");
  await page.click("button[data-verb=ack]");
  await page.waitForSelector("#incident-status >> text=acknowledged");
  const inc = await api("/api/tocsin/v1/incidents/INC-1");
  check(inc.incident.status === "acknowledged" && inc.incident.acknowledged_time, "INC-1 acknowledged in the API");
  check(inc.timeline.some((e) => e.kind === "status" && e.actor === "e2e-ic"), "the ack is on the timeline, by e2e-ic");
  console.log("ok: incident acknowledged through the UI");
  expectedStatus = 409;
  await page.click("button[data-verb=close]");
  await page.waitForSelector("#status-result .error >> text=409");
  check(/cannot become closed/.test(await page.textContent("#status-result")), "the 409 names the refused change");
  check(await page.evaluate(() => document.activeElement.id === "status-result"), "focus moves to the refusal");
  expectedStatus = null;
  console.log("ok: refused change shows the 409");
  // A note and a role, through the UI.
  await page.fill("#note-text", "rolled back the <b>deploy</b>");
  await page.click("form[aria-labelledby=note-h] button[type=submit]");
  await page.waitForSelector("ol.timeline >> text=rolled back the <b>deploy</b>");
  await page.selectOption("#role-name", "commander");
  await page.fill("#role-person", "alice");
  await page.click("form[aria-label='Assign a role'] button[type=submit]");
  await page.waitForSelector("table >> td >> text=alice");
  check((await api("/api/tocsin/v1/incidents/INC-1")).incident.roles.commander === "alice", "commander assigned");
  check((await page.textContent("#postmortem-draft")).includes("INC-1"), "post-mortem draft shown");
  await page.fill("#item-title", "add a canary stage");
  await page.fill("#item-owner", "alice");
  await page.click("form[aria-label='Add an action item'] button[type=submit]");
  await page.waitForSelector("h2 >> text=Action items (1)");
  await page.locator("select[aria-label^='Status of action item']").first().selectOption("done");
  await eventually("the action item marked done through the UI", async () =>
    (await api("/api/tocsin/v1/incidents/INC-1/action-items")).action_items.some((x) => x.title === "add a canary stage" && x.status === "done"));
  await page.screenshot({ path: join(shots, "incident.png"), fullPage: true });
  console.log("ok: incident page (note, role, post-mortem, action item)");

  // On-call: who is on call, the week, an override made through the UI, the inbox ack.
  // INC-2 (still in triage) paged whoever was primary when it opened (the timeline says
  // who: asking who is on call now could cross a handoff).
  let primary = null;
  await eventually("INC-2's first page on its timeline", async () => {
    const sent = (await api("/api/tocsin/v1/incidents/INC-2/timeline")).timeline.find((e) => e.kind === "page_sent");
    primary = sent ? sent.detail.user : null;
    return primary !== null;
  });
  await eventually(`an unacknowledged page in ${primary}'s inbox`, async () =>
    (await api(`/api/tocsin/v1/oncall/users/${primary}/inbox`)).items.some((x) => x.escalation_key === "INC-2" && !x.acked_at));
  await visit(`#/oncall?user=${primary}`, "#inbox table", "oncall");
  check(await page.locator("svg.week rect.shift").count() >= 7, "7-day view has shift blocks");
  check(await page.locator("details.shifts table").count() === 2, "a text table per schedule");
  check((await page.locator("main table").first().textContent()).includes("primary of payments-default"), "primary role shown");
  const inc2Row = page.locator("#inbox tbody tr", { hasText: "INC-2" }).first();
  await inc2Row.getByRole("button", { name: /^Acknowledge/ }).click();
  await page.locator("#inbox tbody tr", { hasText: "INC-2" }).first().getByText(/^acknowledged /).waitFor();
  const escalations = await api("/api/tocsin/v1/oncall/escalations?all=true");
  const esc2 = (escalations.escalations || escalations.items || []).find((e) => e.key === "INC-2");
  check(esc2 && esc2.state === "acked", `INC-2's escalation acknowledged: ${JSON.stringify(escalations)}`);
  console.log("ok: page acknowledged from the inbox");
  const overrideStart = Math.ceil(Date.now() / 3600000) * 3600000 + 86400000;
  await page.selectOption("#override-schedule", "secondary");
  await page.selectOption("#override-user", "bob");
  await page.fill("#override-start", localInput(overrideStart));
  await page.fill("#override-end", localInput(overrideStart + 2 * 3600000));
  await page.fill("#override-by", "e2e");
  await page.click("form[aria-labelledby=new-override-h] button[type=submit]");
  await page.waitForSelector("main table >> td >> text=api");
  const overrides = await api("/api/tocsin/v1/oncall/schedules/secondary/overrides");
  check(overrides.overrides.some((o) => o.user === "bob" && Date.parse(o.start) === overrideStart), "override stored through the UI");
  await page.screenshot({ path: join(shots, "oncall-override.png"), fullPage: true });
  console.log("ok: override created through the UI");

  // Reports: every section renders; without node metrics the capacity table says so.
  await visit("#/reports", "#capacity-empty", "reports");
  check((await page.textContent("main")).includes("service checkout"), "MTTA/MTTR per service");
  check(await page.locator("h2 >> text=Pages out of hours, per person").count() === 1, "out-of-hours section");
  const forecast = await page.evaluate(async () => {
    const { headroom } = await import("./reports.js");
    const v = (service, x) => ({ metric: { service }, value: [0, String(x)] });
    return headroom([v("a", 0.5), v("b", 0.9), v("c", 0.3)], [v("a", 0.1 / 3600), v("c", -0.01)], []);
  });
  check(forecast[0].service === "b" && forecast[0].secondsToLimit === 0, "over the limit first");
  check(forecast[1].service === "a" && Math.round(forecast[1].secondsToLimit) === 3 * 3600, "0.5 rising 0.1/h reaches 0.8 in 3h");
  check(forecast[2].service === "c" && forecast[2].secondsToLimit === null, "a falling trend never reaches it");
  console.log("ok: reports");

  // Query explorer: a graph with points, a table, and Prometheus's own error text.
  await visit(`#/query?${new URLSearchParams({ expr: "vector(time() % 60)", range: "5m" })}`, "svg.chart path.line", "query");
  const d = await page.getAttribute("svg.chart path.line", "d");
  check(/^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+){10,}$/.test(d), `chart path has points: ${d}`);
  check(await page.locator("#result table tbody tr").count() === 1, "instant table with one row");
  expectedStatus = 400;
  await page.fill("#expr", "sum(");
  await page.press("#expr", "Control+Enter");
  await page.waitForSelector(".error >> text=bad_data");
  await page.screenshot({ path: join(shots, "query-error.png"), fullPage: true });
  expectedStatus = null;
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
