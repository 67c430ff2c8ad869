-- Each notification gets an id (16 hex digits) carried in its payload, so feedback can name
-- exactly the notification it is about; the noise report reads feedback by that link.
ALTER TABLE alerting_history ADD COLUMN notification_id TEXT;
CREATE INDEX alerting_history_notification ON alerting_history (notification_id);
ALTER TABLE alerting_feedback ADD COLUMN notification_id TEXT;
