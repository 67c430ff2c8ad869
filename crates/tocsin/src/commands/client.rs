//! The JSON client the CLI's server commands share (`incident`, `drill`, …).

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

/// Sends one request to `server` and returns its JSON answer; a non-2xx answer is an error
/// carrying the server's message, an unreachable server one ending with `unreachable_hint`.
pub(crate) fn call_json(
    server: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    timeout: Duration,
    unreachable_hint: &str,
) -> anyhow::Result<Value> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let url = format!("{}{path}", server.trim_end_matches('/'));
    runtime.block_on(async {
        let mut request = reqwest::Client::new()
            .request(method.clone(), &url)
            .timeout(timeout);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach {url}; {unreachable_hint}"))?;
        let status = response.status();
        let text = response.text().await.context("cannot read the answer")?;
        let value: Value = serde_json::from_str(&text)
            .with_context(|| format!("{url} answered {status} without JSON: {}", text.trim()))?;
        if !status.is_success() {
            bail!(
                "{method} {url} answered {status}: {}",
                value["error"].as_str().unwrap_or(text.trim())
            );
        }
        Ok(value)
    })
}
