//! The SLO stage in the server: loads `slo_files` (globs relative to the configuration file),
//! reloads them with the configuration, computes budgets with the PromQL engine over the
//! time-series store, and answers the deploy gate, recording overrides in the state store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use arc_swap::ArcSwap;
use axum::body::Bytes;
use serde::Deserialize;
use tocsin_api::{ApiFuture, ApiResult, SloApi};
use tocsin_config::Config;
use tocsin_model::storage::Queryable;
use tocsin_promql::Engine;
use tocsin_slo::gate::{GateOverride, decide};
use tocsin_slo::{GenerateOptions, Slo};
use tocsin_store::Store;
use tocsin_store::slo::{FEATURE, GateOverrideRow};

use super::reload::{ReloadCommit, commit};

/// Reads every SLO the configuration's `slo_files` name; names must be unique.
pub(crate) fn load_slo_files(config: &Config, base_dir: &Path) -> Result<Vec<Slo>, String> {
    // A config file named without a directory has an empty base: that is the current one.
    let base_dir = if base_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base_dir
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for pattern in &config.slo_files {
        paths.extend(
            tocsin_rules::file::glob(base_dir, pattern)
                .map_err(|e| format!("slo_files {pattern:?}: {e}"))?,
        );
    }
    let mut slos: Vec<Slo> = Vec::new();
    for path in paths {
        for slo in tocsin_slo::load_file(&path).map_err(|e| e.to_string())? {
            if slos.iter().any(|s| s.name == slo.name) {
                return Err(format!(
                    "{}: a second SLO is named {:?}; SLO names must be unique across slo_files",
                    path.display(),
                    slo.name
                ));
            }
            slos.push(slo);
        }
    }
    Ok(slos)
}

/// The rule file generated from the configuration's `slo_files`, in the form the rule engine
/// reads (`tocsin_rules::parse_rule_file`), for the composition root to add to its groups.
#[allow(
    dead_code,
    reason = "the rule stage takes it once the lead wires it (#6)"
)]
pub(crate) fn generated_rules(config: &Config, base_dir: &Path) -> Result<String, String> {
    let slos = load_slo_files(config, base_dir)?;
    Ok(tocsin_slo::rule_groups_yaml(
        &slos,
        &GenerateOptions::default(),
    ))
}

/// The running SLO stage.
pub(crate) struct SloStage {
    slos: ArcSwap<Vec<Slo>>,
    engine: Arc<Engine>,
    storage: Arc<dyn Queryable>,
    store: Store,
}

impl std::fmt::Debug for SloStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SloStage")
            .field("slos", &self.slos.load().len())
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl SloStage {
    /// Loads the SLOs and opens the state store (its own pool on the same database).
    pub(crate) async fn start(
        config: &Config,
        base_dir: &Path,
        data_dir: &Path,
        engine: Arc<Engine>,
        storage: Arc<dyn Queryable>,
    ) -> anyhow::Result<Arc<Self>> {
        let slos = load_slo_files(config, base_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
        let store = Store::open(&config.storage.state, data_dir)
            .await
            .context("cannot open the state store for SLO gate overrides")?;
        store
            .migrate(&FEATURE)
            .await
            .context("cannot migrate the SLO tables")?;
        tracing::info!(slos = slos.len(), "SLOs loaded");
        Ok(Arc::new(Self {
            slos: ArcSwap::from_pointee(slos),
            engine,
            storage,
            store,
        }))
    }

    /// Re-reads `slo_files`; the commit puts the new SLOs in force.
    pub(crate) fn prepare_reload(
        self: &Arc<Self>,
        config: &Config,
        base_dir: &Path,
    ) -> Result<ReloadCommit, String> {
        let slos = load_slo_files(config, base_dir)?;
        let stage = Arc::clone(self);
        Ok(commit(move || {
            tracing::info!(slos = slos.len(), "SLOs reloaded");
            stage.slos.store(Arc::new(slos));
        }))
    }

    /// The Prometheus rule file generated from the loaded SLOs, for the rule engine.
    #[allow(dead_code, reason = "the rule engine takes it once it is wired (#6)")]
    pub(crate) fn rule_groups_yaml(&self) -> String {
        tocsin_slo::rule_groups_yaml(&self.slos.load(), &GenerateOptions::default())
    }

    /// Closes the store.
    pub(crate) async fn stop(&self) {
        self.store.close().await;
    }

    fn find(&self, name: &str) -> Result<Slo, (u16, String)> {
        self.slos
            .load()
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .ok_or_else(|| {
                (
                    404,
                    tocsin_slo::Error::UnknownSlo(name.to_owned()).to_string(),
                )
            })
    }

    /// Computes budgets off the async workers: queries over 30 days are CPU work.
    async fn budgets(
        &self,
        slos: Vec<Slo>,
    ) -> Result<Vec<(Slo, tocsin_slo::budget::BudgetReport)>, (u16, String)> {
        let engine = Arc::clone(&self.engine);
        let storage = Arc::clone(&self.storage);
        let now = now_ms();
        tokio::task::spawn_blocking(move || {
            slos.into_iter()
                .map(|slo| {
                    let report = tocsin_slo::budget::compute(&engine, storage.as_ref(), &slo, now)
                        .map_err(|e| (500, e.to_string()))?;
                    Ok((slo, report))
                })
                .collect::<Result<Vec<_>, (u16, String)>>()
        })
        .await
        .map_err(|e| (500, format!("budget computation failed: {e}")))?
    }

    async fn overrides(&self, name: &str) -> Result<Vec<GateOverride>, (u16, String)> {
        let rows = self
            .store
            .slo()
            .list_overrides(name)
            .await
            .map_err(|e| (500, e.to_string()))?;
        Ok(rows
            .into_iter()
            .map(|r| GateOverride {
                by: r.created_by,
                reason: r.reason,
                created_at: r.created_at,
                expires_at: r.expires_at,
            })
            .collect())
    }

    async fn gate_json(&self, name: &str) -> ApiResult {
        let slo = self.find(name)?;
        let overrides = self.overrides(name).await?;
        let mut budgets = self.budgets(vec![slo]).await?;
        let (slo, report) = budgets
            .pop()
            .ok_or((500, "no budget computed".to_owned()))?;
        let decision = decide(&slo, report, &overrides);
        serde_json::to_value(decision).map_err(|e| (500, e.to_string()))
    }
}

/// The body of an override.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideRequest {
    reason: String,
    by: String,
    /// RFC 3339 instant, or a duration from now (`2h`).
    #[serde(default)]
    expires: Option<String>,
}

