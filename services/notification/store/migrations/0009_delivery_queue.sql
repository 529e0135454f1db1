-- The deliveries still to be attempted (PENDING or RETRYING), apart from `deliveries`, so
-- scheduling touches only these narrow rows: a claim leases queue rows, a retry moves its
-- queue row's due time, and a final outcome (DELIVERED, DEAD) deletes the queue row and
-- updates `deliveries` in columns no index holds, so that update is HOT (fillfactor 60,
-- migration 0007) and adds no index entries.
CREATE TABLE delivery_queue (
  delivery_id       uuid        PRIMARY KEY,  -- deliveries.delivery_id (no foreign key: its
                                              -- check would lock the deliveries row on every
                                              -- insert; rows are deleted together instead)
  next_attempt_time timestamptz NOT NULL,
  -- A dispatcher that claimed the delivery owns it until then; after a crash another
  -- takes it over once this passes.
  lease_until       timestamptz
);

-- Due order, and a leased row out of the way until its lease runs out: the key is when
-- the row may next be claimed (GREATEST ignores a NULL lease). A claim moves its rows to
-- the back, so claims never walk past deliveries that are in flight.
CREATE INDEX delivery_queue_due ON delivery_queue ((GREATEST(next_attempt_time, lease_until)));

INSERT INTO delivery_queue (delivery_id, next_attempt_time, lease_until)
SELECT delivery_id, COALESCE(next_attempt_time, create_time), lease_until
FROM deliveries WHERE state IN (1, 2);

-- `state` was in this index's predicate, so no outcome could be a HOT update.
DROP INDEX deliveries_due;
ALTER TABLE deliveries DROP COLUMN lease_until;
