//! Any text as a notification template field, rendered with tocsin's default templates over
//! Alertmanager's notification data: an error or text, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin_alerting::alert::Alert;
use tocsin_alerting::notify::Notification;
use tocsin_alerting::receivers::{Templates, template_data};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(templates) = Templates::load(&[], std::path::Path::new(".")) else {
        return;
    };
    let labels: std::collections::BTreeMap<String, String> = [
        ("alertname".to_owned(), "x".to_owned()),
        ("job".to_owned(), "api".to_owned()),
    ]
    .into_iter()
    .collect();
    let alerts = [Alert {
        labels: labels.clone(),
        annotations: labels.clone(),
        starts_at: 1_767_225_600_000,
        ends_at: tocsin_alerting::time::ZERO_TIME,
        updated_at: 1_767_225_600_000,
        generator_url: "http://prom/graph".to_owned(),
        timeout: false,
    }];
    let n = Notification {
        receiver: "team-x",
        group_key: "{}:{}",
        group_labels: &labels,
        alerts: &alerts,
        now: 1_767_225_660_000,
        id: "0123456789abcdef",
    };
    let _ = templates.render_text(text, &template_data(&n, "http://am"));
});
