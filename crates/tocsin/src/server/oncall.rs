//! The on-call stage in the server: the directory from `oncall.files` (globs relative to the
//! configuration file) merged with objects and overrides made through the API (kept in the
//! state store; files win), the escalation engine ticking every second, and the
//! `/api/tocsin/v1/oncall/…` API.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use jiff::Timestamp;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::json;
use tocsin_api::{ApiFuture, ApiResult, OncallApi, Params, TextFuture};
use tocsin_config::Config;
use tocsin_oncall::directory::{Kind, OverrideSpec, check_override};
use tocsin_oncall::{Channels, Directory, DirectoryBuilder, Escalator, Page, SystemClock};
use tocsin_store::Store;
use tocsin_store::oncall::{ObjectRow, OverrideRow};
use tokio_util::sync::CancellationToken;

use super::reload::{ReloadCommit, commit};

/// Reads the files `oncall.files` names, as (name, text).
pub(crate) fn read_files(
    config: &Config,
    base_dir: &Path,
) -> Result<Vec<(String, String)>, String> {
    let base_dir = if base_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base_dir
    };
    let mut out = Vec::new();
    for pattern in &config.oncall.files {
        let paths = tocsin_rules::file::glob(base_dir, pattern)
            .map_err(|e| format!("oncall.files {pattern:?}: {e}"))?;
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("{}: cannot read on-call file: {e}", path.display()))?;
            out.push((path.display().to_string(), text));
        }
    }
    Ok(out)
}

/// Checks the on-call files of a configuration (for `tocsin check config`).
pub(crate) fn check_files(config: &Config, base_dir: &Path) -> Result<usize, String> {
    let files = read_files(config, base_dir)?;
    let directory = Directory::from_files(&files).map_err(|e| e.to_string())?;
    Ok(directory.users.len())
}

fn build(
    files: &[(String, String)],
    objects: &[ObjectRow],
    overrides: &[OverrideRow],
) -> Result<Directory, String> {
    let mut builder = DirectoryBuilder::new();
    for (name, text) in files {
        builder.add_file(name, text).map_err(|e| e.to_string())?;
    }
    for kind in Kind::ALL {
        for o in objects.iter().filter(|o| o.kind == kind.name()) {
            builder.add_api(kind, &o.body).map_err(|e| e.to_string())?;
        }
    }
    let directory = builder.build().map_err(|e| e.to_string())?;
    for (kind, id) in directory.shadowed() {
        tracing::warn!(
            kind = kind.name(),
            id,
            "an on-call object made through the API is shadowed by a directory file; the file wins"
        );
    }
    Ok(directory.with_overrides(overrides))
}

/// The running on-call stage.
pub(crate) struct OncallStage {
    store: Store,
    escalator: Arc<Escalator>,
    files: Mutex<Vec<(String, String)>>,
    objects: Mutex<Vec<ObjectRow>>,
    overrides: Mutex<Vec<OverrideRow>>,
    // API edits rebuild the directory one at a time.
    edit: tokio::sync::Mutex<()>,
    cancel: CancellationToken,
    ticker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for OncallStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OncallStage").finish_non_exhaustive()
    }
}

fn err(e: impl std::fmt::Display, status: u16) -> (u16, String) {
    (status, e.to_string())
}

fn oncall_error(e: tocsin_oncall::Error) -> (u16, String) {
    use tocsin_oncall::Error as E;
    let status = match &e {
        E::NotFound { .. } => 404,
        E::Invalid(_) | E::BadRequest(_) => 400,
        E::DefinedInFile { .. } => 409,
        E::Store(_) => 500,
    };
    (status, e.to_string())
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// RFC 3339, or Unix seconds.
pub(crate) fn parse_time(text: &str, what: &str) -> Result<Timestamp, (u16, String)> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(secs) = text.parse::<f64>()
        && secs.is_finite()
    {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "checked finite, ms resolution"
        )]
        let ms = (secs * 1000.0).round() as i64;
        return Timestamp::from_millisecond(ms).map_err(|e| err(e, 400));
    }
    Err((
        400,
        format!(
            "{what} {text:?} is not a time; use RFC 3339 (2026-03-29T09:00:00Z) or Unix seconds"
        ),
    ))
}

