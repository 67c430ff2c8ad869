#!/usr/bin/env python3
"""Times a corpus of PromQL queries against two Prometheus-compatible HTTP APIs (used by
bench/compare-query.sh).

Usage: query-runner.py PROM_URL TOCSIN_URL DATA_START DATA_END [REPS] [FILTER]

Every query runs as an instant query at the end of the data and as a range query over its
last hour (step 30s, unless the corpus gives another). Each is warmed up once on both
servers, then run REPS times, alternating which server goes first. Prints a table of
medians and their ratio, the median ratio, the queries where tocsin is slower, and any
query where the two answer a different number of series (a sanity check, not a
differential test: crates/promql/tests/it/differential.rs compares values).
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse

prom_url, tocsin_url = sys.argv[1], sys.argv[2]
data_start, data_end = int(sys.argv[3]), int(sys.argv[4])
reps = int(sys.argv[5]) if len(sys.argv) > 5 else 5
only = sys.argv[6] if len(sys.argv) > 6 else ""

# 7s off the scrape grid (as the differential test), so no sample sits on a window edge
# where 2.x (closed) and 3.x (left-open) ranges differ.
END = data_end - 593
RANGE_START, RANGE_END, STEP = END - 3600, END, 30

CORPUS = [
    # Selectors and matchers.
    'http_requests_total{job="api",instance="api-003:8080"}',
    'http_requests_total{path=~"/api/v1/(users|orders)",method!="GET",job="web"}',
    'count(http_requests_total)',
    'count(http_requests_total offset 30m)',
    '{__name__=~"node_.*",instance="node-0001:9100"}',
    'count(queue_depth{queue=~"q0[0-4].*"})',
    'count(http_requests_total{instance=~"api-00.*",code!~"2.."})',
    # Rates and aggregations.
    'sum(rate(http_requests_total[5m]))',
    'sum by (job, code) (rate(http_requests_total[5m]))',
    'sum by (path) (rate(http_requests_total{job="api"}[5m]))',
    'sum without (instance) (rate(http_requests_total[5m]))',
    'rate(http_requests_total{job="auth",instance="auth-001:8080"}[1m])',
    'sum(increase(http_requests_total[1h]))',
    'avg by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))',
    '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))',
    'topk(10, sum by (instance, path) (rate(http_request_duration_seconds_sum[5m])))',
    'bottomk(5, avg by (instance) (rate(node_cpu_seconds_total[5m])))',
    'topk by (job) (3, sum by (job, instance) (rate(http_requests_total[5m])))',
    'sort_desc(sum by (instance) (rate(http_requests_total{job="web"}[5m])))',
    'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
    'sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) / on(job) sum by (job) (rate(http_requests_total[5m])) > 0.01',
    'rate(http_requests_total{job="cart"}[5m]) / ignoring(code) group_left sum without (code) (rate(http_requests_total{job="cart"}[5m]))',
    'irate(node_cpu_seconds_total{cpu="0"}[2m])',
    # Histograms.
    'histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))',
    'histogram_quantile(0.9, rate(http_request_duration_seconds_bucket{job="web"}[5m]))',
    'sum by (job) (rate(http_request_duration_seconds_sum[5m])) / sum by (job) (rate(http_request_duration_seconds_count[5m]))',
    # Gauges.
    'max by (instance) (node_hwmon_temp_celsius)',
    'quantile(0.9, node_hwmon_temp_celsius)',
    'stddev by (job) (queue_depth)',
    'avg_over_time(queue_depth{job="api"}[10m])',
    'sum by (job) (queue_depth) > 1000',
    'count by (job) (queue_depth > 50)',
    'deriv(node_hwmon_temp_celsius{chip="chip0"}[10m])',
    'changes(node_hwmon_temp_celsius[15m])',
    'predict_linear(node_filesystem_avail_bytes[30m], 86400) < 1e11',
    'node_filesystem_avail_bytes < 1.5e11',
    'queue_depth{queue="q001"} * on(job, instance) group_left process_resident_memory_bytes / 1e6',
    'http_requests_total{job="api",code="500"} and on(instance) (process_resident_memory_bytes > 2.5e8)',
    'label_replace(process_resident_memory_bytes, "host", "$1", "instance", "(.*):.*")',
    'count_values("code", count by (code) (http_requests_total))',
    'absent(nonexistent_metric{job="x"})',
    # Subqueries.
    'max_over_time(rate(http_requests_total{job="auth"}[1m])[30m:1m])',
    'avg_over_time(sum by (job) (rate(http_requests_total[5m]))[15m:1m])',
]


class Server:
    def __init__(self, name, url):
        parsed = urllib.parse.urlsplit(url)
        self.name = name
        self.host, self.port = parsed.hostname, parsed.port
        self.conn = None

    def get(self, path):
        """Seconds taken, and the parsed answer (keep-alive, as Grafana's proxy would)."""
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                started = time.perf_counter()
                self.conn.request("GET", path)
                resp = self.conn.getresponse()
                body = resp.read()
                elapsed = time.perf_counter() - started
                return elapsed, json.loads(body)
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def series_count(answer):
    if answer.get("status") != "success":
        return "error: " + str(answer.get("error"))[:80]
    data = answer["data"]
    if data["resultType"] == "scalar":
        return 1
    return len(data["result"])


servers = [Server("prometheus", prom_url), Server("tocsin", tocsin_url)]
rows = []
mismatches = []
started = time.monotonic()
for query in CORPUS:
    if only and only not in query:
        continue
    q = urllib.parse.quote(query, safe="")
    for kind, path in [
        ("instant", f"/api/v1/query?query={q}&time={END}"),
        ("range", f"/api/v1/query_range?query={q}&start={RANGE_START}&end={RANGE_END}&step={STEP}"),
    ]:
        times = {s.name: [] for s in servers}
        counts = {}
        for s in servers:  # warm-up (page cache, mmap faults); also the sanity answer
            _, answer = s.get(path)
            counts[s.name] = series_count(answer)
        for rep in range(reps):
            order = servers if rep % 2 == 0 else servers[::-1]
            for s in order:
                elapsed, _ = s.get(path)
                times[s.name].append(elapsed * 1000)
        p = statistics.median(times["prometheus"])
        t = statistics.median(times["tocsin"])
        rows.append((kind, query, p, t, p / t if t > 0 else float("inf"), counts["tocsin"]))
        if counts["prometheus"] != counts["tocsin"]:
            mismatches.append((kind, query, counts["prometheus"], counts["tocsin"]))

print(f"{'kind':<8}{'prom ms':>10}{'tocsin ms':>11}{'ratio':>8}{'series':>8}  query")
for kind, query, p, t, ratio, n in rows:
    print(f"{kind:<8}{p:>10.2f}{t:>11.2f}{ratio:>7.2f}x{n!s:>8}  {query}")
ratios = [r[4] for r in rows]
print()
if ratios:
    print(f"median ratio (prometheus ms / tocsin ms, >1 means tocsin is faster): "
          f"{statistics.median(ratios):.2f}x over {len(rows)} queries, {reps} repetitions each")
    worst = min(rows, key=lambda r: r[4])
    print(f"worst: {worst[4]:.2f}x  {worst[0]} {worst[1]}")
slower = [r for r in rows if r[4] < 1.0]
print(f"queries where tocsin is slower: {len(slower)}")
for kind, query, p, t, ratio, _ in slower:
    print(f"  {ratio:.2f}x  {kind} {query} ({p:.2f} ms vs {t:.2f} ms)")
print(f"series-count mismatches: {len(mismatches)}")
for kind, query, a, b in mismatches:
    print(f"  {kind} {query}: prometheus {a}, tocsin {b}")
print(f"(timed in {time.monotonic() - started:.0f}s)")
sys.exit(1 if mismatches else 0)
