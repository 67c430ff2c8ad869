// Alerts: firing, silenced and inhibited alerts; alert groups with acknowledgements; silences
// (create, list, expire); history. Labels and annotations are attacker-controlled: they only
// ever reach the page as text (see dom.js).
import { get, send } from "./api.js";
import { h, replace, table, errorBox, labelChips, fmtTime, announce } from "./dom.js";

export async function render(main) {
  const form = silenceForm(() => render(main));
  replace(main, h("h1", {}, "Alerts"), h("p", { class: "muted" }, "Loading…"));
  const [alerts, groups, silences, history] = await Promise.allSettled([
    get("/api/v2/alerts"),
    get("/api/tocsin/v1/alerts/groups"),
    get("/api/v2/silences"),
    get("/api/tocsin/v1/alerts/history?limit=50"),
  ]);
  const list = alerts.status === "fulfilled" ? alerts.value : [];
  const state = (a) => a.status?.state === "active" ? "firing"
    : (a.status?.silencedBy || []).length ? "silenced"
      : (a.status?.inhibitedBy || []).length ? "inhibited" : (a.status?.state || "unknown");
  const by = (name) => list.filter((a) => state(a) === name);

  replace(main,
    h("h1", {}, "Alerts"),
    h("nav", { "aria-label": "Sections" }, h("ul", { class: "legend" },
      [["firing-h", "Firing"], ["silenced-h", "Silenced"], ["inhibited-h", "Inhibited"], ["groups-h", "Groups"],
        ["silences-h", "Silences"], ["new-silence-h", "New silence"], ["history-h", "History"]]
        .map(([id, text]) => h("li", {}, h("a", { href: `#/alerts`, "data-target": id, onclick: jump }, text))))),
    alerts.status === "rejected" ? errorBox(alerts.reason) : null,
    alertSection("firing-h", `Firing (${by("firing").length})`, by("firing"), form),
    alertSection("silenced-h", `Silenced (${by("silenced").length})`, by("silenced"), form),
    alertSection("inhibited-h", `Inhibited (${by("inhibited").length})`, by("inhibited"), form),
    h("section", { "aria-labelledby": "groups-h" }, h("h2", { id: "groups-h" }, "Groups"),
      groups.status === "fulfilled" ? groupTable(groups.value, () => render(main)) : errorBox(groups.reason)),
    h("section", { "aria-labelledby": "silences-h" }, h("h2", { id: "silences-h" }, "Silences"),
      silences.status === "fulfilled" ? silenceTable(silences.value, () => render(main)) : errorBox(silences.reason)),
    h("section", { "aria-labelledby": "new-silence-h" }, h("h2", { id: "new-silence-h" }, "New silence"), form.element),
    h("section", { "aria-labelledby": "history-h" }, h("h2", { id: "history-h" }, "History (latest 50)"),
      history.status === "fulfilled" ? historyTable(history.value.data || []) : errorBox(history.reason)));
}

// In-page links without touching the hash, which routes between pages.
function jump(ev) {
  ev.preventDefault();
  const target = document.getElementById(ev.currentTarget.dataset.target);
  if (target) { target.setAttribute("tabindex", "-1"); target.focus(); target.scrollIntoView(); }
}

function alertSection(id, title, alerts, form) {
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title),
    alerts.length === 0 ? h("p", { class: "muted" }, "None.") :
      table(title, ["Alert", "Labels", "Summary", "Since", ""],
        alerts.sort((a, b) => String(a.labels?.alertname).localeCompare(String(b.labels?.alertname)))
          .map((a) => [
            h("strong", {}, a.labels?.alertname || "(no alertname)"),
            labelChips(a.labels),
            annotationText(a.annotations),
            fmtTime(a.startsAt),
            h("button", { type: "button", class: "secondary", onclick: () => form.prefill(a.labels),
              "aria-label": `Silence ${a.labels?.alertname || "alert"}` }, "Silence…"),
          ])));
}

function annotationText(annotations) {
  const a = annotations || {};
  const main = a.summary || a.description || a.message || "";
  const others = Object.keys(a).filter((k) => a[k] !== main).sort();
  return h("div", {}, main,
    others.length ? h("details", {}, h("summary", {}, "annotations"),
      h("dl", {}, others.map((k) => [h("dt", {}, k), h("dd", {}, a[k])]))) : null);
}

function groupTable(groups, refresh) {
  const list = Array.isArray(groups) ? groups : (groups.groups || groups.data || []);
  if (list.length === 0) return h("p", { class: "muted" }, "No alert groups.");
  return table("Alert groups", ["Group labels", "Receiver", "Alerts", "Acknowledgement", ""],
    list.map((g) => [
      labelChips(g.labels),
      g.receiver?.name || g.receiver || "",
      String((g.alerts || []).length),
      g.ack ? `by ${g.ack.by}${g.ack.comment ? ` (${g.ack.comment})` : ""}, since ${fmtTime(g.ack.acked_at)}${g.ack.expires_at ? `, until ${fmtTime(g.ack.expires_at)}` : ""}` : "not acknowledged",
      g.ack ? h("button", { type: "button", class: "secondary", onclick: () => unack(g.key, refresh) }, "Remove ack") : ackForm(g.key, refresh),
    ]));
}

