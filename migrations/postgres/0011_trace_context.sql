-- The trace of the change that scheduled a reminder (its W3C traceparent), kept on the schedule
-- row and on the webhook delivery, so the reminder fires and is delivered in that trace rather
-- than in one of its own. NULL on rows written before: those start a new trace, as they did.
ALTER TABLE reminder_schedule ADD COLUMN traceparent TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN traceparent TEXT;
