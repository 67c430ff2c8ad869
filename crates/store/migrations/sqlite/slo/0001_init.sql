-- Deploy-gate overrides (tocsin-slo): an append-only audit of who let releases through
-- despite the error-budget policy, and why. Instants are Unix milliseconds.
CREATE TABLE slo_gate_overrides (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    slo        TEXT NOT NULL,
    created_by TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX slo_gate_overrides_slo ON slo_gate_overrides (slo, created_at);
