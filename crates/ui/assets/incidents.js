// Incidents: the list with filters, and one incident's page (times, roles, status actions,
// notes, timeline, alerts, post-mortem draft and action items). Titles, notes, labels and
// names are user-supplied: they only reach the page as text (see dom.js).
import { get, send } from "./api.js";
import {
  h, replace, table, errorBox, labelChips, fmtTime, fmtDuration, fmtPercent, announce,
  linkOrText, actor, rememberActor, field,
} from "./dom.js";

const STATUSES = ["triage", "acknowledged", "mitigated", "resolved", "closed", "cancelled"];
const SEVERITIES = ["SEV1", "SEV2", "SEV3", "SEV4"];
const SINCE = [["7d", "7 days"], ["28d", "28 days"], ["90d", "90 days"], ["", "any time"]];

/** Where each status may go (docs/incidents.md); the server checks it too and answers 409. */
export const NEXT = {
  triage: ["acknowledged", "mitigated", "resolved", "cancelled"],
  acknowledged: ["mitigated", "resolved", "cancelled"],
  mitigated: ["resolved"],
  resolved: ["closed"],
  closed: [],
  cancelled: [],
};

/** The status actions, as the API names them, and the status each leads to. */
export const ACTIONS = [
  ["ack", "Acknowledge", "acknowledged"],
  ["mitigate", "Mitigate", "mitigated"],
  ["resolve", "Resolve", "resolved"],
  ["close", "Close", "closed"],
  ["cancel", "Cancel", "cancelled"],
];

const ROLES = [["commander", "Commander"], ["scribe", "Scribe"], ["communications", "Communications"]];

export function statusClass(status) {
  if (status === "triage") return "status-bad";
  if (status === "acknowledged" || status === "mitigated") return "status-warn";
  if (status === "resolved" || status === "closed") return "status-ok";
  return "muted";
}

/** Time to acknowledge and to resolve; for an incident still waiting, the time so far
 * (marked "so far") so the list shows how long something has been left. */
export function timesSoFar(incident, times, nowMs = Date.now()) {
  const opened = Date.parse(incident.opened_time);
  const elapsed = Number.isFinite(opened) ? Math.max(0, (nowMs - opened) / 1000) : null;
  const final = incident.status === "cancelled" || incident.status === "closed" || incident.status === "resolved";
  const pick = (measured, stillWaiting) => {
    if (measured !== null && measured !== undefined) return fmtDuration(measured);
    if (stillWaiting && elapsed !== null) return `${fmtDuration(elapsed)} so far`;
    return "–";
  };
  return {
    tta: pick(times?.time_to_acknowledge_seconds, !final && incident.status === "triage"),
    ttr: pick(times?.time_to_resolve_seconds, !final),
  };
}

export async function render(main, parts, params) {
  if (parts[1]) return renderOne(main, parts[1]);
  return renderList(main, params);
}

// ---- the list ----

async function renderList(main, params) {
  const status = params.get("status") ?? "open";
  const service = params.get("service") || "";
  const team = params.get("team") || "";
  const severity = params.get("severity") || "";
  // Open incidents are shown whatever their age (an old one still needs work); finished ones
  // default to the last 28 days.
  const since = params.has("since") ? params.get("since") : status === "open" ? "" : "28d";
  const form = listFilters({ status, service, team, severity, since });
  replace(main, h("h1", {}, "Incidents"), form, h("p", { class: "muted" }, "Loading…"));

  const query = new URLSearchParams({ limit: "500" });
  if (status && status !== "all") query.set("status", status);
  if (service) query.set("service", service);
  if (team) query.set("team", team);
  if (since) query.set("since", since);
  let list;
  try {
    list = (await get(`/api/tocsin/v1/incidents?${query}`)).incidents || [];
  } catch (err) {
    replace(main, h("h1", {}, "Incidents"), form, errorBox(err));
    return;
  }
  // The API has no severity filter; the list is already bounded by `limit`.
  const shown = severity ? list.filter((i) => i.severity === severity) : list;
  const now = Date.now();
  replace(main,
    h("h1", {}, "Incidents"),
    form,
    h("p", { id: "incident-count", role: "status" }, `${shown.length} incident${shown.length === 1 ? "" : "s"}`),
    shown.length === 0 ? h("p", { class: "muted" }, "No incidents match these filters.")
      : table("Incidents, newest first", [
        "Incident", "Title", "Status", "Severity", "Service", "Team", "Opened",
        { text: "Time to ack", class: "num" }, { text: "Time to resolve", class: "num" }],
      shown.map((i) => {
        const t = timesSoFar(i, i.times, now);
        return [
          h("a", { href: `#/incidents/${encodeURIComponent(i.id)}` }, i.id),
          i.title,
          h("span", { class: statusClass(i.status) }, i.status),
          i.severity,
          i.service,
          i.team || "–",
          fmtTime(i.opened_time),
          h("td", { class: "num" }, t.tta),
          h("td", { class: "num" }, t.ttr),
        ];
      })));
}

