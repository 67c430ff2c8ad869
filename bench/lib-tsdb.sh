# Shared helpers of the tsdb comparison scripts (sourced).

# A loopback port that is free now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Resident memory of a process, in bytes.
rss_of() { awk '/^VmRSS:/ {print $2*1024}' "/proc/$1/status"; }

# Waits (at most 30 s) until a URL answers.
wait_http() {
  for _ in $(seq 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2; return 1
}

# Records N scrapes of a fresh node_exporter into FILE (snapshots separated by "# SCRAPE").
record_node_exporter() {
  local n=$1 file=$2 port pid
  port=$(free_port)
  prometheus-node-exporter --web.listen-address="127.0.0.1:$port" >/dev/null 2>&1 &
  pid=$!
  wait_http "http://127.0.0.1:$port/metrics"
  : > "$file"
  for i in $(seq "$n"); do
    echo "# SCRAPE $i" >> "$file"
    curl -fsS "http://127.0.0.1:$port/metrics" >> "$file"
    sleep 0.05
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

ensure_tools() {
  local missing=()
  for pair in "$@"; do command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}"); done
  if ((${#missing[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

target_dir() { echo "${CARGO_TARGET_DIR:-$(pwd)/target}"; }
