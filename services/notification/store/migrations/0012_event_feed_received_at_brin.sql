-- The feed's retention (PgEventFeed::DeleteReceivedBefore: DELETE ... WHERE received_at <
-- cutoff, once in a while) was the only reader of a b-tree on received_at that every event
-- paid for on insert (a fourth index entry per event beside the heap row and the two
-- unique keys). Rows arrive in received_at order, so a BRIN index (one summary per range
-- of pages, updated only when a range is summarized) finds the old ranges as well for a
-- range delete; ranges not summarized yet are always read, so it never misses a row.
CREATE INDEX event_feed_received_at_brin ON event_feed USING brin (received_at)
  WITH (autosummarize = on);
DROP INDEX event_feed_received_at;