function listFilters(current) {
  const status = h("select", { name: "status" },
    [["open", "open (triage, acknowledged, mitigated)"], ["all", "all"], ...STATUSES.map((s) => [s, s])]
      .map(([v, t]) => h("option", { value: v, selected: v === current.status }, t)));
  const severity = h("select", { name: "severity" },
    [["", "any"], ...SEVERITIES.map((s) => [s, s])].map(([v, t]) => h("option", { value: v, selected: v === current.severity }, t)));
  const service = h("input", { type: "text", name: "service", value: current.service, size: 12 });
  const team = h("input", { type: "text", name: "team", value: current.team, size: 12 });
  const since = h("select", { name: "since" },
    SINCE.map(([v, t]) => h("option", { value: v, selected: v === current.since }, t)));
  const form = h("form", { class: "inline", role: "search", "aria-label": "Filter incidents" },
    field("Status", status), field("Severity", severity), field("Service", service), field("Team", team),
    field("Opened in the last", since), h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams({ status: status.value, since: since.value });
    if (severity.value) next.set("severity", severity.value);
    if (service.value.trim()) next.set("service", service.value.trim());
    if (team.value.trim()) next.set("team", team.value.trim());
    location.hash = `#/incidents?${next}`;
  });
  return form;
}

// ---- one incident ----

async function renderOne(main, id) {
  const base = `/api/tocsin/v1/incidents/${encodeURIComponent(id)}`;
  replace(main, h("h1", {}, id), h("p", { class: "muted" }, "Loading…"));
  const [detail, draft, items] = await Promise.allSettled([
    get(base), get(`${base}/postmortem`), get(`${base}/action-items`),
  ]);
  if (detail.status === "rejected") {
    replace(main, h("h1", {}, id), errorBox(detail.reason), h("p", {}, h("a", { href: "#/incidents" }, "All incidents")));
    return;
  }
  const d = detail.value;
  const i = d.incident;
  const refresh = () => renderOne(main, id);
  const t = timesSoFar(i, d.times);

  replace(main,
    h("p", {}, h("a", { href: "#/incidents" }, "← All incidents")),
    h("h1", {}, `${i.id} ${i.title}`),
    h("div", { id: "incident-feedback", "aria-live": "assertive" }),
    h("section", { "aria-labelledby": "summary-h" },
      h("h2", { id: "summary-h", class: "visually-hidden" }, "Summary"),
      h("div", { class: "cards" },
        card("Status", h("span", { class: statusClass(i.status), id: "incident-status" }, i.status)),
        card("Severity", i.severity),
        card("Service", i.service, i.team ? `team ${i.team}` : null),
        card("Time to acknowledge", t.tta),
        card("Time to resolve", t.ttr)),
      h("dl", { class: "facts" },
        fact("Opened", fmtTime(i.opened_time)),
        fact("Problem began", i.detected_time ? fmtTime(i.detected_time) : "unknown"),
        fact("Acknowledged", fmtTime(i.acknowledged_time)),
        fact("Mitigated", fmtTime(i.mitigated_time)),
        fact("Resolved", fmtTime(i.resolved_time)),
        i.closed_time ? fact("Closed", fmtTime(i.closed_time)) : null,
        i.cancelled_time ? fact("Cancelled", fmtTime(i.cancelled_time)) : null,
        fact("Source", `${i.source}${i.source_key ? ` (${i.source_key})` : ""}`),
        fact("Runbook", i.runbook_url ? linkOrText(i.runbook_url) : "none"),
        Object.keys(i.labels || {}).length ? fact("Labels", labelChips(i.labels)) : null)),
    statusSection(i, base, refresh),
    rolesSection(i, base, refresh),
    noteSection(base, refresh),
    h("section", { "aria-labelledby": "timeline-h" }, h("h2", { id: "timeline-h" }, "Timeline"),
      timelineTable(d.timeline || [])),
    h("section", { "aria-labelledby": "alerts-h" }, h("h2", { id: "alerts-h" }, `Alerts (${(d.alerts || []).length})`),
      (d.alerts || []).length === 0 ? h("p", { class: "muted" }, "No alerts (opened by hand or by a PagerDuty event).")
        : table("Alerts of the incident", ["Labels", "Started", "Resolved"],
          d.alerts.map((a) => [labelChips(a.labels), fmtTime(a.starts_at), a.resolved_at ? fmtTime(a.resolved_at) : "firing"]))),
    (d.slo_budget || []).length === 0 ? null
      : h("section", { "aria-labelledby": "budget-h" }, h("h2", { id: "budget-h" }, "Error budget consumed"),
        table("Error budget consumed per SLO", ["SLO", { text: "Budget consumed", class: "num" }, { text: "Bad / total events", class: "num" }],
          d.slo_budget.map((b) => [b.slo, h("td", { class: "num" }, fmtPercent(b.consumed)),
            h("td", { class: "num" }, b.total_events === null || b.total_events === undefined ? "–" : `${b.bad_events} / ${b.total_events}`)]))),
    postmortemSection(draft, base),
    actionItemsSection(items, base, refresh));
}

