#!/usr/bin/env bash
# remote_write ingestion: tocsin vs Prometheus 2.42 (--web.enable-remote-write-receiver) vs
# VictoriaMetrics 1.79, one after another on this machine, with the same load from
# `tocsin bench remote-write` (node_exporter-like series, steady phase after a first round
# that creates every series). Prints accepted samples/s, RSS per active series and disk
# bytes per sample for each, and each peer's ratio to tocsin; and the CPU the server and
# the generator used over the steady phase (cores busy on average), with the load average,
# since both share this machine with whatever else runs on it.
#
#   SERIES=1000000 DURATION=60s CONCURRENCY=8 bench/compare-ingest.sh
#
# Only loopback traffic; every server gets a fresh data directory under a temporary
# directory that is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-1000000}
DURATION=${DURATION:-60s}
CONCURRENCY=${CONCURRENCY:-8}
BATCH=${BATCH:-2000}

need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v victoria-metrics >/dev/null || need+=(victoria-metrics)
if ((${#need[@]})); then
  echo "installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done

if [[ -z "${TOCSIN_BIN:-}" ]]; then
  cargo build --release --quiet -p tocsin
  TOCSIN_BIN="${CARGO_TARGET_DIR:-target}/release/tocsin"
fi

WORK=$(mktemp -d)
PID=""
cleanup() {
  if [[ -n "$PID" ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_ready() { # url
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server did not become ready at $1" >&2
  return 1
}

rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

declare -A RATE RSS DISK SERVER_CORES GEN_CORES
run() { # name, data dir, ready url, write url, command...
  local name=$1 dir=$2 ready=$3 url=$4
  shift 4
  echo "=== $name" >&2
  "$@" >"$WORK/$name.log" 2>&1 &
  PID=$!
  wait_ready "$ready"
  local json
  json=$("$TOCSIN_BIN" bench remote-write --url "$url" --series "$SERIES" --duration "$DURATION" \
    --concurrency "$CONCURRENCY" --batch "$BATCH" --server-pid "$PID" --format json)
  echo "$json" >&2
  local rss
  rss=$(rss_bytes "$PID")
  kill -TERM "$PID"
  wait "$PID" 2>/dev/null || true
  PID=""
  local disk
  disk=$(du -sb "$dir" | cut -f1)
  RATE[$name]=$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["samples_per_second"]))' "$json")
  local total
  total=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["accepted_samples_total"])' "$json")
  SERVER_CORES[$name]=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["server_cores"])' "$json")
  GEN_CORES[$name]=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["generator_cores"])' "$json")
  RSS[$name]=$(python3 -c "print(round($rss / $SERIES, 1))")
  DISK[$name]=$(python3 -c "print(round($disk / max($total, 1), 3))")
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
port=$(free_port)
mkdir -p "$WORK/tocsin"
: >"$WORK/tocsin.yml"
run tocsin "$WORK/tocsin" "http://127.0.0.1:$port/-/ready" "http://127.0.0.1:$port/api/v1/write" \
  "$TOCSIN_BIN" server --listen "127.0.0.1:$port" --data-dir "$WORK/tocsin" --config "$WORK/tocsin.yml"

port=$(free_port)
echo "global: {}" >"$WORK/prometheus.yml"
run prometheus "$WORK/prometheus-data" "http://127.0.0.1:$port/-/ready" "http://127.0.0.1:$port/api/v1/write" \
  prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prometheus-data" \
  --web.listen-address="127.0.0.1:$port" --web.enable-remote-write-receiver

port=$(free_port)
run victoriametrics "$WORK/vm-data" "http://127.0.0.1:$port/health" "http://127.0.0.1:$port/api/v1/write" \
  victoria-metrics -storageDataPath="$WORK/vm-data" -httpListenAddr="127.0.0.1:$port" -retentionPeriod=100y

printf '\n%-16s %14s %14s %16s %12s %13s %10s\n' server "samples/s" "RSS B/series" "disk B/sample" "tocsin÷it" "server cores" "gen cores"
for name in tocsin prometheus victoriametrics; do
  ratio=$(python3 -c "print(f'{${RATE[tocsin]} / max(${RATE[$name]}, 1):.2f}x')")
  printf '%-16s %14s %14s %16s %12s %13s %10s\n' "$name" "${RATE[$name]}" "${RSS[$name]}" "${DISK[$name]}" "$ratio" \
    "${SERVER_CORES[$name]}" "${GEN_CORES[$name]}"
done
echo "(series $SERIES, concurrency $CONCURRENCY, batch $BATCH, steady phase $DURATION; generator on the same machine, $(nproc) cores)"
echo "load average at the start: $LOAD_BEFORE; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
