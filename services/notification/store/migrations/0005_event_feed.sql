-- Each tenant's events in the order notification received them, for StreamEvents. Positions
-- are drawn from the tenant's row in event_feed_heads inside the transaction that inserts
-- the event, so they commit in position order: a reader that has seen position n never
-- later finds a smaller one appearing (no gaps across reconnects). A redelivered event
-- (same event_id) is not added again; the position it would have had is simply skipped.
CREATE TABLE event_feed_heads (
  tenant_id uuid   PRIMARY KEY,
  position  bigint NOT NULL
);

CREATE TABLE event_feed (
  tenant_id   uuid        NOT NULL,
  position    bigint      NOT NULL,
  event_id    text        NOT NULL,
  event_type  text        NOT NULL,
  payload     bytea       NOT NULL,  -- the serialized sundesk.events.v1.Event
  received_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, position),
  UNIQUE (tenant_id, event_id)
);

-- Lets a retention job delete old rows by age without a full scan.
CREATE INDEX event_feed_received_at ON event_feed (received_at);
