//! Dependencies between tocsin crates point one way, as ARCHITECTURE.md draws them. A crate
//! may depend only on crates listed as allowed here; adding an edge means updating both.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

const ALLOWED: &[(&str, &[&str])] = &[
    ("tocsin-config", &[]),
    ("tocsin-telemetry", &[]),
    ("tocsin-model", &[]),
    ("tocsin-tsdb", &["tocsin-model", "tocsin-telemetry"]),
    (
        "tocsin-ingest",
        &["tocsin-config", "tocsin-model", "tocsin-telemetry"],
    ),
    ("tocsin-promql", &["tocsin-model"]),
    ("tocsin-template", &[]),
    (
        "tocsin-rules",
        &[
            "tocsin-config",
            "tocsin-model",
            "tocsin-promql",
            "tocsin-store",
            "tocsin-telemetry",
            "tocsin-template",
        ],
    ),
    (
        "tocsin-slo",
        &[
            "tocsin-config",
            "tocsin-model",
            "tocsin-promql",
            "tocsin-store",
            "tocsin-telemetry",
        ],
    ),
    ("tocsin-store", &["tocsin-config"]),
    ("tocsin-sim", &["tocsin-model"]),
    (
        "tocsin-oncall",
        &["tocsin-config", "tocsin-store", "tocsin-telemetry"],
    ),
    (
        "tocsin-incident",
        &["tocsin-config", "tocsin-store", "tocsin-telemetry"],
    ),
    (
        "tocsin-alerting",
        &[
            "tocsin-config",
            "tocsin-model",
            "tocsin-store",
            "tocsin-telemetry",
            "tocsin-template",
        ],
    ),
    (
        "tocsin-api",
        &[
            "tocsin-config",
            "tocsin-model",
            "tocsin-promql",
            "tocsin-telemetry",
            "tocsin-ui",
        ],
    ),
    ("tocsin-ui", &[]),
    (
        "tocsin",
        &[
            "tocsin-alerting",
            "tocsin-api",
            "tocsin-config",
            "tocsin-incident",
            "tocsin-ingest",
            "tocsin-model",
            "tocsin-oncall",
            "tocsin-promql",
            "tocsin-rules",
            "tocsin-sim",
            "tocsin-slo",
            "tocsin-store",
            "tocsin-telemetry",
            "tocsin-template",
            "tocsin-tsdb",
        ],
    ),
];

#[test]
fn workspace_dependencies_follow_the_layering() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let ours: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    for package in packages {
        let name = package["name"].as_str().unwrap();
        let permitted = allowed
            .get(name)
            .unwrap_or_else(|| panic!("crate {name} is not in ALLOWED; add it with its layer"));
        for dep in package["dependencies"].as_array().unwrap() {
            let dep_name = dep["name"].as_str().unwrap();
            let is_normal = dep["kind"].is_null();
            if ours.contains(dep_name) && is_normal {
                assert!(
                    permitted.contains(&dep_name),
                    "{name} depends on {dep_name}, which ARCHITECTURE.md does not allow"
                );
            }
        }
    }
}
