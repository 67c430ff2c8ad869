//! The JSON client the CLI's server commands share (`incident`, `drill`, the demo's
//! responder).

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
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .context("cannot build the HTTP client")?;
    let url = format!("{}{path}", server.trim_end_matches('/'));
    runtime.block_on(send_json(&http, method, &url, body, unreachable_hint))
}

/// [`call_json`] on a caller's client and runtime.
pub(crate) async fn send_json(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
    unreachable_hint: &str,
) -> anyhow::Result<Value> {
    let mut request = http.request(method.clone(), url);
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
}

/// Percent-encodes `text` for a URL path segment or query value (RFC 3986 unreserved
/// characters stay as they are).
pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
