-- Each event's payload is stored once, in event_feed (which every consumed event gets),
-- instead of once more in every delivery made from it: a delivery made together with its
-- event's feed row leaves `payload` NULL and the claim reads it from the feed row by
-- (tenant_id, event_id). A delivery keeps its own copy when the feed row already existed
-- (an event consumed again), and the feed's retention moves a payload into the deliveries
-- still without one before it deletes the row (PgEventFeed::DeleteReceivedBefore), so a
-- delivery (retried, or redelivered by an admin later) always finds its event.
ALTER TABLE deliveries ALTER COLUMN payload DROP NOT NULL;
