#!/usr/bin/env python3
"""Label sets for `promtool tsdb bench write` and `tocsin bench tsdb`, in promtool's input
format (one JSON object of label names to values per line, like tsdb/testdata/20kseries.json).

Usage: gen-series.py N [node_exporter_snapshot.txt] > series.json

With a node_exporter snapshot, its real series are replicated over as many instances as
needed; without one, node_exporter-like label sets are made up.
"""
import json
import re
import sys

n = int(sys.argv[1])
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+\S+')
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

base = []
if len(sys.argv) > 2:
    with open(sys.argv[2]) as f:
        for line in f:
            if line.startswith("# SCRAPE 2"):
                break
            m = line_re.match(line)
            if not m:
                continue
            labels = {"__name__": m.group(1)}
            for k, v in label_re.findall(m.group(3) or ""):
                labels[k] = v.encode().decode("unicode_escape")
            base.append(labels)
if not base:
    names = ["node_cpu_seconds_total", "node_network_receive_bytes_total", "node_disk_read_bytes_total",
             "node_filesystem_avail_bytes", "node_memory_MemFree_bytes", "node_load1", "go_goroutines",
             "process_resident_memory_bytes", "node_vmstat_pgfault", "node_netstat_Tcp_InSegs"]
    for k in range(50):
        base.append({"__name__": names[k % 10], "device": f"dev{k // 10}"})

out = sys.stdout
i = 0
instance = 0
while i < n:
    for labels in base:
        if i >= n:
            break
        row = dict(labels)
        row["instance"] = f"host-{instance:06d}.example.org:9100"
        row["job"] = "node"
        out.write(json.dumps(row, separators=(",", ":")) + "\n")
        i += 1
    instance += 1
