#!/usr/bin/env python3
"""Deterministic OpenMetrics data for bench/compare-query.sh: the same file is loaded into
Prometheus (`promtool tsdb create-blocks-from openmetrics`) and tocsin (`tocsin import
openmetrics`).

Usage: gen-query-data.py OUT.om T0_SECONDS HOURS SCRAPE_SECONDS [SCALE]

About 105k series at SCALE=1 (instances scale with SCALE):
  http_requests_total{job,instance,code,method,path}        counters, 40k
  http_request_duration_seconds_{bucket,sum,count}{job,instance,path[,le]}
                                                             classic histograms, 24k
  node_cpu_seconds_total{instance,cpu,mode}                  counters, 12.8k
  node_hwmon_temp_celsius{instance,chip,sensor}              gauges, 6.4k
  node_filesystem_avail_bytes{instance,device}               gauges, 2k
  queue_depth{job,instance,queue}                            gauges, 20k
  process_resident_memory_bytes{job,instance}                gauges
Counters start well above zero and some reset now and then; a few series have gaps.
"""
import sys

out_path, t0, hours, scrape = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
scale = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
steps = int(hours * 3600 / scrape) + 1
times = [str(t0 + i * scrape) for i in range(steps)]

JOBS = ["api", "web", "auth", "cart"]
APP_INSTANCES = max(1, int(50 * scale))
NODES = max(1, int(200 * scale))
CODES = ["200", "201", "404", "500", "503"]
METHODS = ["GET", "POST", "PUT", "DELETE"]
PATHS = [f"/api/v1/{p}" for p in ["users", "orders", "items", "cart", "login", "search",
                                  "health", "metrics", "profile", "settings"]]
BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]
MODES = ["user", "system", "idle", "iowait", "irq", "softirq", "steal", "nice"]


class Rng:
    """xorshift64: the same numbers on every run and machine."""

    def __init__(self, seed):
        self.s = seed

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFFFFFFFFFF
        s ^= s >> 7
        s ^= (s << 17) & 0xFFFFFFFFFFFFFFFF
        self.s = s
        return (s >> 11) / 9007199254740992.0


rng = Rng(0x9E3779B97F4A7C15)
out = open(out_path, "w", buffering=1 << 22)
write = out.write


def counter(prefix, base, rate, gap=False):
    """One counter series: `prefix` is `name{labels}`."""
    v = base
    reset_at = int(rng.next() * steps * 20)  # within the range for about 1 in 20 series
    lines = []
    for i, t in enumerate(times):
        v += int(rate * (0.5 + rng.next()))
        if i == reset_at:
            v = int(base / 10)
        if gap and 100 <= i < 110:
            continue
        lines.append(f"{prefix} {v} {t}\n")
    write("".join(lines))


def gauge(prefix, centre, spread, decimals=2):
    g = centre
    lines = []
    for t in times:
        g += (rng.next() - 0.5) * spread
        lines.append(f"{prefix} {round(g, decimals)} {t}\n")
    write("".join(lines))


write("# TYPE http_requests_total counter\n")
for job in JOBS:
    for inst in range(APP_INSTANCES):
        instance = f"{job}-{inst:03d}:8080"
        for code in CODES:
            for method in METHODS:
                for path in PATHS:
                    rate = 50 if code == "200" else 5
                    counter(
                        f'http_requests_total{{job="{job}",instance="{instance}",code="{code}",'
                        f'method="{method}",path="{path}"}}',
                        10000 + int(rng.next() * 10000), rate, gap=(inst == 7 and code == "503"))

write("# TYPE http_request_duration_seconds histogram\n")
bounds = [float(b) for b in BUCKETS[:-1]] + [float("inf")]
for job in JOBS:
    for inst in range(APP_INSTANCES):
        instance = f"{job}-{inst:03d}:8080"
        for path in PATHS:
            labels = f'job="{job}",instance="{instance}",path="{path}"'
            base = 1000 + int(rng.next() * 100)
            counts = [base] * len(bounds)
            total = float(base)
            rows = [[] for _ in range(len(bounds) + 2)]
            # Cumulative share of observations per bucket (increasing, ending at 1).
            shares = sorted(rng.next() for _ in bounds[:-1]) + [1.0]
            mean = 0.05 + rng.next() * 0.5
            for t in times:
                n = int(rng.next() * 20)
                for k, share in enumerate(shares):
                    counts[k] += int(n * share)
                total += n * mean
                for k in range(len(bounds)):
                    rows[k].append(f'http_request_duration_seconds_bucket{{{labels},le="{BUCKETS[k]}"}} {counts[k]} {t}\n')
                rows[-2].append(f"http_request_duration_seconds_sum{{{labels}}} {round(total, 3)} {t}\n")
                rows[-1].append(f"http_request_duration_seconds_count{{{labels}}} {counts[-1]} {t}\n")
            for r in rows:
                write("".join(r))

write("# TYPE node_cpu_seconds_total counter\n")
for n in range(NODES):
    for cpu in range(8):
        for mode in MODES:
            counter(f'node_cpu_seconds_total{{instance="node-{n:04d}:9100",job="node",cpu="{cpu}",mode="{mode}"}}',
                    100000 + int(rng.next() * 100000), 30 if mode == "idle" else 3)

write("# TYPE node_hwmon_temp_celsius gauge\n")
for n in range(NODES):
    for chip in range(4):
        for sensor in range(8):
            gauge(f'node_hwmon_temp_celsius{{instance="node-{n:04d}:9100",job="node",chip="chip{chip}",sensor="temp{sensor}"}}',
                  40 + rng.next() * 30, 2.0)

write("# TYPE node_filesystem_avail_bytes gauge\n")
for n in range(NODES):
    for dev in range(10):
        gauge(f'node_filesystem_avail_bytes{{instance="node-{n:04d}:9100",job="node",device="sd{chr(97 + dev)}"}}',
              1e11 + rng.next() * 1e11, 1e8, 0)

write("# TYPE queue_depth gauge\n")
for job in JOBS:
    for inst in range(APP_INSTANCES):
        for q in range(100):
            gauge(f'queue_depth{{job="{job}",instance="{job}-{inst:03d}:8080",queue="q{q:03d}"}}',
                  rng.next() * 100, 10.0, 0)

write("# TYPE process_resident_memory_bytes gauge\n")
for job in JOBS:
    for inst in range(APP_INSTANCES):
        gauge(f'process_resident_memory_bytes{{job="{job}",instance="{job}-{inst:03d}:8080"}}',
              2e8 + rng.next() * 1e8, 1e6, 0)

write("# EOF\n")
out.close()