function card(title, value, sub) {
  return h("div", { class: "card" }, h("div", { class: "muted" }, title), h("div", { class: "value" }, value),
    sub ? h("div", { class: "muted" }, sub) : null);
}

function fact(name, value) {
  return h("div", {}, h("dt", {}, name), h("dd", {}, value));
}

function actorInput(id) {
  return h("input", { type: "text", id, name: "by", required: true, size: 12, autocomplete: "username", value: actor() });
}

/** Shows an action's failure where the user acted, and moves focus there so a 409 (the
 * lifecycle refusing the change) is read out, not missed. */
function showError(target, err) {
  replace(target, errorBox(err));
  target.setAttribute("tabindex", "-1");
  target.focus();
}

function statusSection(incident, base, refresh) {
  const by = actorInput("status-by");
  const note = h("input", { type: "text", id: "status-note", name: "note", size: 30 });
  const result = h("div", { id: "status-result", "aria-live": "assertive" });
  const allowed = NEXT[incident.status] || [];
  const buttons = ACTIONS.map(([verb, label, to]) => h("button", {
    type: "button", class: allowed.includes(to) ? null : "secondary", "data-verb": verb,
    onclick: async (ev) => {
      const button = ev.currentTarget;
      if (!by.value.trim()) { by.reportValidity(); return; }
      rememberActor(by.value.trim());
      button.disabled = true;
      try {
        await send("POST", `${base}/${verb}`, { by: by.value.trim(), note: note.value.trim() || undefined });
        announce(`${incident.id} is now ${to}`);
        await refresh();
      } catch (err) {
        button.disabled = false;
        showError(result, err);
      }
    },
  }, label));
  return h("section", { "aria-labelledby": "status-h" },
    h("h2", { id: "status-h" }, "Status"),
    h("p", { class: "hint" }, allowed.length
      ? `From ${incident.status} it can become ${allowed.join(", ")}; other changes are refused.`
      : `${incident.status} is final; every change is refused.`),
    h("form", { class: "inline", "aria-label": "Change status", onsubmit: (ev) => ev.preventDefault() },
      field("By", by), field("Note", note, "optional"), h("div", { class: "buttons" }, buttons)),
    result);
}

function rolesSection(incident, base, refresh) {
  const role = h("select", { id: "role-name", name: "role" }, ROLES.map(([v, t]) => h("option", { value: v }, t)));
  const person = h("input", { type: "text", id: "role-person", name: "person", size: 14 });
  const by = actorInput("role-by");
  const result = h("div", { "aria-live": "assertive" });
  const form = h("form", { class: "inline", "aria-label": "Assign a role" },
    field("Role", role), field("Person", person, "empty clears"), field("By", by),
    h("button", { type: "submit" }, "Assign"), result);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    rememberActor(by.value.trim());
    try {
      await send("POST", `${base}/roles`, { role: role.value, person: person.value.trim(), by: by.value.trim() });
      announce(person.value.trim() ? `${role.value} assigned` : `${role.value} cleared`);
      await refresh();
    } catch (err) { showError(result, err); }
  });
  const roles = incident.roles || {};
  return h("section", { "aria-labelledby": "roles-h" },
    h("h2", { id: "roles-h" }, "Roles"),
    table("Incident roles", ["Role", "Person"], ROLES.map(([v, t]) => [t, roles[v] || h("span", { class: "muted" }, "unassigned")])),
    form);
}

function noteSection(base, refresh) {
  const text = h("textarea", { id: "note-text", name: "note", required: true, rows: 3 });
  const by = actorInput("note-by");
  const result = h("div", { "aria-live": "assertive" });
  const form = h("form", { class: "stack", "aria-labelledby": "note-h" },
    field("Note", text), field("By", by), h("div", {}, h("button", { type: "submit" }, "Add note")), result);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    rememberActor(by.value.trim());
    try {
      await send("POST", `${base}/notes`, { note: text.value, by: by.value.trim() });
      announce("Note added");
      await refresh();
    } catch (err) { showError(result, err); }
  });
  return h("section", { "aria-labelledby": "note-h" }, h("h2", { id: "note-h" }, "Add a note"), form);
}

