-- Migration 3 is the transactional outbox (kafka::OutboxMigration, see schema.h): dead
-- letters reach sundesk.notification.dlq.v1 through it.

-- One event on its way to one subscription. Written when the event is consumed, before its
-- offset is committed; (subscription_id, event_id) is unique, so a redelivered event adds
-- nothing.
CREATE TABLE deliveries (
  delivery_id       uuid        PRIMARY KEY,  -- UUIDv7: id order is creation order
  subscription_id   uuid        NOT NULL REFERENCES subscriptions (subscription_id),
  tenant_id         uuid        NOT NULL,
  event_id          text        NOT NULL,
  event_type        text        NOT NULL,
  event_time        timestamptz,
  payload           bytea       NOT NULL,  -- the serialized sundesk.events.v1.Event
  state             smallint    NOT NULL CHECK (state BETWEEN 1 AND 4),  -- DeliveryState
  attempts          integer     NOT NULL DEFAULT 0,
  last_error        text        NOT NULL DEFAULT '',
  last_http_status  integer     NOT NULL DEFAULT 0,
  create_time       timestamptz NOT NULL,
  last_attempt_time timestamptz,
  next_attempt_time timestamptz,  -- due time while PENDING or RETRYING
  deliver_time      timestamptz,
  -- A dispatcher that claimed the delivery owns it until then; after a crash another
  -- takes it over once this passes.
  lease_until       timestamptz,
  UNIQUE (subscription_id, event_id)
);

CREATE INDEX deliveries_due ON deliveries (next_attempt_time) WHERE state IN (1, 2);
CREATE INDEX deliveries_tenant ON deliveries (tenant_id, delivery_id);
CREATE INDEX deliveries_subscription ON deliveries (subscription_id, delivery_id);
