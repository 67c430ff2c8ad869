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
