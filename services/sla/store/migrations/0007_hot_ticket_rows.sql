-- Cheaper row work per event and per timer (measured in bench/sla_bench.cc, README):
--
-- The earliest due warning or breach of each ticket moves to its own narrow table, so the
-- ticket row's frequent updates no longer change an indexed column and are HOT (no new
-- index entries; fillfactor leaves each page room for the new version). A ticket with
-- nothing due has no timers row.
CREATE TABLE timers (
  ticket_id text        PRIMARY KEY,
  next_due  timestamptz NOT NULL
);
-- The timer sweep: due tickets, earliest first.
CREATE INDEX timers_next_due ON timers (next_due);
INSERT INTO timers (ticket_id, next_due)
  SELECT ticket_id, next_due FROM ticket_slas WHERE next_due IS NOT NULL;
DROP INDEX ticket_slas_next_due;
ALTER TABLE ticket_slas DROP COLUMN next_due;

-- Room on each page for the next version of a row (HOT updates of tickets and clocks).
ALTER TABLE ticket_slas SET (fillfactor = 70);
ALTER TABLE clocks SET (fillfactor = 70);

-- Idempotence is the ticket's `sequence` (ARCHITECTURE.md: the ticket's version after the
-- change): an event at or below the ticket row's last_sequence changes nothing, and the
-- row is locked and written in the transaction that applies the event. The per-event row
-- was a second record of the same fact.
DROP TABLE processed_events;

-- The foreign keys to ticket_slas cost each inserted ledger or clock row a lookup and a
-- FOR KEY SHARE lock on a ticket row the same transaction already holds FOR UPDATE: these
-- rows are only written by the transaction that locked (or created) their ticket row, and
-- ticket rows are never deleted.
ALTER TABLE clocks DROP CONSTRAINT clocks_ticket_id_fkey;
ALTER TABLE ledger DROP CONSTRAINT ledger_ticket_id_fkey;
