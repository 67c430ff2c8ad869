//! History of every alert state change and notification: written to the state store in
//! batches by a background task so the hot paths never wait on it.

use std::time::Duration;

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

/// How long the writer gathers records after the first of a batch. An alert storm's state
/// changes arrive within milliseconds; written after the burst in one transaction, they do not
/// compete with the storm's own (acknowledged, so synchronous) alert writes for the store's
/// single writer. Without this, the history cost more than half the storm's intake time.
const LINGER: Duration = Duration::from_millis(250);
/// Most records written in one transaction.
const MAX_BATCH: usize = 16_384;

async fn write_loop(store: Store, mut rx: mpsc::UnboundedReceiver<Msg>) {
    while let Some(first) = rx.recv().await {
        let mut batch = Vec::new();
        let mut waiters = Vec::new();
        let deadline = tokio::time::Instant::now() + LINGER;
        let mut next = Some(first);
        loop {
            match next.take() {
                Some(Msg::Record(row)) => batch.push(*row),
                Some(Msg::Flush(done)) => waiters.push(done),
                None => {}
            }
            // Someone waits for a flush, or the batch is full: write what has arrived.
            if !waiters.is_empty() || batch.len() >= MAX_BATCH {
                break;
            }
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(msg) => next = Some(msg),
                    None => break,
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Msg::Record(row)) => batch.push(*row),
                Ok(Msg::Flush(done)) => waiters.push(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty()
            && let Err(error) = store.alerting().insert_history(&batch).await
        {
            tracing::error!(%error, records = batch.len(), "cannot write alert history; records lost");
        }
        for done in waiters {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use tocsin_store::alerting::{FEATURE, HistoryFilter, HistoryRow};

    use super::*;

    fn row(at: i64) -> HistoryRow {
        HistoryRow {
            id: 0,
            at,
            kind: "alert".to_owned(),
            fingerprint: Some(format!("{at:016x}")),
            alertname: Some("Storm".to_owned()),
            service: None,
            group_key: None,
            receiver: None,
            route: None,
            state: "firing".to_owned(),
            outcome: None,
            notification_id: None,
            detail: "{}".to_owned(),
        }
    }

    #[tokio::test]
    async fn every_record_is_written_across_batches_and_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("state.db"))
            .await
            .unwrap();
        store.migrate(&FEATURE).await.unwrap();
        let history = History::start(store.clone());
        // More than one transaction's worth, then a flush in the middle of a second burst.
        let first = i64::try_from(MAX_BATCH).unwrap() + 10;
        for at in 0..first {
            history.record(row(at));
        }
        history.flush().await;
        let stored = |store: Store| async move {
            store
                .alerting()
                .query_history(&HistoryFilter {
                    limit: Some(1_000_000),
                    ..HistoryFilter::default()
                })
                .await
                .unwrap()
                .len()
        };
        assert_eq!(stored(store.clone()).await, MAX_BATCH + 10);
        for at in first..first + 5 {
            history.record(row(at));
        }
        history.flush().await;
        assert_eq!(stored(store.clone()).await, MAX_BATCH + 15);
    }
}
