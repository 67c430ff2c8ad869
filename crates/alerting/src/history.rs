//! History of every alert state change and notification: written to the state store in
//! batches by a background task so the hot paths never wait on it.

use tocsin_store::Store;
use tocsin_store::alerting::HistoryRow;
use tokio::sync::mpsc;

/// Sends records to the writer.
#[derive(Debug, Clone)]
pub struct History {
    tx: mpsc::UnboundedSender<Msg>,
}

#[derive(Debug)]
enum Msg {
    Record(Box<HistoryRow>),
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl History {
    /// Starts the writer.
    pub fn start(store: Store) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(store, rx));
        Self { tx }
    }

    /// Queues a record.
    pub fn record(&self, row: HistoryRow) {
        // The writer ends only when every sender is gone.
        let _ = self.tx.send(Msg::Record(Box::new(row)));
    }

    /// Waits until everything queued so far is written.
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn write_loop(store: Store, mut rx: mpsc::UnboundedReceiver<Msg>) {
    while let Some(first) = rx.recv().await {
        let mut batch = Vec::new();
        let mut waiters = Vec::new();
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Record(row) => batch.push(*row),
                Msg::Flush(done) => waiters.push(done),
            }
            if batch.len() < 4096 {
                next = rx.try_recv().ok();
            }
        }
        if let Err(error) = store.alerting().insert_history(&batch).await {
            tracing::error!(%error, records = batch.len(), "cannot write alert history; records lost");
        }
        for done in waiters {
            let _ = done.send(());
        }
    }
}
