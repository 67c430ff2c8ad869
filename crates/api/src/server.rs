//! The accept loop: plain TCP or TLS (settings read per connection, so a reload applies to
//! new connections), HTTP/1.1 and HTTP/2, bounded handshakes and header reads, and graceful
//! shutdown that lets requests in flight finish.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use crate::security::{SecurityHandle, WebSecurity};

/// Timeouts of the listener.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How long requests in flight may take to finish after shutdown begins.
    pub shutdown_grace: Duration,
    /// A TLS handshake taking longer is dropped (slow or stuck clients).
    pub tls_handshake_timeout: Duration,
    /// Request headers taking longer to arrive are dropped (slowloris).
    pub header_read_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            shutdown_grace: Duration::from_secs(30),
            tls_handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then waits up to
/// `shutdown_grace` for open connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    security: SecurityHandle,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let options = Arc::new(options);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Usually out of file descriptors: back off instead of spinning.
                        tracing::warn!(%error, "cannot accept connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Small responses (probes, API JSON) should not wait for Nagle.
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_connection(
                    stream,
                    peer,
                    security.current(),
                    router.clone(),
                    graceful.watcher(),
                    Arc::clone(&options),
                ));
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::debug!("all connections closed"),
        () = tokio::time::sleep(options.shutdown_grace) => {
            tracing::warn!(grace = ?options.shutdown_grace, "connections still open after the grace period; closing them");
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    security: Arc<WebSecurity>,
    router: Router,
    watcher: Watcher,
    options: Arc<ServeOptions>,
) {
    let Some(acceptor) = security.tls.clone() else {
        serve_http(stream, peer, &security, router, watcher, &options).await;
        return;
    };
    let tls_stream =
        match tokio::time::timeout(options.tls_handshake_timeout, acceptor.accept(stream)).await {
            Ok(Ok(tls_stream)) => tls_stream,
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        };
    if !security.client_allowed_sans.is_empty() {
        let allowed = tls_stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first())
            .is_some_and(|cert| {
                crate::tls::client_san_allowed(cert, &security.client_allowed_sans)
            });
        if !allowed {
            tracing::info!(%peer, "client certificate has none of the allowed SANs; closing");
            return;
        }
    }
    serve_http(tls_stream, peer, &security, router, watcher, &options).await;
}

async fn serve_http<S>(
    stream: S,
    peer: SocketAddr,
    security: &WebSecurity,
    router: Router,
    watcher: Watcher,
    options: &ServeOptions,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = router.map_request(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    if !security.http2 {
        builder = builder.http1_only();
    }
    let connection = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
        .into_owned();
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}
