use std::sync::Arc;

use tocsin_api::{Readiness, Reloader};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use super::reload::ConfigReloader;

/// SIGHUP reloads the configuration. The first SIGINT or SIGTERM starts a graceful shutdown;
/// a second one stops waiting for open connections.
pub(crate) async fn handle(
    reloader: Arc<ConfigReloader>,
    readiness: Arc<Readiness>,
    shutdown: CancellationToken,
    force: CancellationToken,
) {
    let (Ok(mut hangup), Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::error!("cannot install signal handlers; stop the server with SIGKILL");
        return;
    };
    loop {
        let name = tokio::select! {
            _ = hangup.recv() => {
                tracing::info!("SIGHUP received; reloading configuration");
                // Failures are logged and counted by the reloader.
                let _ = reloader.reload().await;
                continue;
            }
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        if shutdown.is_cancelled() {
            force.cancel();
            return;
        }
        tracing::info!(
            signal = name,
            "shutting down gracefully; send it again to stop at once"
        );
        readiness.set_not_ready();
        shutdown.cancel();
    }
}
