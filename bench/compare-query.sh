#!/usr/bin/env bash
# PromQL latency: tocsin vs Prometheus 2.42 on the same data, in the same run.
#
# bench/gen-query-data.py writes ~105k series (counters with job/instance/code/method/path,
# classic histograms, gauges; HOURS of samples every SCRAPE seconds) as OpenMetrics; the
# file goes into Prometheus with `promtool tsdb create-blocks-from openmetrics` and into
# tocsin with `tocsin import openmetrics`. Both servers then serve their data directory on a
# loopback port and bench/query-runner.py times a corpus of instant and range queries
# against both HTTP APIs (REPS repetitions each, alternating), printing per query both
# medians and their ratio, the median ratio and the queries where tocsin is slower, and
# checking both answer with the same number of series.
#
#   SCALE=1 HOURS=3 SCRAPE=30 REPS=3 bench/compare-query.sh [QUERY_SUBSTRING]
#
# The loaded data directories are kept under CACHE (default /tmp/tocsin-qbench) keyed by
# the parameters, so a second run skips generation and loading (FRESH=1 rebuilds them).
# TOCSIN_BIN skips the release build. Only loopback traffic; both servers are stopped on
# exit.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=${SCALE:-1}
HOURS=${HOURS:-3}
SCRAPE=${SCRAPE:-30}
REPS=${REPS:-3}
FILTER=${1:-}
# 2023-11-15T00:00:00Z, on a 6h boundary, so blocks line up the same way in both.
T0=1700006400
T_END=$(python3 -c "print(int($T0 + $HOURS * 3600))")
CACHE=${CACHE:-/tmp/tocsin-qbench}
DATA="$CACHE/scale$SCALE-${HOURS}h-${SCRAPE}s"

need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
if ((${#need[@]})); then
  echo "installing prometheus" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
for tool in curl python3 timeout; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done

if [[ -z "${TOCSIN_BIN:-}" ]]; then
  cargo build --release --quiet -p tocsin
  TOCSIN_BIN="${CARGO_TARGET_DIR:-target}/release/tocsin"
fi

PIDS=()
WORK=$(mktemp -d)
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_ready() { # url, pid: at most 5 minutes (Prometheus and tocsin open their blocks first)
  for _ in $(seq 1 3000); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "server for $1 exited" >&2; return 1; }
    sleep 0.1
  done
  echo "server did not become ready at $1" >&2
  return 1
}

if [[ -n "${FRESH:-}" ]]; then rm -rf "$DATA"; fi
if [[ ! -f "$DATA/loaded" ]]; then
  rm -rf "$DATA"
  mkdir -p "$DATA"
  echo "=== generating data (scale $SCALE, ${HOURS}h every ${SCRAPE}s)" >&2
  SECONDS=0
  python3 bench/gen-query-data.py "$DATA/data.om" "$T0" "$HOURS" "$SCRAPE" "$SCALE"
  echo "    $(du -h "$DATA/data.om" | cut -f1) in ${SECONDS}s" >&2
  # Both loaders are mostly single-threaded: run them side by side.
  echo "=== promtool tsdb create-blocks-from openmetrics, tocsin import openmetrics" >&2
  SECONDS=0
  timeout 1800 promtool tsdb create-blocks-from openmetrics "$DATA/data.om" "$DATA/prometheus" >"$DATA/promtool.log" 2>&1 &
  PIDS+=($!)
  timeout 1800 "$TOCSIN_BIN" import openmetrics "$DATA/data.om" --data-dir "$DATA/tocsin" >"$DATA/import.log" 2>&1 &
  PIDS+=($!)
  wait "${PIDS[0]}" || { tail -20 "$DATA/promtool.log" >&2; exit 1; }
  wait "${PIDS[1]}" || { tail -20 "$DATA/import.log" >&2; exit 1; }
  PIDS=()
  echo "    ${SECONDS}s" >&2
  rm -f "$DATA/data.om"
  touch "$DATA/loaded"
fi

cat >"$WORK/prometheus.yml" <<'EOF'
global:
  scrape_interval: 1m
EOF
cat >"$WORK/tocsin.yml" <<'EOF'
storage:
  tsdb:
    retention_time: 100y
EOF

prom_port=$(free_port)
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$DATA/prometheus" \
  --storage.tsdb.retention.time=100000d --web.listen-address="127.0.0.1:$prom_port" \
  >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
wait_ready "http://127.0.0.1:$prom_port/-/ready" "${PIDS[-1]}"

tocsin_port=$(free_port)
"$TOCSIN_BIN" server --listen "127.0.0.1:$tocsin_port" --data-dir "$DATA/tocsin" --config "$WORK/tocsin.yml" \
  >"$WORK/tocsin.log" 2>&1 &
PIDS+=($!)
wait_ready "http://127.0.0.1:$tocsin_port/-/ready" "${PIDS[-1]}"

echo "=== timing (prometheus pid ${PIDS[0]}, tocsin pid ${PIDS[1]})" >&2
timeout 900 python3 bench/query-runner.py "http://127.0.0.1:$prom_port" "http://127.0.0.1:$tocsin_port" \
  "$T0" "$T_END" "$REPS" "$FILTER"
