// On-call: who is on call now (primary and secondary, from the escalation policies), each
// schedule's next 7 days as blocks with a table as the text alternative, overrides (list,
// create, delete) and one user's inbox of pages with an acknowledge action. Names come
// from directory files and the API: text only (see dom.js).
import { get, send } from "./api.js";
import { h, s, replace, table, errorBox, fmtTime, announce, actor, rememberActor, field } from "./dom.js";

const DAY_MS = 86400000;
// No red: red marks gaps (nobody on call).
const COLORS = ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#7f7f7f"];

/** What each schedule is to the escalation policies: `primary` when a first step pages it,
 * `secondary` when a later step does (with the policies named). */
export function scheduleRoles(policies) {
  const roles = new Map();
  const add = (schedule, role, policy) => {
    if (!roles.has(schedule)) roles.set(schedule, []);
    roles.get(schedule).push(`${role} of ${policy}`);
  };
  for (const p of policies) {
    (p.steps || []).forEach((step, n) => {
      for (const target of step.targets || []) {
        if (target.schedule) add(target.schedule, n === 0 ? "primary" : n === 1 ? "secondary" : `step ${n + 1}`, p.id);
      }
    });
  }
  return roles;
}

export async function render(main, params) {
  const user = params.get("user") || "";
  replace(main, h("h1", {}, "On-call"), h("p", { class: "muted" }, "Loading…"));
  const [who, users, policies] = await Promise.allSettled([
    get("/api/tocsin/v1/oncall/who"),
    get("/api/tocsin/v1/oncall/users"),
    get("/api/tocsin/v1/oncall/escalation_policies"),
  ]);
  if (who.status === "rejected") {
    replace(main, h("h1", {}, "On-call"), errorBox(who.reason));
    return;
  }
  const schedules = who.value.schedules || [];
  const userList = users.status === "fulfilled" ? users.value.items || [] : [];
  const names = new Map(userList.map((u) => [u.id, u.name || u.id]));
  const roles = scheduleRoles(policies.status === "fulfilled" ? policies.value.items || [] : []);
  const now = Date.now();
  const from = new Date(now), to = new Date(now + 7 * DAY_MS);
  // One request per schedule (a handful), never per service or person.
  const perSchedule = await Promise.all(schedules.map(async (x) => {
    const id = encodeURIComponent(x.schedule);
    const range = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
    const [shifts, overrides] = await Promise.allSettled([
      get(`/api/tocsin/v1/oncall/schedules/${id}/shifts?${range}`),
      get(`/api/tocsin/v1/oncall/schedules/${id}/overrides`),
    ]);
    return { id: x.schedule, shifts, overrides };
  }));
  const refresh = () => render(main, params);

  replace(main,
    h("h1", {}, "On-call"),
    h("section", { "aria-labelledby": "now-h" },
      h("h2", { id: "now-h" }, "On call now"),
      schedules.length === 0 ? h("p", { class: "muted" }, "No schedules (oncall.files in the configuration).")
        : table("Who is on call now, per schedule", ["Schedule", "Role", "On call", "Since", "Until", "Via"],
          schedules.map((x) => {
            const shift = (x.on_call || [])[0];
            return [
              x.name && x.name !== x.schedule ? `${x.name} (${x.schedule})` : x.schedule,
              (roles.get(x.schedule) || ["not in a policy"]).join(", "),
              shift ? h("strong", {}, shift.name || shift.user) : h("span", { class: "status-bad" }, "nobody (gap)"),
              shift ? fmtTime(shift.start) : "–",
              shift ? fmtTime(shift.end) : "–",
              shift ? shift.source : "–",
            ];
          }))),
    users.status === "rejected" ? errorBox(users.reason) : null,
    policies.status === "rejected" ? errorBox(policies.reason) : null,
    h("section", { "aria-labelledby": "week-h" },
      h("h2", { id: "week-h" }, "Next 7 days"),
      weekView(perSchedule, names, from.getTime(), to.getTime())),
    overridesSection(perSchedule, userList, refresh),
    inboxSection(main, user, userList, params));
  if (user) await loadInbox(user);
}

// ---- the 7-day view ----