fn parse_expiry(text: &str, now: i64) -> Result<i64, String> {
    if let Ok(d) = text.parse::<tocsin_config::Duration>() {
        return Ok(now + i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2));
    }
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            format!("expires {text:?} must be an RFC 3339 time (2026-01-02T15:04:05Z) or a duration (2h)")
        })
}

impl SloApi for SloStage {
    fn list(&self) -> ApiFuture<'_> {
        Box::pin(async move {
            let slos = self.slos.load().as_ref().clone();
            let budgets = self.budgets(slos).await?;
            let items: Vec<serde_json::Value> = budgets
                .into_iter()
                .map(|(slo, report)| {
                    let window = report.window.clone();
                    let budget = serde_json::to_value(report).map_err(|e| (500, e.to_string()))?;
                    Ok(serde_json::json!({
                        "name": slo.name,
                        "service": slo.service,
                        "objective": slo.objective,
                        "window": window,
                        "budget": budget,
                    }))
                })
                .collect::<Result<_, (u16, String)>>()?;
            Ok(serde_json::json!({ "slos": items }))
        })
    }

    fn get(&self, name: String) -> ApiFuture<'_> {
        Box::pin(async move {
            let slo = self.find(&name)?;
            let mut budgets = self.budgets(vec![slo]).await?;
            let (slo, report) = budgets
                .pop()
                .ok_or((500, "no budget computed".to_owned()))?;
            let slo = serde_json::to_value(slo).map_err(|e| (500, e.to_string()))?;
            let report = serde_json::to_value(report).map_err(|e| (500, e.to_string()))?;
            Ok(serde_json::json!({ "slo": slo, "budget": report }))
        })
    }

    fn gate(&self, name: String) -> ApiFuture<'_> {
        Box::pin(async move { self.gate_json(&name).await })
    }

    fn override_gate(&self, name: String, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            self.find(&name)?;
            let request: OverrideRequest = serde_json::from_slice(&body).map_err(|e| {
                (
                    400,
                    format!("the body must be JSON {{\"reason\": …, \"by\": …, \"expires\": optional}}: {e}"),
                )
            })?;
            if request.reason.trim().is_empty() || request.by.trim().is_empty() {
                return Err((
                    400,
                    "an override needs a non-empty `reason` and `by`".to_owned(),
                ));
            }
            let now = now_ms();
            let expires_at = request
                .expires
                .as_deref()
                .map(|e| parse_expiry(e, now))
                .transpose()
                .map_err(|e| (400, e))?;
            let row = GateOverrideRow {
                slo: name.clone(),
                created_by: request.by,
                reason: request.reason,
                created_at: now,
                expires_at,
            };
            self.store
                .slo()
                .insert_override(&row)
                .await
                .map_err(|e| (500, e.to_string()))?;
            tracing::warn!(slo = %name, by = %row.created_by, reason = %row.reason, expires_at = ?row.expires_at, "deploy gate overridden");
            let decision = self.gate_json(&name).await?;
            Ok(serde_json::json!({
                "override": {
                    "slo": row.slo,
                    "by": row.created_by,
                    "reason": row.reason,
                    "created_at": row.created_at,
                    "expires_at": row.expires_at,
                },
                "gate": decision,
            }))
        })
    }
}
