// DOM building. Everything user-supplied (alert labels and annotations are attacker-controlled)
// goes in as text nodes or attribute values, never parsed as markup.

/** Creates an element. attrs: attributes, `class`, and `on<event>` handlers. Children may be
 * nodes, strings (inserted as text), numbers, arrays, or null/false (skipped). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Like h() for SVG elements. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.setAttribute("class", value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the contents of el. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** Label set as a row of `name="value"` chips. */
export function labelChips(labels) {
  const names = Object.keys(labels || {}).sort();
  if (names.length === 0) return h("span", { class: "label" }, "{}");
  return h("span", { class: "labels" },
    names.map((n) => h("span", { class: "label" }, `${n}="${labels[n]}"`)));
}

/** A labelled table: caption for screen readers, header row, body rows (arrays of cells). */
export function table(caption, headers, rows) {
  return h("table", {},
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, headers.map((x) =>
      typeof x === "string" ? h("th", { scope: "col" }, x) : h("th", { scope: "col", class: x.class }, x.text)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) =>
      c instanceof Node && c.nodeName === "TD" ? c : h("td", {}, c))))));
}

/** An error box: what failed, with the server's message as it reported it. */
export function errorBox(err) {
  return h("div", { class: "error", role: "alert" }, String(err && err.message ? err.message : err));
}

/** Announces a short message to assistive technology. */
export function announce(text) {
  const el = document.getElementById("status");
  if (el) el.textContent = text;
}

export function fmtPercent(ratio, digits = 1) {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return "no data";
  return `${(ratio * 100).toFixed(digits)}%`;
}

export function fmtNumber(v, digits = 3) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(2);
  return String(Number(v.toFixed(digits)));
}

export function fmtTime(value) {
  if (!value) return "–";
  const d = typeof value === "number" ? new Date(value) : new Date(String(value));
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** Seconds as `3d 4h`, `2h 5m`, `2m 0s` or `12s` (the CLI's style); "–" when unknown. */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const neg = seconds < 0 ? "-" : "";
  let rest = Math.round(Math.abs(seconds));
  const d = Math.floor(rest / 86400); rest -= d * 86400;
  const hr = Math.floor(rest / 3600); rest -= hr * 3600;
  const m = Math.floor(rest / 60); const sec = rest - m * 60;
  if (d) return `${neg}${d}d ${hr}h`;
  if (hr) return `${neg}${hr}h ${m}m`;
  if (m) return `${neg}${m}m ${sec}s`;
  return `${neg}${sec}s`;
}

/** A link target only if it is http(s): runbook URLs and page links come from users, and a
 * `javascript:` URL in an href would run on click. Returns null for anything else. */
export function safeHref(url) {
  if (typeof url !== "string" || !url) return null;
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** A link when the URL is safe, else the URL as plain text. */
export function linkOrText(url, text = url) {
  const href = safeHref(url);
  return href ? h("a", { href, rel: "noopener noreferrer" }, text) : h("span", { class: "mono" }, text || "");
}

// Who is acting: remembered per browser so every form does not ask again.
const ACTOR_KEY = "tocsin.actor";

export function actor() {
  try { return localStorage.getItem(ACTOR_KEY) || ""; } catch { return ""; }
}

export function rememberActor(name) {
  try { if (name) localStorage.setItem(ACTOR_KEY, name); } catch { /* storage disabled: not remembered */ }
}

/** A labelled input (label wraps the field, so it is always associated). */
export function field(label, input, hint) {
  return h("label", {}, label, hint ? h("span", { class: "hint" }, hint) : null, input);
}
