-- Alerting state (tocsin-alerting). Instants are Unix milliseconds.
CREATE TABLE alerting_alerts (
    fingerprint   TEXT PRIMARY KEY,
    labels        TEXT NOT NULL,
    annotations   TEXT NOT NULL,
    starts_at     BIGINT NOT NULL,
    ends_at       BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    generator_url TEXT NOT NULL,
    timeout       BIGINT NOT NULL
);
CREATE TABLE alerting_silences (
    id          TEXT PRIMARY KEY,
    matchers    TEXT NOT NULL,
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    comment     TEXT NOT NULL,
    recurrence  TEXT,
    warn_before BIGINT,
    warned_at   BIGINT
);
CREATE TABLE alerting_nflog (
    receiver   TEXT NOT NULL,
    group_key  TEXT NOT NULL,
    firing     TEXT NOT NULL,
    resolved   TEXT NOT NULL,
    sent_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (receiver, group_key)
);
CREATE TABLE alerting_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    fingerprint TEXT,
    alertname   TEXT,
    service     TEXT,
    group_key   TEXT,
    receiver    TEXT,
    route       TEXT,
    state       TEXT NOT NULL,
    outcome     TEXT,
    detail      TEXT NOT NULL
);
CREATE INDEX alerting_history_at ON alerting_history (at);
CREATE INDEX alerting_history_fingerprint ON alerting_history (fingerprint, at);
CREATE INDEX alerting_history_group ON alerting_history (group_key, at);
CREATE TABLE alerting_acks (
    group_key  TEXT PRIMARY KEY,
    acked_by   TEXT NOT NULL,
    comment    TEXT NOT NULL,
    acked_at   BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE TABLE alerting_feedback (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         BIGINT NOT NULL,
    group_key  TEXT NOT NULL,
    receiver   TEXT NOT NULL,
    route      TEXT NOT NULL,
    alertname  TEXT NOT NULL,
    service    TEXT NOT NULL,
    verdict    TEXT NOT NULL,
    author     TEXT NOT NULL,
    comment    TEXT NOT NULL
);
CREATE INDEX alerting_feedback_at ON alerting_feedback (at);
