use std::sync::Arc;

use prometheus::core::Collector;
use prometheus::{Encoder, IntGaugeVec, Opts, TextEncoder};

use crate::{BuildInfo, Result};

/// The self-metrics registry. Cheap to clone; all clones share the same metrics.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<prometheus::Registry>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

/// The content type of [`Registry::encode`]'s output.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

impl Registry {
    /// A registry with the standard process metrics (`process_cpu_seconds_total`,
    /// `process_resident_memory_bytes`, ...) and `tocsin_build_info`.
    pub fn new(build: &BuildInfo) -> Result<Self> {
        let registry = Self {
            inner: Arc::new(prometheus::Registry::new()),
        };
        #[cfg(target_os = "linux")]
        registry.inner.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        let build_info = IntGaugeVec::new(
            Opts::new(
                "tocsin_build_info",
                "A metric with a constant '1' value labeled by version, revision, branch and \
                 the Rust compiler version from which tocsin was built.",
            ),
            &["version", "revision", "branch", "rustversion"],
        )?;
        build_info
            .with_label_values(&[
                build.version,
                build.revision,
                build.branch,
                build.rustc_version,
            ])
            .set(1);
        registry.register(build_info)?;
        Ok(registry)
    }

    /// Registers a collector; returns it for convenient construction of metric structs.
    pub fn register<C: Collector + Clone + 'static>(&self, collector: C) -> Result<C> {
        self.inner.register(Box::new(collector.clone()))?;
        Ok(collector)
    }

    /// All metrics in the Prometheus text exposition format 0.0.4.
    pub fn encode(&self) -> String {
        let mut out = Vec::with_capacity(16 * 1024);
        // Encoding into a Vec fails only on metric families the registry itself refused
        // to register, so an error here would be a bug; report it in the output rather
        // than fail the scrape.
        if let Err(err) = TextEncoder::new().encode(&self.inner.gather(), &mut out) {
            out.extend_from_slice(format!("# encoding error: {err}\n").as_bytes());
        }
        String::from_utf8(out)
            .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build() -> BuildInfo {
        BuildInfo {
            version: "1.2.3",
            revision: "abc",
            branch: "main",
            build_date: "20261128-00:00:00",
            rustc_version: "1.95.0",
        }
    }

    #[test]
    fn exposes_build_info_and_process_metrics() {
        let registry = Registry::new(&build()).unwrap();
        let text = registry.encode();
        assert!(
            text.contains(r#"tocsin_build_info{branch="main",revision="abc",rustversion="1.95.0",version="1.2.3"} 1"#),
            "{text}"
        );
        #[cfg(target_os = "linux")]
        assert!(text.contains("process_resident_memory_bytes "), "{text}");
    }

    #[test]
    fn duplicate_registration_is_an_error() {
        let registry = Registry::new(&build()).unwrap();
        let counter = prometheus::IntCounter::new("tocsin_x_total", "x").unwrap();
        registry.register(counter.clone()).unwrap();
        assert!(registry.register(counter).is_err());
    }
}
