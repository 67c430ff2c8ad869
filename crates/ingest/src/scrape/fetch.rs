//! Fetching a target over HTTP: content negotiation like Prometheus 3, authentication,
//! TLS, gzip, a timeout and a body size limit. Behind [`Fetch`] so loops can be tested
//! without sockets.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use tocsin_config::{HttpClientConfig, ScrapeConfig, ScrapeProtocol};

use super::target::JobSettings;

/// A response body and its content type.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// The body, decompressed.
    pub body: Bytes,
}

/// The future of a fetch; the error says what went wrong for `/api/v1/targets`.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Fetched, String>> + Send + 'a>>;

/// Gets a target's exposition.
pub trait Fetch: Send + Sync + std::fmt::Debug {
    /// Fetches `url` within `timeout`.
    fn fetch<'a>(&'a self, url: &'a str, timeout: Duration) -> FetchFuture<'a>;
}

/// Prometheus 3's default order without the protobuf format (tocsin does not parse it).
pub(crate) fn default_protocols() -> Vec<ScrapeProtocol> {
    vec![
        ScrapeProtocol::OpenMetricsText1_0_0,
        ScrapeProtocol::OpenMetricsText0_0_1,
        ScrapeProtocol::PrometheusText1_0_0,
        ScrapeProtocol::PrometheusText0_0_4,
    ]
}

/// The `Accept` header for `protocols`, weighted like Prometheus's. The protobuf format is
/// left out: tocsin asks only for formats it parses.
pub fn accept_header(protocols: &[ScrapeProtocol]) -> String {
    let mut parts = Vec::new();
    let mut weight = 6;
    for protocol in protocols {
        let media = match protocol {
            ScrapeProtocol::PrometheusProto => continue,
            ScrapeProtocol::OpenMetricsText1_0_0 => {
                "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8"
            }
            ScrapeProtocol::OpenMetricsText0_0_1 => "application/openmetrics-text;version=0.0.1",
            ScrapeProtocol::PrometheusText1_0_0 => "text/plain;version=1.0.0;escaping=allow-utf-8",
            ScrapeProtocol::PrometheusText0_0_4 => "text/plain;version=0.0.4",
        };
        parts.push(format!("{media};q=0.{weight}"));
        weight -= 1;
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

#[derive(Debug, Clone)]
enum Auth {
    None,
    Basic {
        username: String,
        username_file: Option<PathBuf>,
        password: Option<String>,
        password_file: Option<PathBuf>,
    },
    Header {
        scheme: String,
        credentials: Option<String>,
        credentials_file: Option<PathBuf>,
    },
}

fn read_secret_file(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|text| text.trim().to_owned())
        .map_err(|err| format!("cannot read {}: {err}", path.display()))
}

/// Fetches over HTTP(S) with a job's settings.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
    accept: String,
    auth: Auth,
    body_limit: u64,
    compression: bool,
}

/// Applies Prometheus's HTTP client settings (redirects, HTTP/2, proxy, TLS with CA and
/// client certificate) to `builder`; relative file paths resolve against `base_dir`. Shared by
/// scraping and by sending alerts to external Alertmanagers.
pub fn http_client_builder(
    builder: reqwest::ClientBuilder,
    http: &HttpClientConfig,
    base_dir: &Path,
) -> Result<reqwest::ClientBuilder, String> {
    let mut builder = builder.redirect(if http.follow_redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    });
    if !http.enable_http2 {
        builder = builder.http1_only();
    }
    if let Some(proxy) = &http.proxy_url {
        builder =
            builder.proxy(reqwest::Proxy::all(proxy).map_err(|err| format!("proxy_url: {err}"))?);
    }
    let tls = &http.tls_config;
    if let Some(ca) = &tls.ca_file {
        let pem = std::fs::read(base_dir.join(ca))
            .map_err(|err| format!("tls_config.ca_file {ca}: {err}"))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|err| format!("tls_config.ca_file {ca}: {err}"))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
        let mut pem = std::fs::read(base_dir.join(cert))
            .map_err(|err| format!("tls_config.cert_file {cert}: {err}"))?;
        pem.extend(
            std::fs::read(base_dir.join(key))
                .map_err(|err| format!("tls_config.key_file {key}: {err}"))?,
        );
        builder = builder.identity(
            reqwest::Identity::from_pem(&pem)
                .map_err(|err| format!("tls_config client certificate: {err}"))?,
        );
    }
    if tls.insecure_skip_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    Ok(builder)
}

