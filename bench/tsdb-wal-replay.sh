#!/usr/bin/env bash
# WAL replay time for SERIES series x 2h of 15s samples (default 1M x 480 = 480M samples):
# load them into a store (head + WAL + head chunk files, no block), then time the restart.
#   MODE=clean (default): close the store, reopen it in the same process.
#   MODE=crash: the loading process exits without closing the store (as after SIGKILL),
#               and a new process reopens it.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib-tsdb.sh
SERIES=${SERIES:-1000000}
SAMPLES=${SAMPLES:-480}
MODE=${MODE:-clean}
cargo build --quiet --release -p tocsin-tsdb --example tsdb_load
LOAD="$(target_dir)/release/examples/tsdb_load"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
case "$MODE" in
  clean) "$LOAD" load --kind gauge --series "$SERIES" --samples "$SAMPLES" --dir "$WORK/tsdb" ;;
  crash)
    "$LOAD" load --kind gauge --series "$SERIES" --samples "$SAMPLES" --dir "$WORK/tsdb" --crash
    "$LOAD" reopen --dir "$WORK/tsdb" ;;
  *) echo "MODE must be clean or crash" >&2; exit 2 ;;
esac
