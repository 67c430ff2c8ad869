// A small SVG line chart for Prometheus matrices: one path per series, time on x, value on y,
// min/max labels on the axes, a legend, and a text summary for screen readers.
import { h, s, fmtNumber, fmtTime } from "./dom.js";

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const W = 960, H = 280, PAD_L = 64, PAD_R = 12, PAD_T = 12, PAD_B = 28;

/** Converts a Prometheus matrix (`[{metric, values: [[t, "v"], ...]}]`) to chart series. */
export function fromMatrix(matrix, nameOf = seriesName) {
  return matrix.map((m) => ({
    name: nameOf(m.metric),
    points: m.values.map(([t, v]) => [t * 1000, Number(v)]).filter(([, v]) => Number.isFinite(v)),
  }));
}

export function seriesName(metric) {
  const { __name__: name, ...rest } = metric || {};
  const labels = Object.keys(rest).sort().map((k) => `${k}="${rest[k]}"`).join(", ");
  return `${name || ""}{${labels}}`;
}

/** Renders the chart, or a note when there are no points. `title` labels the figure. */
export function lineChart(series, { title, unit = "", threshold = null } = {}) {
  const all = series.flatMap((x) => x.points);
  if (all.length === 0) {
    return h("p", { class: "muted" }, `${title}: no data in this range.`);
  }
  let minT = Infinity, maxT = -Infinity, minV = Infinity, maxV = -Infinity;
  for (const [t, v] of all) {
    if (t < minT) minT = t;
    if (t > maxT) maxT = t;
    if (v < minV) minV = v;
    if (v > maxV) maxV = v;
  }
  if (threshold !== null) { minV = Math.min(minV, threshold); maxV = Math.max(maxV, threshold); }
  if (minV > 0 && minV < maxV / 2) minV = 0;
  if (minV === maxV) { minV -= 1; maxV += 1; }
  if (minT === maxT) { minT -= 1000; maxT += 1000; }
  const x = (t) => PAD_L + ((t - minT) / (maxT - minT)) * (W - PAD_L - PAD_R);
  const y = (v) => PAD_T + (1 - (v - minV) / (maxV - minV)) * (H - PAD_T - PAD_B);

  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  svg.append(s("title", {}, title));
  svg.append(s("line", { class: "axis", x1: PAD_L, y1: PAD_T, x2: PAD_L, y2: H - PAD_B }));
  svg.append(s("line", { class: "axis", x1: PAD_L, y1: H - PAD_B, x2: W - PAD_R, y2: H - PAD_B }));
  svg.append(s("text", { x: PAD_L - 6, y: PAD_T + 10, "text-anchor": "end" }, fmtNumber(maxV) + unit));
  svg.append(s("text", { x: PAD_L - 6, y: H - PAD_B, "text-anchor": "end" }, fmtNumber(minV) + unit));
  svg.append(s("text", { x: PAD_L, y: H - 8 }, fmtTime(minT)));
  svg.append(s("text", { x: W - PAD_R, y: H - 8, "text-anchor": "end" }, fmtTime(maxT)));
  if (threshold !== null) {
    svg.append(s("line", { class: "axis", "stroke-dasharray": "4 4", x1: PAD_L, x2: W - PAD_R, y1: y(threshold), y2: y(threshold) }));
  }
  series.forEach((ser, i) => {
    if (ser.points.length === 0) return;
    // A gap of more than 3 median steps breaks the line, as Prometheus' graph does for
    // missing samples, instead of drawing a misleading straight segment across it.
    const steps = ser.points.slice(1).map(([t], j) => t - ser.points[j][0]).sort((a, b) => a - b);
    const gap = steps.length ? steps[Math.floor(steps.length / 2)] * 3 : Infinity;
    let d = "";
    ser.points.forEach(([t, v], j) => {
      const move = j === 0 || t - ser.points[j - 1][0] > gap;
      d += `${move ? "M" : "L"}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
    });
    svg.append(s("path", { class: "line", d, stroke: COLORS[i % COLORS.length], "data-series": ser.name },
      s("title", {}, ser.name)));
  });

  const last = series.map((ser) => ser.points.length ? ser.points[ser.points.length - 1][1] : null);
  return h("figure", { class: "chart-figure" },
    svg,
    h("figcaption", {},
      h("ul", { class: "legend", "aria-label": `${title} series` }, series.map((ser, i) =>
        h("li", {}, swatch(COLORS[i % COLORS.length]), `${ser.name}: last ${fmtNumber(last[i])}${unit}`)))));
}

// Set through the CSSOM: the CSP forbids inline style attributes, not style properties.
function swatch(color) {
  const el = h("span", { class: "swatch", "aria-hidden": "true" });
  el.style.background = color;
  return el;
}