impl HttpFetcher {
    /// A fetcher for `job`; relative file paths resolve against `base_dir`.
    pub fn new(job: &JobSettings, base_dir: &Path, user_agent: &str) -> Result<Self, String> {
        let config: &ScrapeConfig = &job.config;
        let http = &config.http;
        let builder = reqwest::Client::builder()
            .user_agent(user_agent)
            .gzip(config.enable_compression)
            .pool_max_idle_per_host(1);
        let builder = http_client_builder(builder, http, base_dir)?;
        let auth = if let Some(basic) = &http.basic_auth {
            Auth::Basic {
                username: basic.username.clone(),
                username_file: basic.username_file.as_ref().map(|f| base_dir.join(f)),
                password: basic.password.as_ref().map(|p| p.expose().to_owned()),
                password_file: basic.password_file.as_ref().map(|f| base_dir.join(f)),
            }
        } else if let Some(authorization) = &http.authorization {
            Auth::Header {
                scheme: authorization.kind.clone(),
                credentials: authorization
                    .credentials
                    .as_ref()
                    .map(|c| c.expose().to_owned()),
                credentials_file: authorization
                    .credentials_file
                    .as_ref()
                    .map(|f| base_dir.join(f)),
            }
        } else {
            Auth::None
        };
        Ok(Self {
            client: builder.build().map_err(|err| err.to_string())?,
            accept: accept_header(&job.protocols),
            auth,
            body_limit: job.body_size_limit,
            compression: config.enable_compression,
        })
    }

    async fn get(&self, url: &str, timeout: Duration) -> Result<Fetched, String> {
        let mut request = self
            .client
            .get(url)
            .timeout(timeout)
            .header(reqwest::header::ACCEPT, &self.accept)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", timeout.as_secs_f64()),
            );
        if !self.compression {
            request = request.header(reqwest::header::ACCEPT_ENCODING, "identity");
        }
        // Secret files are re-read on every scrape so rotated credentials apply at once.
        match &self.auth {
            Auth::None => {}
            Auth::Basic {
                username,
                username_file,
                password,
                password_file,
            } => {
                let user = match username_file {
                    Some(file) => read_secret_file(file)?,
                    None => username.clone(),
                };
                let pass = match password_file {
                    Some(file) => Some(read_secret_file(file)?),
                    None => password.clone(),
                };
                request = request.basic_auth(user, pass);
            }
            Auth::Header {
                scheme,
                credentials,
                credentials_file,
            } => {
                let secret = match credentials_file {
                    Some(file) => read_secret_file(file)?,
                    None => credentials.clone().unwrap_or_default(),
                };
                request =
                    request.header(reqwest::header::AUTHORIZATION, format!("{scheme} {secret}"));
            }
        }
        let mut response = request.send().await.map_err(describe_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("server returned HTTP status {status}"));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe_error)? {
            if self.body_limit > 0 && (body.len() + chunk.len()) as u64 > self.body_limit {
                return Err(format!(
                    "body size limit exceeded: the response is over {} bytes (body_size_limit)",
                    self.body_limit
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            content_type,
            body: Bytes::from(body),
        })
    }
}

fn describe_error(err: reqwest::Error) -> String {
    if err.is_timeout() {
        return "context deadline exceeded (scrape timeout)".to_owned();
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

impl Fetch for HttpFetcher {
    fn fetch<'a>(&'a self, url: &'a str, timeout: Duration) -> FetchFuture<'a> {
        Box::pin(self.get(url, timeout))
    }
}
