//! Prometheus rule files for tocsin: groups of recording and alerting rules evaluated on a
//! schedule against the PromQL engine, with alert state sent to the router, and promtool's
//! rule unit tests.

pub mod alert;
pub mod api;
pub mod file;
pub mod group;
pub mod manager;
pub mod metrics;
pub mod query;
pub mod series;
pub mod template;
pub mod teststore;
pub mod unittest;

pub use crate::alert::{Alert, AlertState, RESOLVED_REASON_ANNOTATION, Resolution};
pub use crate::file::{GroupDef, RuleDef, RuleKind, load_rule_file, parse_rule_file};
pub use crate::group::{EvalContext, Group, Health, RuleState};
pub use crate::manager::{
    AlertSink, Clock, ManagerDeps, ManagerOptions, RuleManager, SentAlert, SystemClock,
};
pub use crate::metrics::RuleMetrics;
pub use crate::query::{EngineQuery, QueryFn, QuerySample};
pub use crate::template::{Expand, PrometheusTemplateFactory, PrometheusTemplates, Verbatim};
