#!/usr/bin/env bash
# Memory per active series and disk bytes per sample: tocsin's store against
# VictoriaMetrics, on identical data (SERIES series x 480 samples = 2h at 15s), for three
# kinds of data: noisy 2-decimal gauges, recorded node_exporter output, random floats.
# tocsin: crates/tsdb/examples/tsdb_load.rs appends in time order (head with WAL), reports
# RSS growth, then persists the 2h as a block and reports its bytes/sample.
# VictoriaMetrics: the same samples as text lines with timestamps to /api/v1/import/prometheus,
# then /internal/force_flush and force_merge; RSS growth and the data directory's size.
#
#   bench/tsdb-vs-victoriametrics.sh            # SERIES=100000
#   SERIES=1000000 KINDS=gauge bench/tsdb-vs-victoriametrics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib-tsdb.sh
SERIES=${SERIES:-100000}
SAMPLES=${SAMPLES:-480}
KINDS=${KINDS:-"gauge node random"}
ensure_tools victoria-metrics:victoria-metrics prometheus-node-exporter:prometheus-node-exporter
cargo build --quiet --release -p tocsin-tsdb --example tsdb_load
LOAD="$(target_dir)/release/examples/tsdb_load"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [[ " $KINDS " == *" node "* ]]; then
  record_node_exporter "$SAMPLES" "$WORK/node.txt"
fi
for kind in $KINDS; do
  echo "=== $kind: $SERIES series x $SAMPLES samples"
  echo "--- tocsin"
  "$LOAD" load --kind "$kind" --series "$SERIES" --samples "$SAMPLES" --dir "$WORK/tocsin" --compact --node-file "$WORK/node.txt" | tee "$WORK/t.txt"
  rm -rf "$WORK/tocsin"
  echo "--- victoria-metrics"
  port=$(free_port)
  victoria-metrics -storageDataPath="$WORK/vm" -httpListenAddr="127.0.0.1:$port" -retentionPeriod=100y \
    -loggerLevel=ERROR >/dev/null 2>&1 &
  vm=$!
  wait_http "http://127.0.0.1:$port/health"
  before=$(rss_of "$vm")
  start=$(date +%s.%N)
  "$LOAD" emit --kind "$kind" --series "$SERIES" --samples "$SAMPLES" --node-file "$WORK/node.txt" \
    | curl -fsS -X POST -T - "http://127.0.0.1:$port/api/v1/import/prometheus"
  curl -fsS "http://127.0.0.1:$port/internal/force_flush" >/dev/null
  end=$(date +%s.%N)
  sleep 5
  after=$(rss_of "$vm")
  rows=$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '/^vm_rows\{type="storage\/(big|small)"\}/ {s+=$2} END {print s}')
  curl -fsS "http://127.0.0.1:$port/internal/force_merge" >/dev/null || true
  sleep 10
  bytes=$(du -sb "$WORK/vm/data" | cut -f1)
  total=$((SERIES * SAMPLES))
  python3 -c "print(f'ingest: {$end-$start:.1f}s, {$total/($end-$start):,.0f} samples/s'); print(f'rss: {$before} bytes before, {$after} after; {($after-$before)/$SERIES:.0f} bytes/series'); print(f'disk: {$bytes} bytes in data/, rows {$rows}, {$bytes/$total:.3f} bytes/sample')"
  kill "$vm"; wait "$vm" 2>/dev/null || true
  rm -rf "$WORK/vm"
done
