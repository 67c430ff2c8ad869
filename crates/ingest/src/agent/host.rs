//! Host metrics from procfs and statvfs, with node_exporter's names and units where it has
//! them (CPU, memory, load, filesystems, disks, network), and the top processes by memory
//! and by CPU.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Collector, Point};

/// Clock ticks per second for /proc times (USER_HZ; 100 on every Linux architecture
/// node_exporter supports).
const USER_HZ: f64 = 100.0;

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn point(name: &str, pairs: &[(&str, &str)], value: f64) -> Point {
    let mut all = labels(pairs);
    all.push(("__name__".to_owned(), name.to_owned()));
    (all, value)
}

/// node_exporter's default exclusions.
fn ignored_fstype(fstype: &str) -> bool {
    matches!(
        fstype,
        "autofs"
            | "binfmt_misc"
            | "bpf"
            | "cgroup"
            | "cgroup2"
            | "configfs"
            | "debugfs"
            | "devpts"
            | "devtmpfs"
            | "fusectl"
            | "hugetlbfs"
            | "iso9660"
            | "mqueue"
            | "nsfs"
            | "overlay"
            | "proc"
            | "procfs"
            | "pstore"
            | "rpc_pipefs"
            | "securityfs"
            | "selinuxfs"
            | "squashfs"
            | "sysfs"
            | "tracefs"
    )
}

fn ignored_mountpoint(mountpoint: &str) -> bool {
    let under =
        |prefix: &str| mountpoint == prefix || mountpoint.starts_with(&format!("{prefix}/"));
    // Debian's node_exporter 1.5 default:
    // `^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`.
    ["/dev", "/proc", "/run", "/sys", "/mnt", "/media"]
        .iter()
        .any(|p| under(p))
        || mountpoint.starts_with("/var/lib/docker/")
        || mountpoint.starts_with("/var/lib/containers/storage/")
}

/// node_exporter 1.5's default: `^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`.
fn ignored_disk(device: &str) -> bool {
    let digits_tail = |rest: &str| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit());
    for prefix in ["ram", "loop", "fd"] {
        if let Some(rest) = device.strip_prefix(prefix)
            && digits_tail(rest)
        {
            return true;
        }
    }
    for prefix in ["hd", "sd", "vd", "xvd"] {
        if let Some(rest) = device.strip_prefix(prefix) {
            let mut chars = rest.chars();
            if chars.next().is_some_and(|c| c.is_ascii_lowercase()) && digits_tail(chars.as_str()) {
                return true;
            }
        }
    }
    if let Some(rest) = device.strip_prefix("nvme")
        && let Some((ctrl, tail)) = rest.split_once('n')
        && let Some((ns, part)) = tail.split_once('p')
    {
        return digits_tail(ctrl) && digits_tail(ns) && digits_tail(part);
    }
    false
}

/// Reads a host through its procfs.
#[derive(Debug, Clone)]
pub struct HostCollector {
    proc: PathBuf,
    top: usize,
    ticks: HashMap<u32, f64>,
}

