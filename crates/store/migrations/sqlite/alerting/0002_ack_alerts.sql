-- The alerts (label hashes, 16 hex digits, as a JSON array) an acknowledgement covers: a
-- firing alert outside this set joining the group undoes the acknowledgement.
ALTER TABLE alerting_acks ADD COLUMN alerts TEXT NOT NULL DEFAULT '[]';