function weekView(perSchedule, names, fromMs, toMs) {
  if (perSchedule.length === 0) return h("p", { class: "muted" }, "No schedules.");
  const people = [...new Set(perSchedule.flatMap((x) => x.shifts.status === "fulfilled" ? x.shifts.value.shifts.map((sh) => sh.user) : []))].sort();
  const color = (u) => COLORS[people.indexOf(u) % COLORS.length];
  const W = 960, LANE = 34, LEFT = 120, TOP = 22;
  const H = TOP + perSchedule.length * LANE + 8;
  const x = (ms) => LEFT + ((Math.min(Math.max(ms, fromMs), toMs) - fromMs) / (toMs - fromMs)) * (W - LEFT - 8);
  const svg = s("svg", { class: "chart week", viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": "On-call blocks per schedule for the next 7 days; the tables below give the same shifts as text" });
  svg.append(s("title", {}, "On-call schedule, next 7 days"));
  for (let d = 0; d <= 7; d++) {
    const at = fromMs + d * DAY_MS;
    svg.append(s("line", { class: "axis", x1: x(at), x2: x(at), y1: TOP - 4, y2: H - 4 }));
    if (d < 7) svg.append(s("text", { x: x(at) + 3, y: TOP - 8 }, new Date(at).toISOString().slice(5, 10)));
  }
  perSchedule.forEach((sched, lane) => {
    const y = TOP + lane * LANE;
    svg.append(s("text", { x: 4, y: y + LANE / 2 + 4 }, sched.id));
    if (sched.shifts.status !== "fulfilled") return;
    for (const sh of sched.shifts.value.shifts) {
      const x1 = x(Date.parse(sh.start)), x2 = x(Date.parse(sh.end));
      const block = s("rect", { class: "shift", x: x1, y: y + 3, width: Math.max(1, x2 - x1), height: LANE - 6, rx: 3 },
        s("title", {}, `${sched.id}: ${names.get(sh.user) || sh.user}, ${fmtTime(sh.start)} to ${fmtTime(sh.end)} (${sh.source})`));
      block.style.fill = color(sh.user);
      svg.append(block);
    }
    for (const gap of sched.shifts.value.gaps) {
      const x1 = x(Date.parse(gap.start)), x2 = x(Date.parse(gap.end));
      svg.append(s("rect", { class: "gap", x: x1, y: y + 3, width: Math.max(1, x2 - x1), height: LANE - 6 },
        s("title", {}, `${sched.id}: nobody on call ${fmtTime(gap.start)} to ${fmtTime(gap.end)}`)));
    }
  });
  return h("div", {},
    h("figure", { class: "chart-figure" }, svg,
      h("figcaption", {}, h("ul", { class: "legend", "aria-label": "People" }, people.map((u) => {
        const sw = h("span", { class: "swatch", "aria-hidden": "true" });
        sw.style.background = color(u);
        return h("li", {}, sw, names.get(u) || u);
      }), h("li", {}, h("span", { class: "swatch gap-swatch", "aria-hidden": "true" }), "nobody on call (gap)")))),
    perSchedule.map((sched) => h("details", { class: "shifts" },
      h("summary", {}, `Shifts of ${sched.id} as a table`),
      sched.shifts.status === "rejected" ? errorBox(sched.shifts.reason)
        : table(`Shifts and gaps of ${sched.id}, next 7 days`, ["From", "To", "On call", "Via"],
          [...sched.shifts.value.shifts.map((sh) => ({ start: sh.start, row: [fmtTime(sh.start), fmtTime(sh.end), names.get(sh.user) || sh.user, sh.source] })),
            ...sched.shifts.value.gaps.map((g) => ({ start: g.start, row: [fmtTime(g.start), fmtTime(g.end), h("span", { class: "status-bad" }, "nobody (gap)"), "–"] }))]
            .sort((a, b) => Date.parse(a.start) - Date.parse(b.start)).map((r) => r.row)))));
}

// ---- overrides ----

function overridesSection(perSchedule, users, refresh) {
  const rows = perSchedule.flatMap((sched) => sched.overrides.status === "fulfilled"
    ? sched.overrides.value.overrides.map((o) => ({ schedule: sched.id, ...o })) : []);
  const failures = perSchedule.filter((x) => x.overrides.status === "rejected").map((x) => errorBox(x.overrides.reason));
  const result = h("div", { "aria-live": "assertive" });
  return h("section", { "aria-labelledby": "overrides-h" },
    h("h2", { id: "overrides-h" }, "Overrides"),
    failures,
    rows.length === 0 ? h("p", { class: "muted" }, "No overrides.")
      : table("Overrides, all schedules", ["Schedule", "On call", "Replaces", "From", "To", "Made in", ""],
        rows.sort((a, b) => Date.parse(a.start) - Date.parse(b.start)).map((o) => [
          o.schedule, o.user, o.replaces || "whoever is on call", fmtTime(o.start), fmtTime(o.end), o.origin,
          o.id ? h("button", { type: "button", class: "secondary", "aria-label": `Delete override of ${o.user} on ${o.schedule}`,
            onclick: async () => {
              try {
                await send("DELETE", `/api/tocsin/v1/oncall/schedules/${encodeURIComponent(o.schedule)}/overrides/${encodeURIComponent(o.id)}`);
                announce("Override deleted");
                await refresh();
              } catch (err) { replace(result, errorBox(err)); }
            } }, "Delete") : h("span", { class: "hint" }, "edit the file"),
        ])),
    result,
    perSchedule.length ? overrideForm(perSchedule.map((x) => x.id), users, refresh) : null);
}

function overrideForm(scheduleIds, users, refresh) {
  const schedule = h("select", { id: "override-schedule", required: true }, scheduleIds.map((id) => h("option", { value: id }, id)));
  const people = [["", "—"], ...users.map((u) => [u.id, u.name && u.name !== u.id ? `${u.name} (${u.id})` : u.id])];
  const user = h("select", { id: "override-user", required: true }, people.slice(1).map(([v, t]) => h("option", { value: v }, t)));
  const replaces = h("select", { id: "override-replaces" }, people.map(([v, t]) => h("option", { value: v }, v ? t : "whoever is on call")));
  const start = h("input", { type: "datetime-local", id: "override-start", required: true });
  const end = h("input", { type: "datetime-local", id: "override-end", required: true });
  const by = h("input", { type: "text", id: "override-by", size: 10, value: actor(), autocomplete: "username" });
  const result = h("div", { "aria-live": "assertive" });
  const form = h("form", { class: "inline", "aria-labelledby": "new-override-h" },
    field("Schedule", schedule), field("On call", user), field("Replaces", replaces),
    field("From", start, "your time"), field("To", end), field("By", by),
    h("button", { type: "submit" }, "Create override"), result);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const from = new Date(start.value), until = new Date(end.value);
      if (Number.isNaN(from.getTime()) || Number.isNaN(until.getTime())) throw new Error("override: give both a start and an end");
      if (until <= from) throw new Error("override: the end must be after the start");
      const payload = { user: user.value, start: from.toISOString(), end: until.toISOString() };
      if (replaces.value) payload.replaces = replaces.value;
      if (by.value.trim()) { payload.by = by.value.trim(); rememberActor(payload.by); }
      await send("POST", `/api/tocsin/v1/oncall/schedules/${encodeURIComponent(schedule.value)}/overrides`, payload);
      announce("Override created");
      await refresh();
    } catch (err) { replace(result, errorBox(err)); }
  });
  return h("div", {}, h("h3", { id: "new-override-h" }, "New override"), form);
}

