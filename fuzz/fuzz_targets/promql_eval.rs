//! PromQL parse + evaluate: no panic, bounded time, whatever the query.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tocsin_model::Labels;
use tocsin_model::storage::Appendable;
use tocsin_model::storage::mem::MemStorage;
use tocsin_promql::{Engine, EngineOptions, QueryLimits};

fn store() -> &'static MemStorage {
    static STORE: OnceLock<MemStorage> = OnceLock::new();
    STORE.get_or_init(|| {
        let store = MemStorage::new();
        let mut app = store.appender();
        for (name, job, le) in [("up", "a", ""), ("up", "b", ""), ("x_bucket", "a", "1"), ("x_bucket", "a", "+Inf")] {
            let labels = Labels::from_pairs([("__name__", name), ("job", job), ("le", le)]).expect("labels");
            for i in 0..20 {
                let _ = app.append(0, &labels, i * 15_000, i as f64);
            }
        }
        let _ = app.commit();
        store
    })
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::new(
            QueryLimits {
                timeout: Duration::from_secs(2),
                max_samples: 1_000_000,
                max_concurrency: 0,
            },
            EngineOptions::default(),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let _ = engine().instant_query(store(), query, 150_000);
    let _ = engine().range_query(store(), query, 0, 300_000, 30_000);
});