function ackForm(key, refresh) {
  const by = h("input", { type: "text", name: "by", required: true, size: 10, autocomplete: "username", "aria-label": "Acknowledged by" });
  const comment = h("input", { type: "text", name: "comment", size: 14, "aria-label": "Comment" });
  const duration = h("input", { type: "text", name: "duration", size: 5, placeholder: "2h", "aria-label": "For (e.g. 2h; empty: until resolved)" });
  const error = h("div", { "aria-live": "assertive" });
  const form = h("form", { class: "inline", "aria-label": "Acknowledge group" },
    by, comment, duration, h("button", { type: "submit" }, "Ack"), error);
  by.placeholder = "by";
  comment.placeholder = "comment";
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const payload = { by: by.value.trim(), comment: comment.value };
    if (duration.value.trim()) payload.duration = duration.value.trim();
    try {
      await send("POST", `/api/tocsin/v1/alerts/groups/${encodeURIComponent(key)}/ack`, payload);
      announce("Group acknowledged");
      await refresh();
    } catch (err) { replace(error, errorBox(err)); }
  });
  return form;
}

async function unack(key, refresh) {
  try {
    await send("DELETE", `/api/tocsin/v1/alerts/groups/${encodeURIComponent(key)}/ack`);
    announce("Acknowledgement removed");
    await refresh();
  } catch (err) { alertError(err); }
}

function alertError(err) {
  const main = document.getElementById("main");
  main.prepend(errorBox(err));
  main.focus();
}

function silenceTable(silences, refresh) {
  const live = silences.filter((x) => x.status?.state !== "expired")
    .sort((a, b) => String(a.endsAt).localeCompare(String(b.endsAt)));
  if (live.length === 0) return h("p", { class: "muted" }, "No active or pending silences.");
  return table("Active and pending silences", ["Matchers", "State", "Ends", "Created by", "Comment", ""],
    live.map((x) => [
      h("span", { class: "labels" }, (x.matchers || []).map((m) => h("span", { class: "label" }, matcherText(m)))),
      x.status?.state || "",
      fmtTime(x.endsAt),
      x.createdBy || "",
      x.comment || "",
      h("button", { type: "button", class: "secondary", "aria-label": `Expire silence ${x.id}`,
        onclick: async () => {
          try {
            await send("DELETE", `/api/v2/silence/${encodeURIComponent(x.id)}`);
            announce("Silence expired");
            await refresh();
          } catch (err) { alertError(err); }
        } }, "Expire"),
    ]));
}

export function matcherText(m) {
  const op = m.isRegex ? (m.isEqual === false ? "!~" : "=~") : (m.isEqual === false ? "!=" : "=");
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

/** Parses one matcher per line: `name=value`, `name!=value`, `name=~regex`, `name!~regex`,
 * values optionally double-quoted. Throws with the line number on a bad line. */
export function parseMatchers(text) {
  const out = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*)$/.exec(line);
    if (!m) throw new Error(`matcher on line ${i + 1} (${line}) is not name=value, name!=value, name=~regex or name!~regex`);
    let value = m[3];
    if (value.startsWith('"')) {
      try { value = JSON.parse(value); } catch { throw new Error(`matcher on line ${i + 1}: the quoted value ${value} is not closed or has a bad escape`); }
    }
    out.push({ name: m[1], value, isRegex: m[2].includes("~"), isEqual: !m[2].startsWith("!") });
  });
  if (out.length === 0) throw new Error("a silence needs at least one matcher");
  return out;
}

const DURATION = /^(\d+)([mhdw])$/;
const UNIT_MS = { m: 60000, h: 3600000, d: 86400000, w: 604800000 };

function silenceForm(refresh) {
  const matchers = h("textarea", { id: "silence-matchers", name: "matchers", class: "mono", required: true, rows: 4 });
  const duration = h("input", { id: "silence-duration", name: "duration", type: "text", value: "2h", required: true, pattern: "\\d+[mhdw]" });
  const createdBy = h("input", { id: "silence-by", name: "createdBy", type: "text", required: true, autocomplete: "username" });
  const comment = h("input", { id: "silence-comment", name: "comment", type: "text", required: true });
  const result = h("div", { "aria-live": "polite" });
  const element = h("form", { class: "stack", id: "silence-form", "aria-labelledby": "new-silence-h" },
    h("label", { for: "silence-matchers" }, "Matchers", h("span", { class: "hint" }, 'One per line: name="value", name!="value", name=~"regex", name!~"regex"')),
    matchers,
    h("label", { for: "silence-duration" }, "Duration", h("span", { class: "hint" }, "e.g. 30m, 2h, 1d, 1w")),
    duration,
    h("label", { for: "silence-by" }, "Created by"), createdBy,
    h("label", { for: "silence-comment" }, "Comment"), comment,
    h("div", {}, h("button", { type: "submit" }, "Create silence")),
    result);
  element.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const d = DURATION.exec(duration.value.trim());
      if (!d) throw new Error(`duration ${duration.value} is not a number followed by m, h, d or w`);
      const start = new Date();
      const payload = {
        matchers: parseMatchers(matchers.value),
        startsAt: start.toISOString(),
        endsAt: new Date(start.getTime() + Number(d[1]) * UNIT_MS[d[2]]).toISOString(),
        createdBy: createdBy.value.trim(),
        comment: comment.value,
      };
      const body = await send("POST", "/api/v2/silences", payload);
      announce(`Silence ${body.silenceID} created`);
      await refresh();
      const main = document.getElementById("main");
      main.prepend(h("p", { class: "status-ok", role: "status", id: "silence-created" }, `Silence ${body.silenceID} created.`));
    } catch (err) {
      replace(result, errorBox(err));
    }
  });
  return {
    element,
    prefill(labels) {
      matchers.value = Object.keys(labels || {}).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join("\n");
      matchers.focus();
    },
  };
}

function historyTable(rows) {
  if (rows.length === 0) return h("p", { class: "muted" }, "No history yet.");
  return table("Alert history", ["At", "Kind", "State", "Alert", "Receiver / group"],
    rows.map((r) => [fmtTime(r.at), r.kind || "", r.state || "", r.alertname || "",
      r.receiver ? `${r.receiver} ${r.groupKey || ""}` : (r.fingerprint || "")]));
}
