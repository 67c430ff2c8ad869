//! Scraping with Prometheus's behaviour: targets from `static_configs` and `file_sd_configs`
//! (files re-read when they change), `relabel_configs` on targets, one loop per target with
//! a stable offset inside the interval (jitter spread), content negotiation, `honor_labels`,
//! `honor_timestamps`, `metric_relabel_configs`, sample and label limits, the synthetic
//! series (`up`, `scrape_duration_seconds`, `scrape_samples_scraped`,
//! `scrape_samples_post_metric_relabeling`, `scrape_series_added`), and staleness markers
//! when a series or a target disappears.
//!
//! Time comes from a [`crate::clock::Clock`] and tokio's timers, so the loop runs on a fake
//! clock in tests; fetching is behind [`Fetch`], so loops can be tested without sockets.

mod append;
mod discovery;
mod fetch;
mod manager;
mod scrape_loop;
mod target;
mod targets_json;

#[cfg(test)]
mod tests;

pub use self::discovery::{TargetGroup, file_sd_paths, parse_target_groups};
pub use self::fetch::{
    Fetch, FetchFuture, Fetched, HttpFetcher, accept_header, http_client_builder,
};
pub use self::manager::ScrapeManager;
pub use self::scrape_loop::{ScrapeLoop, ScrapeReport};
pub use self::target::{JobSettings, Target, TargetHealth, populate_labels};