function timelineTable(rows) {
  if (rows.length === 0) return h("p", { class: "muted" }, "Nothing recorded yet.");
  return h("ol", { class: "timeline", "aria-label": "Timeline, oldest first" }, rows.map((r) =>
    h("li", {},
      h("time", { datetime: r.time }, fmtTime(r.time)), " ",
      h("span", { class: "label" }, r.kind), " ",
      r.actor ? h("strong", {}, r.actor) : null, r.actor ? ": " : null,
      h("span", { class: "message" }, r.message || ""),
      detailText(r.detail))));
}

// Runbook output, PagerDuty details and the like: shown verbatim, folded away.
function detailText(detail) {
  if (detail === null || detail === undefined) return null;
  if (typeof detail === "object" && Object.keys(detail).length === 0) return null;
  return h("details", {}, h("summary", {}, "details"),
    h("pre", { class: "mono" }, typeof detail === "string" ? detail : JSON.stringify(detail, null, 2)));
}

function postmortemSection(draft, base) {
  const result = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "button", class: "secondary", onclick: async () => {
    try {
      const body = await send("POST", `${base}/postmortem`, { by: actor() || undefined });
      replace(result, h("p", { class: "status-ok" }, `Stored as ${body.status}.`));
      announce("Post-mortem stored");
    } catch (err) { showError(result, err); }
  } }, "Store this draft");
  return h("section", { "aria-labelledby": "postmortem-h" },
    h("h2", { id: "postmortem-h" }, "Post-mortem draft"),
    draft.status === "rejected" ? errorBox(draft.reason)
      : [h("pre", { class: "postmortem", id: "postmortem-draft", tabindex: "0", "aria-label": "Post-mortem draft (Markdown)" },
        draft.value.markdown || ""), save, result]);
}

const ITEM_STATUSES = [["open", "open"], ["in_progress", "in progress"], ["done", "done"], ["wont_do", "won't do"]];

// Changing the select saves at once (PATCH), so an item is closed in one keyboard action.
function itemStatus(item, result, refresh) {
  const select = h("select", { "aria-label": `Status of action item ${item.id}` },
    ITEM_STATUSES.map(([v, t]) => h("option", { value: v, selected: v === item.status }, t)));
  select.addEventListener("change", async () => {
    try {
      await send("PATCH", `/api/tocsin/v1/action-items/${encodeURIComponent(item.id)}`, { status: select.value });
      announce(`Action item ${item.id} is ${select.value.replace("_", " ")}`);
      await refresh();
    } catch (err) { showError(result, err); }
  });
  return select;
}

function actionItemsSection(items, base, refresh) {
  const title = h("input", { type: "text", id: "item-title", required: true, size: 28 });
  const owner = h("input", { type: "text", id: "item-owner", required: true, size: 10 });
  const due = h("input", { type: "date", id: "item-due" });
  const priority = h("select", { id: "item-priority" }, ["P1", "P2", "P3", "P4"].map((p) => h("option", { value: p, selected: p === "P3" }, p)));
  const result = h("div", { "aria-live": "assertive" });
  const form = h("form", { class: "inline", "aria-label": "Add an action item" },
    field("Title", title), field("Owner", owner), field("Due", due, "optional"), field("Priority", priority),
    h("button", { type: "submit" }, "Add"), result);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const payload = { title: title.value.trim(), owner: owner.value.trim(), priority: priority.value };
    if (due.value) payload.due = `${due.value}T00:00:00Z`;
    try {
      await send("POST", `${base}/action-items`, payload);
      announce("Action item added");
      await refresh();
    } catch (err) { showError(result, err); }
  });
  const list = items.status === "fulfilled" ? items.value.action_items || [] : [];
  return h("section", { "aria-labelledby": "items-h" },
    h("h2", { id: "items-h" }, `Action items (${list.length})`),
    items.status === "rejected" ? errorBox(items.reason)
      : list.length === 0 ? h("p", { class: "muted" }, "No action items yet.")
        : table("Action items", ["#", "Title", "Owner", "Priority", "Due", "Status", "Link"],
          list.map((x) => [String(x.id), x.title, x.owner, x.priority || "–", fmtTime(x.due), itemStatus(x, result, refresh),
            x.link ? linkOrText(x.link) : "–"])),
    form);
}