impl HostCollector {
    /// Reads `/proc` (or another procfs root, for tests); reports the `top` processes.
    pub fn new(proc: &Path, top: usize) -> Self {
        Self {
            proc: proc.to_path_buf(),
            top,
            ticks: HashMap::new(),
        }
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.proc.join(file)).unwrap_or_default()
    }

    fn cpu(&self, out: &mut Vec<Point>) {
        const MODES: [&str; 8] = [
            "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
        ];
        for line in self.read("stat").lines() {
            let mut fields = line.split_whitespace();
            let Some(cpu) = fields.next().and_then(|f| f.strip_prefix("cpu")) else {
                continue;
            };
            if cpu.is_empty() {
                continue; // the aggregate line
            }
            for (mode, value) in MODES.iter().zip(fields) {
                if let Ok(ticks) = value.parse::<f64>() {
                    out.push(point(
                        "node_cpu_seconds_total",
                        &[("cpu", cpu), ("mode", mode)],
                        ticks / USER_HZ,
                    ));
                }
            }
        }
    }

    fn memory(&self, out: &mut Vec<Point>) {
        for line in self.read("meminfo").lines() {
            let Some((key, rest)) = line.split_once(':') else {
                continue;
            };
            let mut parts = rest.split_whitespace();
            let Some(Ok(value)) = parts.next().map(str::parse::<f64>) else {
                continue;
            };
            let bytes = if parts.next() == Some("kB") {
                value * 1024.0
            } else {
                value
            };
            let key = key.replace('(', "_").replace(')', "");
            let name = if rest.trim_end().ends_with("kB") {
                format!("node_memory_{key}_bytes")
            } else {
                format!("node_memory_{key}")
            };
            out.push(point(&name, &[], bytes));
        }
    }

    fn load(&self, out: &mut Vec<Point>) {
        let text = self.read("loadavg");
        for (name, value) in ["node_load1", "node_load5", "node_load15"]
            .iter()
            .zip(text.split_whitespace())
        {
            if let Ok(value) = value.parse() {
                out.push(point(name, &[], value));
            }
        }
    }

    fn filesystems(&self, out: &mut Vec<Point>) {
        let mut seen = std::collections::HashSet::new();
        // Like node_exporter: the mounts of PID 1 (the host's view when the agent runs in
        // a container with the host's procfs), else our own.
        let mut mounts = self.read("1/mounts");
        if mounts.is_empty() {
            mounts = self.read("mounts");
        }
        for line in mounts.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [device, mountpoint, fstype, ..] = fields[..] else {
                continue;
            };
            // /proc/mounts escapes spaces as \040.
            let mountpoint = mountpoint.replace("\\040", " ");
            if ignored_fstype(fstype)
                || ignored_mountpoint(&mountpoint)
                || !seen.insert(mountpoint.clone())
            {
                continue;
            }
            let Ok(stat) = rustix::fs::statvfs(mountpoint.as_str()) else {
                continue;
            };
            let block = stat.f_frsize as f64;
            let labels = [
                ("device", device),
                ("fstype", fstype),
                ("mountpoint", mountpoint.as_str()),
            ];
            for (name, value) in [
                ("node_filesystem_size_bytes", stat.f_blocks as f64 * block),
                ("node_filesystem_free_bytes", stat.f_bfree as f64 * block),
                ("node_filesystem_avail_bytes", stat.f_bavail as f64 * block),
                ("node_filesystem_files", stat.f_files as f64),
                ("node_filesystem_files_free", stat.f_ffree as f64),
            ] {
                out.push(point(name, &labels, value));
            }
        }
    }

    fn disks(&self, out: &mut Vec<Point>) {
        for line in self.read("diskstats").lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 14 || ignored_disk(fields[2]) {
                continue;
            }
            let device = fields[2];
            let value = |i: usize| {
                fields
                    .get(i)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            for (name, v) in [
                ("node_disk_reads_completed_total", value(3)),
                ("node_disk_reads_merged_total", value(4)),
                ("node_disk_read_bytes_total", value(5) * 512.0),
                ("node_disk_read_time_seconds_total", value(6) / 1000.0),
                ("node_disk_writes_completed_total", value(7)),
                ("node_disk_writes_merged_total", value(8)),
                ("node_disk_written_bytes_total", value(9) * 512.0),
                ("node_disk_write_time_seconds_total", value(10) / 1000.0),
                ("node_disk_io_now", value(11)),
                ("node_disk_io_time_seconds_total", value(12) / 1000.0),
                (
                    "node_disk_io_time_weighted_seconds_total",
                    value(13) / 1000.0,
                ),
            ] {
                out.push(point(name, &[("device", device)], v));
            }
        }
    }

    fn network(&self, out: &mut Vec<Point>) {
        const NAMES: [&str; 16] = [
            "receive_bytes",
            "receive_packets",
            "receive_errs",
            "receive_drop",
            "receive_fifo",
            "receive_frame",
            "receive_compressed",
            "receive_multicast",
            "transmit_bytes",
            "transmit_packets",
            "transmit_errs",
            "transmit_drop",
            "transmit_fifo",
            "transmit_colls",
            "transmit_carrier",
            "transmit_compressed",
        ];
        for line in self.read("net/dev").lines().skip(2) {
            let Some((device, rest)) = line.split_once(':') else {
                continue;
            };
            let device = device.trim();
            // node_exporter (Debian's 1.5) leaves the loopback device out.
            if device == "lo" {
                continue;
            }
            for (name, value) in NAMES.iter().zip(rest.split_whitespace()) {
                if let Ok(value) = value.parse::<f64>() {
                    out.push(point(
                        &format!("node_network_{name}_total"),
                        &[("device", device)],
                        value,
                    ));
                }
            }
        }
    }

    /// The top processes by resident memory and by CPU time (`tocsin_agent_process_*`).
    fn processes(&mut self, out: &mut Vec<Point>) {
        let Ok(entries) = std::fs::read_dir(&self.proc) else {
            return;
        };
        let page = 4096.0;
        let mut procs: Vec<(u32, String, f64, f64)> = Vec::new();
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // `pid (comm) state ...`: comm may contain spaces and parentheses.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let comm = stat[open + 1..close].to_owned();
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            // After the comm: state is field 3, utime 14, stime 15, rss 24 (1-based).
            let get = |n: usize| {
                fields
                    .get(n - 3)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            let cpu = (get(14) + get(15)) / USER_HZ;
            let rss = get(24) * page;
            procs.push((pid, comm, rss, cpu));
        }
        let mut by_rss = procs.clone();
        by_rss.sort_by(|a, b| b.2.total_cmp(&a.2));
        for (pid, comm, rss, _) in by_rss.iter().take(self.top) {
            out.push(point(
                "tocsin_agent_process_resident_memory_bytes",
                &[("pid", &pid.to_string()), ("comm", comm)],
                *rss,
            ));
        }
        // CPU: the processes that used the most since the last collection.
        let mut by_cpu: Vec<(u32, String, f64, f64)> = procs
            .iter()
            .map(|(pid, comm, _, cpu)| {
                let delta = cpu - self.ticks.get(pid).copied().unwrap_or(*cpu);
                (*pid, comm.clone(), delta, *cpu)
            })
            .collect();
        by_cpu.sort_by(|a, b| b.2.total_cmp(&a.2));
        for (pid, comm, _, cpu) in by_cpu.iter().take(self.top) {
            out.push(point(
                "tocsin_agent_process_cpu_seconds_total",
                &[("pid", &pid.to_string()), ("comm", comm)],
                *cpu,
            ));
        }
        self.ticks = procs.iter().map(|(pid, _, _, cpu)| (*pid, *cpu)).collect();
    }
}

