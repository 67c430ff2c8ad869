-- On-call (tocsin-oncall). Instants are Unix milliseconds.
-- Directory objects made through the API (users, teams, services, schedules, policies) as
-- JSON of the same shape as the YAML files; files win for the ids they define.
CREATE TABLE oncall_objects (
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
-- Overrides and swaps made through the API.
CREATE TABLE oncall_overrides (
    id         TEXT PRIMARY KEY,
    schedule   TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    replaces   TEXT,
    starts_at  BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX oncall_overrides_schedule ON oncall_overrides (schedule, ends_at);
-- One row per escalation; state active|acked|exhausted|resolved. generation counts
-- restarts from step 0 after an acknowledgement expired.
CREATE TABLE oncall_escalations (
    id             TEXT PRIMARY KEY,
    key            TEXT NOT NULL,
    policy         TEXT NOT NULL,
    page           TEXT NOT NULL,
    state          TEXT NOT NULL,
    generation     BIGINT NOT NULL,
    step           BIGINT NOT NULL,
    repeat_no      BIGINT NOT NULL,
    next_at        BIGINT,
    started_at     BIGINT NOT NULL,
    acked_by       TEXT,
    acked_at       BIGINT,
    ack_expires_at BIGINT,
    resolved_at    BIGINT
);
CREATE INDEX oncall_escalations_due ON oncall_escalations (state, next_at);
CREATE INDEX oncall_escalations_key ON oncall_escalations (key, started_at);
-- The escalation that holds a key while it is not resolved: start() is idempotent on it.
CREATE TABLE oncall_active_keys (
    key           TEXT PRIMARY KEY,
    escalation_id TEXT NOT NULL
);
-- Where each round-robin target continues.
CREATE TABLE oncall_round_robin (
    policy     TEXT NOT NULL,
    step       BIGINT NOT NULL,
    next_index BIGINT NOT NULL,
    PRIMARY KEY (policy, step)
);
-- Every notification, written before it is sent (status pending -> sent|failed|unknown).
CREATE TABLE oncall_pages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    escalation_id TEXT NOT NULL,
    generation    BIGINT NOT NULL,
    step          BIGINT NOT NULL,
    repeat_no     BIGINT NOT NULL,
    user_id       TEXT NOT NULL,
    contact       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    status        TEXT NOT NULL,
    sent_at       BIGINT,
    error         TEXT,
    UNIQUE (escalation_id, generation, step, repeat_no, user_id, contact)
);
CREATE INDEX oncall_pages_status ON oncall_pages (status);
CREATE INDEX oncall_pages_user ON oncall_pages (user_id, created_at);
-- The built-in inbox: one item per page to a user.
CREATE TABLE oncall_inbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       TEXT NOT NULL,
    page_id       BIGINT NOT NULL UNIQUE,
    escalation_id TEXT NOT NULL,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    link          TEXT,
    created_at    BIGINT NOT NULL,
    read_at       BIGINT,
    acked_at      BIGINT
);
CREATE INDEX oncall_inbox_user ON oncall_inbox (user_id, created_at);
