#!/usr/bin/env bash
# Head append throughput: `tocsin bench tsdb` against `promtool tsdb bench write`, on this
# machine, in the same run, alternating, with the same label file (node_exporter's real
# series replicated over instances). Prints each run and the best of each with the ratio.
#
#   bench/tsdb-vs-promtool.sh                 # 10k series x 3000 scrapes (promtool's default)
#   SERIES=1000000 SCRAPES=200 bench/tsdb-vs-promtool.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib-tsdb.sh
SERIES=${SERIES:-10000}
SCRAPES=${SCRAPES:-3000}
ROUNDS=${ROUNDS:-2}
ensure_tools promtool:prometheus prometheus-node-exporter:prometheus-node-exporter
cargo build --quiet --release -p tocsin
BIN="$(target_dir)/release/tocsin"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
record_node_exporter 2 "$WORK/node.txt"
python3 bench/gen-series.py "$SERIES" "$WORK/node.txt" > "$WORK/series.json"
echo "series file: $(wc -l < "$WORK/series.json") label sets from $(grep -c . "$WORK/node.txt") node_exporter lines"
best_p=0; best_t=0
for r in $(seq "$ROUNDS"); do
  echo "=== round $r: promtool tsdb bench write --metrics=$SERIES --scrapes=$SCRAPES"
  (cd "$WORK" && promtool tsdb bench write --metrics="$SERIES" --scrapes="$SCRAPES" --out="$WORK/prom" "$WORK/series.json") | tee "$WORK/p.txt"
  echo "=== round $r: tocsin bench tsdb --series $SERIES --scrapes $SCRAPES"
  "$BIN" bench tsdb --series "$SERIES" --scrapes "$SCRAPES" --out "$WORK/tocsin" "$WORK/series.json" | tee "$WORK/t.txt"
  p=$(awk '/samples\/sec/ {print $3}' "$WORK/p.txt"); t=$(awk '/samples\/sec/ {print $3}' "$WORK/t.txt")
  best_p=$(python3 -c "print(max($best_p, float('$p')))"); best_t=$(python3 -c "print(max($best_t, float('$t')))")
  rm -rf "$WORK/prom" "$WORK/tocsin"
done
python3 -c "print(f'best samples/s: promtool {$best_p:,.0f}  tocsin {$best_t:,.0f}  ratio tocsin/promtool {$best_t/$best_p:.2f}')"