fn range(params: &Params, default_days: i64) -> Result<(Timestamp, Timestamp), (u16, String)> {
    let now = Timestamp::now();
    let from = match param(params, "from") {
        Some(t) => parse_time(t, "from")?,
        None => now,
    };
    let to = match param(params, "to") {
        Some(t) => parse_time(t, "to")?,
        None => from + jiff::SignedDuration::from_hours(24 * default_days),
    };
    Ok((from, to))
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, (u16, String)> {
    serde_json::from_slice(body).map_err(|e| (400, format!("invalid JSON body: {e}")))
}

fn user_of<'a>(
    d: &'a Directory,
    id: &str,
) -> Result<&'a tocsin_oncall::directory::User, (u16, String)> {
    d.user(id).map_err(oncall_error)
}

impl OncallStage {
    /// Opens the store, loads the directory, and starts the escalation ticker.
    pub(crate) async fn start(
        config: &Config,
        base_dir: &Path,
        data_dir: &Path,
        registry: &tocsin_telemetry::Registry,
    ) -> anyhow::Result<Arc<Self>> {
        let store = Store::open(&config.storage.state, data_dir)
            .await
            .context("cannot open the state store for on-call")?;
        store
            .migrate(&tocsin_store::oncall::FEATURE)
            .await
            .context("cannot migrate the on-call tables")?;
        let files = read_files(config, base_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
        let objects = store.oncall().list_objects().await?;
        let overrides = store.oncall().list_overrides().await?;
        let directory = build(&files, &objects, &overrides).map_err(|e| anyhow::anyhow!("{e}"))?;
        let clock: Arc<dyn tocsin_oncall::Clock> = Arc::new(SystemClock);
        let base: PathBuf = if base_dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base_dir.to_path_buf()
        };
        let channels = Channels::new(
            store.clone(),
            directory.smtp.as_ref(),
            &base,
            Arc::clone(&clock),
        )
        .map_err(|e| anyhow::anyhow!("on-call: {e}"))?;
        tracing::info!(
            users = directory.users.len(),
            schedules = directory.schedules.len(),
            policies = directory.policies.len(),
            "on-call directory loaded"
        );
        let escalator = Arc::new(
            Escalator::open(
                store.clone(),
                Arc::new(directory),
                clock,
                Arc::new(channels),
            )
            .await?
            .with_metrics(tocsin_oncall::OncallMetrics::register(registry)?),
        );
        let stage = Arc::new(Self {
            store,
            escalator: Arc::clone(&escalator),
            files: Mutex::new(files),
            objects: Mutex::new(objects),
            overrides: Mutex::new(overrides),
            edit: tokio::sync::Mutex::new(()),
            cancel: CancellationToken::new(),
            ticker: Mutex::new(None),
        });
        let cancel = stage.cancel.clone();
        let ticker = tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_secs(1));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    _ = interval.tick() => {
                        if let Err(error) = escalator.tick(Timestamp::now()).await {
                            tracing::error!(%error, "escalation tick failed; retrying in a second");
                        }
                    }
                }
            }
        });
        *stage.ticker.lock() = Some(ticker);
        Ok(stage)
    }

    /// The escalation engine (for the incident stage and the router's receiver).
    pub(crate) fn escalator(&self) -> Arc<Escalator> {
        Arc::clone(&self.escalator)
    }

    fn rebuild(&self) -> Result<(), String> {
        let files = self.files.lock().clone();
        let objects = self.objects.lock().clone();
        let overrides = self.overrides.lock().clone();
        let directory = build(&files, &objects, &overrides)?;
        self.escalator.set_directory(Arc::new(directory));
        Ok(())
    }

    /// Re-reads `oncall.files` and builds the directory with them; the commit puts it in
    /// force.
    pub(crate) fn prepare_reload(
        self: &Arc<Self>,
        config: &Config,
        base_dir: &Path,
    ) -> Result<ReloadCommit, String> {
        let files = read_files(config, base_dir)?;
        let objects = self.objects.lock().clone();
        let overrides = self.overrides.lock().clone();
        let directory = build(&files, &objects, &overrides)?;
        let stage = Arc::clone(self);
        Ok(commit(move || {
            // An API edit may have landed since the directory was built; build again with
            // it so the commit does not hide it (it was checked against the old files, so
            // a clash with the new ones is possible: then the files win, as at start).
            let objects_now = stage.objects.lock().clone();
            let overrides_now = stage.overrides.lock().clone();
            let directory = if objects_now == objects && overrides_now == overrides {
                directory
            } else {
                build(&files, &objects_now, &overrides_now).unwrap_or_else(|error| {
                    tracing::error!(%error, "an on-call edit made during the reload clashes with the new files; it is left out until the next change");
                    directory
                })
            };
            *stage.files.lock() = files;
            tracing::info!(
                users = directory.users.len(),
                schedules = directory.schedules.len(),
                "on-call directory reloaded"
            );
            stage.escalator.set_directory(Arc::new(directory));
        }))
    }

    /// Stops the ticker (every escalation state change is already in the store).
    pub(crate) async fn stop(&self) {
        self.cancel.cancel();
        let ticker = self.ticker.lock().take();
        if let Some(ticker) = ticker {
            let _ = ticker.await;
        }
    }

    fn directory(&self) -> Arc<Directory> {
        self.escalator.directory()
    }

    fn kind(kind: &str) -> Result<Kind, (u16, String)> {
        Kind::from_plural(kind).ok_or_else(|| {
            (
                404,
                format!("no on-call collection {kind:?}; use users, teams, services, schedules or escalation_policies"),
            )
        })
    }

    async fn who_json(&self, params: &Params) -> ApiResult {
        let at = match param(params, "at") {
            Some(t) => parse_time(t, "at")?,
            None => Timestamp::now(),
        };
        let d = self.directory();
        let ids: Vec<String> = match param(params, "schedule") {
            Some(s) => vec![s.to_owned()],
            None => d.schedules.keys().cloned().collect(),
        };
        let mut rows = Vec::new();
        for id in ids {
            let schedule = d.schedule(&id).map_err(oncall_error)?;
            let shifts = schedule.who(at).map_err(oncall_error)?;
            rows.push(json!({
                "schedule": id,
                "name": schedule.name,
                "on_call": shifts.iter().map(|s| json!({
                    "user": s.user,
                    "name": d.users.get(&s.user).map(|u| u.display_name().to_owned()),
                    "start": s.start,
                    "end": s.end,
                    "source": s.source,
                })).collect::<Vec<_>>(),
            }));
        }
        Ok(json!({ "at": at, "schedules": rows }))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    user: String,
    #[serde(default)]
    replaces: Option<String>,
    start: Timestamp,
    end: Timestamp,
    #[serde(default)]
    by: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    key: String,
    policy: String,
    page: Page,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    key: String,
    by: String,
    #[serde(default)]
    expires: Option<Timestamp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    key: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InboxAckBody {
    #[serde(default)]
    expires: Option<Timestamp>,
}

fn escalation_json(row: &tocsin_store::oncall::EscalationRow) -> serde_json::Value {
    let at = |ms: Option<i64>| ms.and_then(|m| Timestamp::from_millisecond(m).ok());
    json!({
        "id": row.id,
        "key": row.key,
        "policy": row.policy,
        "page": serde_json::from_str::<serde_json::Value>(&row.page).unwrap_or_default(),
        "state": row.state,
        "generation": row.generation,
        "step": row.step,
        "repeat": row.repeat_no,
        "next_at": at(row.next_at),
        "started_at": at(Some(row.started_at)),
        "acked_by": row.acked_by,
        "acked_at": at(row.acked_at),
        "ack_expires_at": at(row.ack_expires_at),
        "resolved_at": at(row.resolved_at),
    })
}

impl OncallApi for OncallStage {
    fn who(&self, params: Params) -> ApiFuture<'_> {
        Box::pin(async move { self.who_json(&params).await })
    }

    fn list(&self, kind: String) -> ApiFuture<'_> {
        Box::pin(async move {
            let kind = Self::kind(&kind)?;
            Ok(json!({ "items": self.directory().list(kind) }))
        })
    }

    fn get(&self, kind: String, id: String) -> ApiFuture<'_> {
        Box::pin(async move {
            let k = Self::kind(&kind)?;
            self.directory()
                .list(k)
                .into_iter()
                .find(|v| v["id"] == id.as_str())
                .ok_or_else(|| (404, format!("no {} named {id:?}", k.name())))
        })
    }

    fn put(&self, kind: String, id: String, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let k = Self::kind(&kind)?;
            let _edit = self.edit.lock().await;
            let d = self.directory();
            if let Some(origin) = d.origin(k, &id).filter(|o| o.is_file()) {
                return Err(oncall_error(tocsin_oncall::Error::DefinedInFile {
                    kind: k.name(),
                    id,
                    origin: origin.to_string(),
                }));
            }
            let mut value: serde_json::Value = json_body(&body)?;
            match value.get("id") {
                None => {
                    if let Some(obj) = value.as_object_mut() {
                        obj.insert("id".into(), id.clone().into());
                    }
                }
                Some(v) if v == id.as_str() => {}
                Some(v) => {
                    return Err((
                        400,
                        format!("the body's id {v} differs from the path's {id:?}"),
                    ));
                }
            }
            let row = ObjectRow {
                kind: k.name().to_owned(),
                id: id.clone(),
                body: value.to_string(),
                updated_at: Timestamp::now().as_millisecond(),
                updated_by: "api".to_owned(),
            };
            // Check the directory with the change before storing it.
            let mut objects = self.objects.lock().clone();
            objects.retain(|o| !(o.kind == row.kind && o.id == row.id));
            objects.push(row.clone());
            let files = self.files.lock().clone();
            let overrides = self.overrides.lock().clone();
            let directory = build(&files, &objects, &overrides).map_err(|e| err(e, 400))?;
            self.store
                .oncall()
                .put_object(&row)
                .await
                .map_err(|e| err(e, 500))?;
            *self.objects.lock() = objects;
            self.escalator.set_directory(Arc::new(directory));
            Ok(json!({ "status": "stored", "kind": k.name(), "id": id }))
        })
    }

    fn delete(&self, kind: String, id: String) -> ApiFuture<'_> {
        Box::pin(async move {
            let k = Self::kind(&kind)?;
            let _edit = self.edit.lock().await;
            if let Some(origin) = self.directory().origin(k, &id).filter(|o| o.is_file()) {
                return Err(oncall_error(tocsin_oncall::Error::DefinedInFile {
                    kind: k.name(),
                    id,
                    origin: origin.to_string(),
                }));
            }
            let mut objects = self.objects.lock().clone();
            let before = objects.len();
            objects.retain(|o| !(o.kind == k.name() && o.id == id));
            if objects.len() == before {
                return Err((
                    404,
                    format!("no {} named {id:?} made through the API", k.name()),
                ));
            }
            let files = self.files.lock().clone();
            let overrides = self.overrides.lock().clone();
            let directory = build(&files, &objects, &overrides)
                .map_err(|e| (409, format!("cannot delete {} {id:?}: {e}", k.name())))?;
            self.store
                .oncall()
                .delete_object(k.name(), &id)
                .await
                .map_err(|e| err(e, 500))?;
            *self.objects.lock() = objects;
            self.escalator.set_directory(Arc::new(directory));
            Ok(json!({ "status": "deleted", "kind": k.name(), "id": id }))
        })
    }

    fn shifts(&self, schedule: String, params: Params) -> ApiFuture<'_> {
        Box::pin(async move {
            let (from, to) = range(&params, 7)?;
            let d = self.directory();
            let shifts = d
                .schedule(&schedule)
                .and_then(|s| s.shifts(from, to))
                .map_err(oncall_error)?;
            let gaps = tocsin_oncall::schedule::gaps(&shifts, from, to);
            Ok(json!({
                "schedule": schedule,
                "from": from,
                "to": to,
                "shifts": shifts,
                "gaps": gaps.iter().map(|(s, e)| json!({"start": s, "end": e})).collect::<Vec<_>>(),
            }))
        })
    }

    fn report(&self, schedule: String, params: Params) -> ApiFuture<'_> {
        Box::pin(async move {
            let (from, to) = range(&params, 28)?;
            let d = self.directory();
            let shifts = d
                .schedule(&schedule)
                .and_then(|s| s.shifts(from, to))
                .map_err(oncall_error)?;
            let pages = self
                .store
                .oncall()
                .pages(from.as_millisecond(), to.as_millisecond(), None)
                .await
                .map_err(|e| err(e, 500))?;
            let report = tocsin_oncall::report::build(&d, &schedule, from, to, &shifts, &pages);
            serde_json::to_value(report).map_err(|e| err(e, 500))
        })
    }

    fn overrides(&self, schedule: String) -> ApiFuture<'_> {
        Box::pin(async move {
            let d = self.directory();
            let s = d.schedule(&schedule).map_err(oncall_error)?;
            Ok(json!({
                "schedule": schedule,
                "overrides": s.overrides.iter().map(|o| json!({
                    "id": o.id,
                    "origin": if o.id.is_some() { "api" } else { "file" },
                    "user": o.user,
                    "replaces": o.replaces,
                    "start": o.start,
                    "end": o.end,
                })).collect::<Vec<_>>(),
            }))
        })
    }

    fn create_override(&self, schedule: String, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let b: OverrideBody = json_body(&body)?;
            let _edit = self.edit.lock().await;
            let d = self.directory();
            d.schedule(&schedule).map_err(oncall_error)?;
            let spec = OverrideSpec {
                user: b.user,
                replaces: b.replaces,
                start: b.start,
                end: b.end,
            };
            check_override(&spec, &|u| d.users.contains_key(u))
                .map_err(|m| (400, format!("override: {m}")))?;
            let row = OverrideRow {
                id: uuid::Uuid::new_v4().to_string(),
                schedule: schedule.clone(),
                user_id: spec.user.clone(),
                replaces: spec.replaces.clone(),
                starts_at: spec.start.as_millisecond(),
                ends_at: spec.end.as_millisecond(),
                created_by: b.by.unwrap_or_else(|| "api".to_owned()),
                created_at: Timestamp::now().as_millisecond(),
            };
            self.store
                .oncall()
                .insert_override(&row)
                .await
                .map_err(|e| err(e, 500))?;
            self.overrides.lock().push(row.clone());
            self.rebuild().map_err(|e| err(e, 500))?;
            Ok(json!({ "status": "stored", "id": row.id }))
        })
    }

    fn delete_override(&self, schedule: String, id: String) -> ApiFuture<'_> {
        Box::pin(async move {
            let _edit = self.edit.lock().await;
            let known = self
                .overrides
                .lock()
                .iter()
                .any(|o| o.id == id && o.schedule == schedule);
            if !known {
                return Err((
                    404,
                    format!("schedule {schedule:?} has no override {id:?} made through the API"),
                ));
            }
            self.store
                .oncall()
                .delete_override(&id)
                .await
                .map_err(|e| err(e, 500))?;
            self.overrides.lock().retain(|o| o.id != id);
            self.rebuild().map_err(|e| err(e, 500))?;
            Ok(json!({ "status": "deleted", "id": id }))
        })
    }

    fn inbox(&self, user: String, params: Params) -> ApiFuture<'_> {
        Box::pin(async move {
            user_of(&self.directory(), &user)?;
            let unread = param(&params, "unread") == Some("true");
            let limit = match param(&params, "limit") {
                Some(l) => l
                    .parse::<i64>()
                    .map_err(|_| (400, format!("limit {l:?} is not a number")))?,
                None => 100,
            }
            .clamp(1, 1000);
            let items = self
                .store
                .oncall()
                .inbox(&user, unread, limit)
                .await
                .map_err(|e| err(e, 500))?;
            let at = |ms: Option<i64>| ms.and_then(|m| Timestamp::from_millisecond(m).ok());
            let mut out = Vec::new();
            for item in items {
                let key = self
                    .store
                    .oncall()
                    .escalation(&item.escalation_id)
                    .await
                    .map_err(|e| err(e, 500))?
                    .map(|e| (e.key, e.state));
                out.push(json!({
                    "id": item.id,
                    "title": item.title,
                    "body": item.body,
                    "link": item.link,
                    "created_at": at(Some(item.created_at)),
                    "read_at": at(item.read_at),
                    "acked_at": at(item.acked_at),
                    "escalation_key": key.as_ref().map(|k| k.0.clone()),
                    "escalation_state": key.map(|k| k.1),
                }));
            }
            Ok(json!({ "user": user, "items": out }))
        })
    }

    fn inbox_ack(&self, user: String, item: String, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            user_of(&self.directory(), &user)?;
            let b: InboxAckBody = if body.is_empty() {
                InboxAckBody::default()
            } else {
                json_body(&body)?
            };
            let id: i64 = item
                .parse()
                .map_err(|_| (400, format!("inbox item {item:?} is not a number")))?;
            let row = self
                .store
                .oncall()
                .inbox_item(id)
                .await
                .map_err(|e| err(e, 500))?
                .filter(|r| r.user_id == user)
                .ok_or_else(|| (404, format!("user {user:?} has no inbox item {id}")))?;
            let escalation = self
                .store
                .oncall()
                .escalation(&row.escalation_id)
                .await
                .map_err(|e| err(e, 500))?
                .ok_or_else(|| (404, "the item's escalation no longer exists".to_owned()))?;
            self.store
                .oncall()
                .mark_read(id, Timestamp::now().as_millisecond())
                .await
                .map_err(|e| err(e, 500))?;
            if escalation.state == "resolved" {
                return Err((
                    409,
                    format!("escalation {:?} is already resolved", escalation.key),
                ));
            }
            self.escalator
                .ack(&escalation.key, &user, b.expires)
                .await
                .map_err(oncall_error)?;
            Ok(json!({ "status": "acknowledged", "key": escalation.key, "by": user }))
        })
    }

    fn escalations(&self, params: Params) -> ApiFuture<'_> {
        Box::pin(async move {
            let all = param(&params, "all") == Some("true");
            let rows = self
                .store
                .oncall()
                .list_escalations(!all, 500)
                .await
                .map_err(|e| err(e, 500))?;
            Ok(json!({ "escalations": rows.iter().map(escalation_json).collect::<Vec<_>>() }))
        })
    }

    fn start_escalation(&self, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let b: StartBody = json_body(&body)?;
            let outcome = self
                .escalator
                .start(&b.key, &b.policy, b.page)
                .await
                .map_err(oncall_error)?;
            serde_json::to_value(outcome).map_err(|e| err(e, 500))
        })
    }

    fn ack_escalation(&self, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let b: AckBody = json_body(&body)?;
            self.escalator
                .ack(&b.key, &b.by, b.expires)
                .await
                .map_err(oncall_error)?;
            Ok(json!({ "status": "acknowledged", "key": b.key }))
        })
    }

    fn resolve_escalation(&self, body: Bytes) -> ApiFuture<'_> {
        Box::pin(async move {
            let b: ResolveBody = json_body(&body)?;
            self.escalator.resolve(&b.key).await.map_err(oncall_error)?;
            Ok(json!({ "status": "resolved", "key": b.key }))
        })
    }

    fn ical(&self, kind: String, id: String, params: Params) -> TextFuture<'_> {
        Box::pin(async move {
            let now = Timestamp::now();
            let from = match param(&params, "from") {
                Some(t) => parse_time(t, "from")?,
                None => now - jiff::SignedDuration::from_hours(24 * 7),
            };
            let to = match param(&params, "to") {
                Some(t) => parse_time(t, "to")?,
                None => now + jiff::SignedDuration::from_hours(24 * 60),
            };
            let d = self.directory();
            match kind.as_str() {
                "schedules" => {
                    let s = d.schedule(&id).map_err(oncall_error)?;
                    let shifts = s.shifts(from, to).map_err(oncall_error)?;
                    Ok(tocsin_oncall::ical::calendar(&s.name, &shifts, &d, now))
                }
                "users" => {
                    let user = user_of(&d, &id)?;
                    let mut shifts = Vec::new();
                    for s in d.schedules.values() {
                        shifts.extend(
                            s.shifts(from, to)
                                .map_err(oncall_error)?
                                .into_iter()
                                .filter(|x| x.user == id),
                        );
                    }
                    shifts.sort_by_key(|s| s.start);
                    Ok(tocsin_oncall::ical::calendar(
                        &format!("{} on call", user.display_name()),
                        &shifts,
                        &d,
                        now,
                    ))
                }
                other => Err((
                    404,
                    format!("no iCal feed for {other:?}; use schedules or users"),
                )),
            }
        })
    }
}
