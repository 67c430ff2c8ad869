// Fetching from tocsin's APIs. Errors carry what was asked and what the server said, in the
// server's own words (Prometheus's `errorType: error`, tocsin's `error`, or the body text).

export class ApiError extends Error {}

async function handle(method, url, response) {
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!response.ok || (body && body.status === "error")) {
    let detail = text.trim() || response.statusText;
    if (body && body.status === "error") detail = `${body.errorType || "error"}: ${body.error}`;
    else if (body && typeof body.error === "string") detail = body.error;
    throw new ApiError(`${method} ${url} answered ${response.status}: ${detail}`);
  }
  return body;
}

export async function get(url) {
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  } catch (err) {
    throw new ApiError(`GET ${url} failed: ${err.message}; is the server running?`);
  }
  return handle("GET", url, response);
}

export async function send(method, url, payload) {
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
  } catch (err) {
    throw new ApiError(`${method} ${url} failed: ${err.message}; is the server running?`);
  }
  return handle(method, url, response);
}

/** `/api/v1/query_range` over the last `seconds`, about 240 points. Returns the matrix. */
export async function queryRange(expr, seconds, endMs = Date.now()) {
  const end = endMs / 1000;
  const start = end - seconds;
  const step = Math.max(1, Math.round(seconds / 240));
  const params = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(step) });
  const body = await get(`/api/v1/query_range?${params}`);
  return body.data.result;
}

export async function query(expr) {
  const body = await get(`/api/v1/query?${new URLSearchParams({ query: expr })}`);
  return body.data;
}
