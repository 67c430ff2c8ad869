#!/usr/bin/env python3
"""Alert storm against running routers: posts ALERTS alerts at once (CONCURRENCY parallel
POSTs of equal batches) to each server's /api/v2/alerts, then checks every alert is held
(GET /api/v2/alerts) and notified exactly once, grouped as configured (GROUPS groups by
alertname), through a loopback webhook recorder. Prints intake alerts/s and the time from
the first POST to the first notification, for each server.

    alert-storm.py ALERTS GROUPS CONCURRENCY RECORDER_PORT NAME=URL [NAME=URL ...]

Each server's Alertmanager configuration must send to http://127.0.0.1:RECORDER_PORT/NAME.
Standard library only; every wait is bounded.
"""

import http.client
import http.server
import json
import sys
import threading
import time
import urllib.parse

ALERTS, GROUPS, CONCURRENCY, RECORDER_PORT = (int(a) for a in sys.argv[1:5])
SERVERS = [a.split("=", 1) for a in sys.argv[5:]]

received = {}  # path -> [(monotonic time, body)]
lock = threading.Lock()


class Recorder(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        at = time.monotonic()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock:
            received.setdefault(self.path.strip("/"), []).append((at, body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", RECORDER_PORT), Recorder)
threading.Thread(target=server.serve_forever, daemon=True).start()


def alerts_for(run):
    return [
        {
            "labels": {
                "alertname": f"Storm{i % GROUPS}",
                "instance": f"host-{i}",
                "run": run,
                "severity": "warning",
            },
            "annotations": {"summary": f"storm alert {i}"},
            "endsAt": "2100-01-01T00:00:00Z",
        }
        for i in range(ALERTS)
    ]


def post(url, body, errors):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    try:
        conn.request("POST", "/api/v2/alerts", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        text = response.read()
        if response.status != 200:
            errors.append(f"{response.status} {text[:200]!r}")
    except OSError as err:
        errors.append(str(err))
    finally:
        conn.close()


def get_json(url, path):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    try:
        conn.request("GET", path)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


failed = False
results = []
for name, url in SERVERS:
    alerts = alerts_for(name)
    per = (len(alerts) + CONCURRENCY - 1) // CONCURRENCY
    bodies = [json.dumps(alerts[i : i + per]).encode() for i in range(0, len(alerts), per)]
    errors = []
    threads = [threading.Thread(target=post, args=(url, b, errors)) for b in bodies]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    intake = time.monotonic() - start
    if errors:
        print(f"{name}: {len(errors)} POSTs failed: {errors[:3]}", file=sys.stderr)
        failed = True
    # Every alert accounted for and notified once, in GROUPS notifications.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with lock:
            got = list(received.get(name, []))
        if sum(len(b["alerts"]) for _, b in got) >= ALERTS:
            break
        time.sleep(0.1)
    time.sleep(1.0)  # anything late or duplicated shows up too
    with lock:
        got = list(received.get(name, []))
    notified = [
        (b["groupLabels"].get("alertname"), a["labels"]["instance"])
        for _, b in got
        for a in b["alerts"]
    ]
    held = get_json(url, "/api/v2/alerts?filter=" + urllib.parse.quote(f'run="{name}"'))
    problems = []
    if len(held) != ALERTS:
        problems.append(f"holds {len(held)} alerts, want {ALERTS}")
    if len(notified) != ALERTS or len(set(notified)) != ALERTS:
        problems.append(f"notified {len(notified)} alerts ({len(set(notified))} distinct), want {ALERTS}")
    if name == "tocsin":
        # tocsin also records every alert's state change (written after the burst).
        history = get_json(url, f"/api/tocsin/v1/alerts/history?kind=alert&limit={ALERTS * 2}")
        recorded = len(history.get("data", []))
        if recorded != ALERTS:
            problems.append(f"history holds {recorded} alert state changes, want {ALERTS}")
    if len(got) != GROUPS:
        problems.append(f"{len(got)} notifications, want one per group ({GROUPS})")
    if any(g != f"Storm{int(i.split('-')[1]) % GROUPS}" for g, i in notified):
        problems.append("an alert was notified in the wrong group")
    first = min((at for at, _ in got), default=None)
    ttfn = f"{first - start:.3f}s" if first is not None else "none"
    print(
        f"{name:<13} intake {ALERTS / intake:>10,.0f} alerts/s ({intake * 1000:.0f} ms for {ALERTS} "
        f"in {len(bodies)} POSTs)  first notification after {ttfn}  notifications {len(got)}  "
        + ("OK" if not problems else "PROBLEMS: " + "; ".join(problems))
    )
    results.append((name, ALERTS / intake))
    failed = failed or bool(problems)

if len(results) == 2:
    print(f"intake ratio {results[0][0]}/{results[1][0]}: {results[0][1] / results[1][1]:.2f}x")
sys.exit(1 if failed else 0)
