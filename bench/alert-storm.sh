#!/usr/bin/env bash
# Alert storm: tocsin vs Alertmanager 0.25, same run, same alerts.
#
# Starts both on loopback with the same routing (group_by [alertname], group_wait 1s,
# ALERTS alerts spread over NGROUPS alertnames, webhook to a recorder in
# bench/alert-storm.py), posts ALERTS alerts at once to each /api/v2/alerts (CONCURRENCY
# parallel POSTs), checks every alert is held and notified exactly once in one
# notification per group, and prints intake alerts/s and time to first notification
# (group_wait included) for both.
#
#   ALERTS=10000 NGROUPS=100 CONCURRENCY=8 bench/alert-storm.sh
#
# TOCSIN_BIN skips the release build. Both servers are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ALERTS=${ALERTS:-10000}
NGROUPS=${NGROUPS:-100}
CONCURRENCY=${CONCURRENCY:-8}

if ! command -v prometheus-alertmanager >/dev/null; then
  echo "installing prometheus-alertmanager" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
fi
for tool in curl python3; do
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

wait_ready() { # url, pid: at most 60s
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "server for $1 exited" >&2; return 1; }
    sleep 0.1
  done
  echo "server did not become ready at $1" >&2
  return 1
}

recorder_port=$(free_port)
am_config() { # receiver path
  cat <<YAML
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1m
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{url: "http://127.0.0.1:$recorder_port/$1", send_resolved: false}]
YAML
}

mkdir -p "$WORK/tocsin" "$WORK/am"
am_config tocsin >"$WORK/tocsin/alertmanager.yml"
printf 'alerting:\n  config_file: alertmanager.yml\n' >"$WORK/tocsin/tocsin.yml"
am_config alertmanager >"$WORK/am/alertmanager.yml"

tocsin_port=$(free_port)
(cd "$WORK/tocsin" && exec ${TOCSIN_WRAP:-} "$TOCSIN_BIN" server --listen "127.0.0.1:$tocsin_port" \
  --data-dir "$WORK/tocsin/data" --config tocsin.yml) >"$WORK/tocsin.log" 2>&1 &
PIDS+=($!)
wait_ready "http://127.0.0.1:$tocsin_port/-/ready" "${PIDS[-1]}"

am_port=$(free_port)
prometheus-alertmanager --config.file="$WORK/am/alertmanager.yml" --storage.path="$WORK/am/data" \
  --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$WORK/am.log" 2>&1 &
PIDS+=($!)
wait_ready "http://127.0.0.1:$am_port/-/ready" "${PIDS[-1]}"

echo "=== $ALERTS alerts in $NGROUPS groups, $CONCURRENCY parallel POSTs" >&2
python3 bench/alert-storm.py "$ALERTS" "$NGROUPS" "$CONCURRENCY" "$recorder_port" \
  "tocsin=http://127.0.0.1:$tocsin_port" "alertmanager=http://127.0.0.1:$am_port" || {
  tail -20 "$WORK/tocsin.log" >&2
  exit 1
}
