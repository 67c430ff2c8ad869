-- Incident state (tocsin-incident). Instants are Unix milliseconds; JSON columns are TEXT.
CREATE TABLE incident_incidents (
    id                BIGSERIAL PRIMARY KEY,
    title             TEXT NOT NULL,
    service           TEXT NOT NULL,
    team              TEXT NOT NULL,
    severity          TEXT NOT NULL,
    status            TEXT NOT NULL,
    source_kind       TEXT NOT NULL,
    source_key        TEXT,
    open_key          TEXT UNIQUE,
    detected_at       BIGINT,
    opened_at         BIGINT NOT NULL,
    acknowledged_at   BIGINT,
    mitigated_at      BIGINT,
    resolved_at       BIGINT,
    closed_at         BIGINT,
    cancelled_at      BIGINT,
    commander         TEXT,
    scribe            TEXT,
    communications    TEXT,
    runbook_url       TEXT,
    labels            TEXT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX incident_incidents_opened ON incident_incidents (opened_at);
CREATE TABLE incident_timeline (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT,
    message     TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, at);
CREATE TABLE incident_alerts (
    incident_id BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    labels      TEXT NOT NULL,
    starts_at   BIGINT NOT NULL,
    resolved_at BIGINT,
    PRIMARY KEY (incident_id, fingerprint)
);
CREATE TABLE incident_budget (
    incident_id BIGINT NOT NULL,
    slo         TEXT NOT NULL,
    consumed    DOUBLE PRECISION NOT NULL,
    bad_events  DOUBLE PRECISION,
    total_events DOUBLE PRECISION,
    at          BIGINT NOT NULL,
    PRIMARY KEY (incident_id, slo)
);
CREATE TABLE incident_postmortems (
    incident_id BIGINT PRIMARY KEY,
    status      TEXT NOT NULL,
    markdown    TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE TABLE incident_action_items (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL,
    title       TEXT NOT NULL,
    owner       TEXT NOT NULL,
    due_at      BIGINT,
    priority    TEXT NOT NULL,
    link        TEXT,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX incident_action_items_incident ON incident_action_items (incident_id);
CREATE TABLE incident_runbook_runs (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL,
    action      TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    run_trigger TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    invocation  TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    exit_status BIGINT,
    output      TEXT NOT NULL,
    truncated   BIGINT NOT NULL
);
CREATE INDEX incident_runbook_runs_incident ON incident_runbook_runs (incident_id);
CREATE TABLE incident_changes (
    id        BIGSERIAL PRIMARY KEY,
    service   TEXT NOT NULL,
    at        BIGINT NOT NULL,
    summary   TEXT NOT NULL,
    source    TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX incident_changes_service ON incident_changes (service, at);
