//! `GET /api/v1/targets` in Prometheus's JSON.

use serde_json::{Map, Value, json};
use tocsin_model::Label;

use super::manager::ScrapeManager;

fn label_map<'a>(labels: impl Iterator<Item = &'a Label>) -> Value {
    Value::Object(
        labels
            .map(|l| (l.name.clone(), Value::String(l.value.clone())))
            .collect::<Map<String, Value>>(),
    )
}

impl ScrapeManager {
    /// The targets as `/api/v1/targets` shows them; `state` is `active`, `dropped`, `any`
    /// (default) as in Prometheus.
    pub fn targets_json(&self, state: Option<&str>) -> String {
        let state = state.unwrap_or("any");
        let (want_active, want_dropped) = match state {
            "active" => (true, false),
            "dropped" => (false, true),
            _ => (true, true),
        };
        let pools = self.pools.lock();
        let mut active = Vec::new();
        let mut dropped = Vec::new();
        for (job, pool) in pools.iter() {
            if want_active {
                for target in pool.targets() {
                    let last = target.last.lock().clone();
                    active.push(json!({
                        "discoveredLabels": label_map(target.discovered.iter()),
                        "labels": label_map(target.public_labels()),
                        "scrapePool": job,
                        "scrapeUrl": target.url,
                        "globalUrl": target.url,
                        "lastError": last.error,
                        "lastScrape": last.at_ms.map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), tocsin_model::time::rfc3339_millis),
                        "lastScrapeDuration": last.duration_secs,
                        "health": last.health.as_str(),
                        "scrapeInterval": target.interval.to_string(),
                        "scrapeTimeout": target.timeout.to_string(),
                    }));
                }
            }
            if want_dropped {
                for labels in &pool.dropped {
                    dropped.push(json!({ "discoveredLabels": label_map(labels.iter()) }));
                }
            }
        }
        let mut data = Map::new();
        if want_active {
            data.insert("activeTargets".to_owned(), Value::Array(active));
        }
        if want_dropped {
            data.insert("droppedTargets".to_owned(), Value::Array(dropped));
        }
        json!({"status": "success", "data": data}).to_string()
    }
}