// ---- inbox ----

function inboxSection(main, user, users, params) {
  const select = h("select", { id: "inbox-user" },
    h("option", { value: "" }, "choose a person"),
    users.map((u) => h("option", { value: u.id, selected: u.id === user }, u.name && u.name !== u.id ? `${u.name} (${u.id})` : u.id)));
  const form = h("form", { class: "inline", "aria-label": "Show an inbox" },
    field("Person", select), h("button", { type: "submit" }, "Show inbox"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams(params);
    if (select.value) next.set("user", select.value); else next.delete("user");
    location.hash = `#/oncall?${next}`;
  });
  return h("section", { "aria-labelledby": "inbox-h" },
    h("h2", { id: "inbox-h" }, "Inbox"), form, h("div", { id: "inbox", "aria-live": "polite" }));
}

const ESCALATION_STATES = {
  active: "paging, not acknowledged",
  acked: "acknowledged",
  exhausted: "exhausted: nobody answered",
  resolved: "resolved",
};

async function loadInbox(user) {
  const out = document.getElementById("inbox");
  if (!out) return;
  const base = `/api/tocsin/v1/oncall/users/${encodeURIComponent(user)}/inbox`;
  let items;
  try {
    items = (await get(`${base}?limit=100`)).items || [];
  } catch (err) {
    replace(out, errorBox(err));
    return;
  }
  if (items.length === 0) { replace(out, h("p", { class: "muted" }, `${user} has no pages.`)); return; }
  const result = h("div", { "aria-live": "assertive" });
  replace(out, result, table(`Pages to ${user}, newest first`, ["Received", "Page", "Escalation", "State", ""],
    items.map((it) => [
      fmtTime(it.created_at),
      h("div", {}, h("strong", {}, it.title || ""), it.body ? h("div", { class: "muted pre" }, it.body) : null),
      it.escalation_key || "–",
      it.acked_at ? `acknowledged ${fmtTime(it.acked_at)}` : (ESCALATION_STATES[it.escalation_state] || it.escalation_state || "unknown"),
      it.acked_at || it.escalation_state === "resolved" || it.escalation_state === "acked" ? ""
        : h("button", { type: "button", "aria-label": `Acknowledge ${it.title || "page"}`, onclick: async () => {
          try {
            await send("POST", `${base}/${encodeURIComponent(it.id)}/ack`, {});
            announce("Page acknowledged");
            await loadInbox(user);
          } catch (err) { replace(result, errorBox(err)); }
        } }, "Acknowledge"),
    ])));
}
