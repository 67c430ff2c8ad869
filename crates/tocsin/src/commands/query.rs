//! `tocsin query` and `tocsin query-range`: PromQL against a running server's Prometheus API,
//! printed as a table or as the server's JSON.

use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::cli::{QueryArgs, QueryRangeArgs};
use crate::output;

fn post(server: &str, path: &str, form: &[(&str, String)]) -> anyhow::Result<(bool, String)> {
    // One TLS provider for the whole process (see ../shared/DEPENDENCIES.md, trap 4).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let url = format!("{}{path}", server.trim_end_matches('/'));
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(&url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(
                form.iter()
                    .map(|(k, v)| format!("{k}={}", encode(v)))
                    .collect::<Vec<_>>()
                    .join("&"),
            )
            .timeout(std::time::Duration::from_secs(300))
            .send()
            .await
            .with_context(|| format!("cannot reach {url}; is the server running? Set --server"))?;
        let ok = response.status().is_success();
        let text = response.text().await.context("cannot read the answer")?;
        Ok((ok, text))
    })
}

/// Form encoding (RFC 3986 unreserved characters kept).
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn finish(ok: bool, text: &str, json: bool) -> anyhow::Result<ExitCode> {
    let body: serde_json::Value = serde_json::from_str(text)
        .with_context(|| format!("the server's answer is not JSON: {}", text.trim()))?;
    if !ok || body["status"] != "success" {
        bail!(
            "{}: {}",
            body["errorType"].as_str().unwrap_or("error"),
            body["error"].as_str().unwrap_or(text.trim())
        );
    }
    if json {
        output::line(text.trim());
        return Ok(ExitCode::SUCCESS);
    }
    for kind in ["warnings", "infos"] {
        for w in body[kind].as_array().into_iter().flatten() {
            output::detail(&format!(
                "{}: {}",
                &kind[..kind.len() - 1],
                w.as_str().unwrap_or("")
            ));
        }
    }
    print_table(&body["data"]);
    Ok(ExitCode::SUCCESS)
}

fn metric(m: &serde_json::Value) -> String {
    let Some(obj) = m.as_object() else {
        return "{}".to_owned();
    };
    let name = obj.get("__name__").and_then(|v| v.as_str()).unwrap_or("");
    let labels: Vec<String> = obj
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={}", v))
        .collect();
    format!("{name}{{{}}}", labels.join(", "))
}

fn point(p: &serde_json::Value) -> (String, String) {
    (p[0].to_string(), p[1].as_str().unwrap_or("").to_owned())
}

fn print_table(data: &serde_json::Value) {
    let empty = Vec::new();
    let result = &data["result"];
    match data["resultType"].as_str() {
        Some("scalar" | "string") => {
            let (t, v) = point(result);
            output::line(&format!("{v} @{t}"));
        }
        Some("vector") => {
            let rows: Vec<(String, String)> = result
                .as_array()
                .unwrap_or(&empty)
                .iter()
                .map(|s| (metric(&s["metric"]), point(&s["value"]).1))
                .collect();
            let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(6).max(6);
            output::line(&format!("{:<width$}  VALUE", "SERIES"));
            for (m, v) in rows {
                output::line(&format!("{m:<width$}  {v}"));
            }
        }
        _ => {
            for s in result.as_array().unwrap_or(&empty) {
                output::line(&metric(&s["metric"]));
                for p in s["values"].as_array().unwrap_or(&empty) {
                    let (t, v) = point(p);
                    output::line(&format!("  {t:>16}  {v}"));
                }
            }
        }
    }
}

pub(crate) fn instant(args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let mut form = vec![("query", args.expr.clone())];
    if let Some(t) = &args.time {
        form.push(("time", t.clone()));
    }
    let (ok, text) = post(&args.server, "/api/v1/query", &form)?;
    finish(ok, &text, args.json)
}

pub(crate) fn range(args: &QueryRangeArgs) -> anyhow::Result<ExitCode> {
    let form = vec![
        ("query", args.expr.clone()),
        ("start", args.start.clone()),
        ("end", args.end.clone()),
        ("step", args.step.clone()),
    ];
    let (ok, text) = post(&args.server, "/api/v1/query_range", &form)?;
    finish(ok, &text, args.json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_reserved_characters() {
        assert_eq!(
            encode("sum(rate(x{a=\"b c\"}[5m]))"),
            "sum%28rate%28x%7Ba%3D%22b%20c%22%7D%5B5m%5D%29%29"
        );
    }

    #[test]
    fn metric_formatting() {
        let m = serde_json::json!({"__name__": "up", "job": "a"});
        assert_eq!(metric(&m), "up{job=\"a\"}");
    }
}
