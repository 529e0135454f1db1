-- Events this service has applied, by consumer and event id: consumers are at-least-once,
-- so a redelivered event is recognised here and changes nothing.
CREATE TABLE processed_events (
  consumer     text        NOT NULL,
  event_id     uuid        NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

-- Lets a retention job delete old rows by age without a full scan.
CREATE INDEX processed_events_processed_at ON processed_events (processed_at);
