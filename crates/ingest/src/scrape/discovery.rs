//! Service discovery: `static_configs` and `file_sd_configs` (JSON or YAML files of target
//! groups, the format Prometheus reads, with `__meta_filepath`). Files are polled for
//! changes every few seconds and re-read at `refresh_interval` regardless.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;
use tocsin_config::{FileSdConfig, StaticConfig};

/// A group of targets sharing labels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetGroup {
    /// Where the group came from (`static/0`, or the file path and index).
    pub source: String,
    /// `host:port` addresses.
    pub targets: Vec<String>,
    /// Labels for every target of the group.
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// The groups of `static_configs`.
pub(crate) fn static_groups(configs: &[StaticConfig]) -> Vec<TargetGroup> {
    configs
        .iter()
        .enumerate()
        .map(|(i, config)| TargetGroup {
            source: format!("static/{i}"),
            targets: config.targets.clone(),
            labels: config.labels.clone(),
        })
        .collect()
}

/// Parses a file_sd file (JSON when it ends in `.json`, YAML otherwise), adding
/// `__meta_filepath`. Errors carry the file name and, for YAML, line and column.
pub fn parse_target_groups(path: &Path, text: &str) -> Result<Vec<TargetGroup>, String> {
    let name = path.display().to_string();
    let raw: Vec<RawGroup> = if name.ends_with(".json") {
        serde_json::from_str(text).map_err(|err| format!("{name}: {err}"))?
    } else {
        tocsin_config::yaml::from_str(&name, text).map_err(|err| err.to_string())?
    };
    raw.into_iter()
        .enumerate()
        .map(|(i, group)| {
            for target in &group.targets {
                if target.is_empty() || target.contains('/') {
                    return Err(format!(
                        "{name}: group {i}: target {target:?} is not host:port"
                    ));
                }
            }
            let mut labels = group.labels;
            for (label, value) in &labels {
                if label.is_empty() {
                    return Err(format!(
                        "{name}: group {i}: empty label name (value {value:?})"
                    ));
                }
            }
            labels.insert("__meta_filepath".to_owned(), name.clone());
            Ok(TargetGroup {
                source: format!("{name}:{i}"),
                targets: group.targets,
                labels,
            })
        })
        .collect()
}

/// Whether `name` matches `pattern` with `*` and `?` (the last path element of a file_sd
/// pattern).
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_match(&pattern[1..], name) || (!name.is_empty() && glob_match(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob_match(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob_match(&pattern[1..], &name[1..]),
        _ => false,
    }
}

/// The files `config` names now, relative patterns resolved against `base_dir`.
pub fn file_sd_paths(config: &FileSdConfig, base_dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for pattern in &config.files {
        let full = base_dir.join(pattern);
        let Some(file_pattern) = full.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        if !file_pattern.contains(['*', '?']) {
            out.push(full.clone());
            continue;
        }
        let dir = full.parent().unwrap_or(Path::new("."));
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut matched: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| glob_match(file_pattern.as_bytes(), n.as_bytes()))
            })
            .map(|e| e.path())
            .collect();
        matched.sort();
        out.extend(matched);
    }
    out
}

/// The state of one `file_sd_configs` entry: what each file held when last read.
#[derive(Debug, Default)]
pub(crate) struct FileDiscovery {
    seen: BTreeMap<PathBuf, (Option<SystemTime>, u64)>,
    groups: BTreeMap<PathBuf, Vec<TargetGroup>>,
}

impl FileDiscovery {
    /// Re-reads files that are new, changed or gone (or all when `force`). Returns the
    /// current groups when anything changed. A file that fails to parse keeps its previous
    /// groups (as Prometheus does) and its error is returned.
    pub(crate) fn poll(
        &mut self,
        config: &FileSdConfig,
        base_dir: &Path,
        force: bool,
    ) -> (Option<Vec<TargetGroup>>, Vec<String>) {
        let paths = file_sd_paths(config, base_dir);
        let mut changed = false;
        let mut errors = Vec::new();
        let gone: Vec<PathBuf> = self
            .seen
            .keys()
            .filter(|p| !paths.contains(p))
            .cloned()
            .collect();
        for path in gone {
            self.seen.remove(&path);
            self.groups.remove(&path);
            changed = true;
        }
        for path in paths {
            let Ok(meta) = std::fs::metadata(&path) else {
                if self.groups.remove(&path).is_some() {
                    changed = true;
                }
                self.seen.remove(&path);
                continue;
            };
            let stamp = (meta.modified().ok(), meta.len());
            if !force && self.seen.get(&path) == Some(&stamp) {
                continue;
            }
            self.seen.insert(path.clone(), stamp);
            match std::fs::read_to_string(&path)
                .map_err(|err| format!("{}: {err}", path.display()))
                .and_then(|text| parse_target_groups(&path, &text))
            {
                Ok(groups) => {
                    if self.groups.get(&path) != Some(&groups) {
                        self.groups.insert(path, groups);
                        changed = true;
                    }
                }
                Err(err) => errors.push(err),
            }
        }
        let groups = changed.then(|| self.groups.values().flatten().cloned().collect());
        (groups, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob_match(b"*.json", b"a.json"));
        assert!(glob_match(b"t?.yml", b"t1.yml"));
        assert!(!glob_match(b"*.json", b"a.yml"));
        assert!(glob_match(b"*", b""));
    }

    #[test]
    fn file_groups_parse_with_locations() {
        let groups = parse_target_groups(
            Path::new("t.json"),
            r#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}]"#,
        )
        .unwrap();
        assert_eq!(groups[0].targets, ["a:1", "b:2"]);
        assert_eq!(groups[0].labels["__meta_filepath"], "t.json");
        let err = parse_target_groups(Path::new("t.yml"), "- targets: [a:1]\n  lables: {}\n")
            .unwrap_err();
        assert!(err.starts_with("t.yml:2:3"), "{err}");
        let err = parse_target_groups(Path::new("t.json"), r#"[{"targets": ["http://a/b"]}]"#)
            .unwrap_err();
        assert!(err.contains("not host:port"), "{err}");
    }

    #[test]
    fn polling_notices_changes_and_keeps_groups_on_errors() {
        let dir = tempfile::tempdir().unwrap();
        let config = FileSdConfig {
            files: vec!["*.json".to_owned()],
            refresh_interval: tocsin_config::Duration::from_secs(300),
        };
        let mut discovery = FileDiscovery::default();
        assert_eq!(discovery.poll(&config, dir.path(), false).0, None);
        std::fs::write(dir.path().join("a.json"), r#"[{"targets": ["a:1"]}]"#).unwrap();
        let (groups, errors) = discovery.poll(&config, dir.path(), false);
        assert_eq!(groups.unwrap()[0].targets, ["a:1"]);
        assert!(errors.is_empty());
        // Unchanged: nothing reported.
        assert_eq!(discovery.poll(&config, dir.path(), false).0, None);
        // A broken edit keeps the old groups and reports the error.
        std::fs::write(dir.path().join("a.json"), "[{").unwrap();
        let (groups, errors) = discovery.poll(&config, dir.path(), false);
        assert_eq!(groups, None);
        assert_eq!(errors.len(), 1);
        std::fs::write(
            dir.path().join("a.json"),
            r#"[{"targets": ["a:1", "b:2"]}]"#,
        )
        .unwrap();
        assert_eq!(
            discovery.poll(&config, dir.path(), true).0.unwrap()[0]
                .targets
                .len(),
            2
        );
        std::fs::remove_file(dir.path().join("a.json")).unwrap();
        assert_eq!(discovery.poll(&config, dir.path(), false).0, Some(vec![]));
    }
}
