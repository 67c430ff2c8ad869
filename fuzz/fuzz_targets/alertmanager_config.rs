//! Any bytes as an Alertmanager configuration file: an error or a configuration whose route
//! tree builds and routes, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_alerting::config::AlertmanagerConfig;
use tocsin_alerting::route::Route;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(config) = AlertmanagerConfig::parse("fuzz.yml", text)
    {
        let root = Route::from_config(&config.route);
        let labels = [("alertname".to_owned(), "x".to_owned())].into_iter().collect();
        assert!(!root.matches(&labels).is_empty() || !root.matchers.is_empty());
    }
});
