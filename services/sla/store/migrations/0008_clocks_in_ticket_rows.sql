-- Fewer rows per event (README, "Rows written per event"): a ticket event or a timer now
-- writes its ticket's row, at most one ledger row and its timers row, instead of one clock
-- row per changed clock and one ledger row per entry.
--
-- The clocks of a ticket live in its row: `clocks` holds 10 numbers per clock, in metric
-- order: metric, cycle, target_ns, elapsed_ns, counted_until, flags (1 counting, 2 warned,
-- 4 breached, 8 met, 16 canceled), start_time, stop_time, deadline, warn_time; instants are
-- microseconds since the Unix epoch (timestamptz's precision), NULL for none or infinity.
ALTER TABLE ticket_slas ADD COLUMN clocks bigint[] NOT NULL DEFAULT '{}';
-- The copy of sla.timers' next_due (microseconds; NULL: no timers row) the ticket's writer
-- compares with, so that loading a ticket reads no timers row.
ALTER TABLE ticket_slas ADD COLUMN timer_due bigint;
-- The last ledger entry's sequence and hash, all a new entry needs to chain. -1: unknown
-- (rows stored before this migration), read from sla.ledger the first time.
ALTER TABLE ticket_slas ADD COLUMN ledger_sequence bigint NOT NULL DEFAULT -1;
ALTER TABLE ticket_slas ALTER COLUMN ledger_sequence SET DEFAULT 0;
ALTER TABLE ticket_slas ADD COLUMN ledger_hash text NOT NULL DEFAULT '';

CREATE FUNCTION pg_temp.micros(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE AS
  $$ SELECT (extract(epoch FROM t) * 1000000)::bigint $$;

UPDATE ticket_slas t SET clocks = c.clocks FROM (
  SELECT ticket_id, array_agg(v ORDER BY metric, n) AS clocks
  FROM clocks, unnest(ARRAY[
    metric::bigint, cycle::bigint, target_ns, elapsed_ns, pg_temp.micros(counted_until),
    (CASE WHEN counting THEN 1 ELSE 0 END) + (CASE WHEN warned THEN 2 ELSE 0 END) +
      (CASE WHEN breached THEN 4 ELSE 0 END) + (CASE WHEN met THEN 8 ELSE 0 END) +
      (CASE WHEN canceled THEN 16 ELSE 0 END),
    pg_temp.micros(start_time), pg_temp.micros(stop_time), pg_temp.micros(deadline),
    pg_temp.micros(warn_time)]) WITH ORDINALITY AS u (v, n)
  GROUP BY ticket_id) c
WHERE c.ticket_id = t.ticket_id;
UPDATE ticket_slas t SET timer_due = pg_temp.micros(d.next_due) FROM timers d
WHERE d.ticket_id = t.ticket_id;
DROP TABLE clocks;

-- The clocks as rows, for reading (the sundesk_sla_clocks gauge, operators, tests).
CREATE VIEW clocks AS
SELECT t.ticket_id, t.clocks[i + 1]::integer AS metric, t.clocks[i + 2]::integer AS cycle,
       t.clocks[i + 3] AS target_ns, t.clocks[i + 4] AS elapsed_ns,
       timestamptz 'epoch' + t.clocks[i + 5] * interval '1 microsecond' AS counted_until,
       (t.clocks[i + 6] & 1) <> 0 AS counting, (t.clocks[i + 6] & 2) <> 0 AS warned,
       (t.clocks[i + 6] & 4) <> 0 AS breached, (t.clocks[i + 6] & 8) <> 0 AS met,
       (t.clocks[i + 6] & 16) <> 0 AS canceled,
       timestamptz 'epoch' + t.clocks[i + 7] * interval '1 microsecond' AS start_time,
       timestamptz 'epoch' + t.clocks[i + 8] * interval '1 microsecond' AS stop_time,
       timestamptz 'epoch' + t.clocks[i + 9] * interval '1 microsecond' AS deadline,
       timestamptz 'epoch' + t.clocks[i + 10] * interval '1 microsecond' AS warn_time
FROM ticket_slas t, generate_series(0, coalesce(array_length(t.clocks, 1), 0) - 1, 10) AS i;

-- One ledger row per ticket and commit: `entry` is its first entry (`sequence` is that
-- entry's), `more` the entries after it in the same commit, each a varint length and a
-- serialized sundesk.sla.v1.LedgerEntry (NULL: none). Rows written before hold one entry.
ALTER TABLE ledger ADD COLUMN more bytea;