impl Collector for HostCollector {
    fn collect(&mut self, out: &mut Vec<Point>) {
        self.cpu(out);
        self.memory(out);
        self.load(out);
        self.filesystems(out);
        self.disks(out);
        self.network(out);
        if self.top > 0 {
            self.processes(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_filters_match_node_exporter() {
        for ignored in ["loop0", "ram1", "sda1", "vdb2", "xvda1", "nvme0n1p2"] {
            assert!(ignored_disk(ignored), "{ignored}");
        }
        for kept in ["sda", "nvme0n1", "vda", "dm-0", "md0", "zram0"] {
            assert!(!ignored_disk(kept), "{kept}");
        }
        assert!(ignored_mountpoint("/proc/sys/fs/binfmt_misc"));
        assert!(!ignored_mountpoint("/data"));
        assert!(!ignored_fstype("tmpfs") && ignored_fstype("sysfs"));
    }

    #[test]
    fn reads_this_host() {
        let mut collector = HostCollector::new(Path::new("/proc"), 5);
        let mut out = Vec::new();
        collector.collect(&mut out);
        let names: std::collections::BTreeSet<String> = out
            .iter()
            .filter_map(|(labels, _)| {
                labels
                    .iter()
                    .find(|(n, _)| n == "__name__")
                    .map(|(_, v)| v.clone())
            })
            .collect();
        for name in [
            "node_cpu_seconds_total",
            "node_memory_MemTotal_bytes",
            "node_load1",
            "node_network_receive_bytes_total",
            "tocsin_agent_process_resident_memory_bytes",
        ] {
            assert!(names.contains(name), "{name} missing from {names:?}");
        }
    }
}
