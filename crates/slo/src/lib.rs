//! Service-level objectives for tocsin: Sloth and OpenSLO specs, the rules they generate,
//! error budgets and the deploy gate.
//!
//! - [`load_str`]/[`load_file`] read Sloth `prometheus/v1` and OpenSLO `v1`/`v1alpha` specs
//!   strictly (file:line:column) into [`Slo`]s.
//! - [`rule_groups`]/[`rule_groups_yaml`] generate Sloth's recording and metadata rules and
//!   multi-window multi-burn-rate alerts (tiered by default, Sloth's style on request).
//! - [`budget::compute`] evaluates a budget with the PromQL engine; [`gate::decide`] applies
//!   the error-budget policy.
//!
//! This crate does not run rules: the binary hands the generated YAML to the rule engine.

mod error;
mod generate;
mod openslo;
mod sloth;
mod spec;
mod tiers;
mod window;

pub mod budget;
pub mod gate;
pub mod normalize;

pub use crate::error::{Error, Result};
pub use crate::generate::{
    AlertStyle, GenerateOptions, Rule, RuleFile, RuleGroup, TIER_LABEL, WINDOW_LABEL,
    error_ratio_expr, render, rule_groups, rule_groups_yaml, sli_metric, tier_exprs,
};
pub use crate::spec::{
    AlertMeta, Alerting, Budgeting, Exclusion, Extensions, NoData, Policy, Sli, Slo, SpecFormat,
    load_file, load_str, total_query,
};
pub use crate::tiers::{Severity, TIERS, Tier, TierName, all_tier_names, sli_windows};
pub use crate::window::TimeWindow;
