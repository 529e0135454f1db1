-- Each ticket's SLA state, built from ticket events (tags are not kept: policies are
-- matched on the ticket snapshot each TicketUpdated carries). Migration 3 is the outbox table,
-- kafka::OutboxMigration.
CREATE TABLE ticket_slas (
  ticket_id       text        PRIMARY KEY,
  tenant_id       text        NOT NULL,
  created         boolean     NOT NULL,
  last_sequence   bigint      NOT NULL,
  create_time     timestamptz,
  priority        integer     NOT NULL,
  channel         integer     NOT NULL,
  status          integer     NOT NULL,
  policy_id       text        NOT NULL,
  calendar_id     text        NOT NULL,
  warn_at_percent integer     NOT NULL,
  -- The earliest warning or breach still to fire; NULL when none is.
  next_due        timestamptz
);

-- The timer sweep: due tickets, earliest first.
CREATE INDEX ticket_slas_next_due ON ticket_slas (next_due) WHERE next_due IS NOT NULL;

-- The current cycle of each measured target; durations in nanoseconds of business time.
CREATE TABLE clocks (
  ticket_id     text        NOT NULL REFERENCES ticket_slas (ticket_id),
  metric        integer     NOT NULL,
  cycle         integer     NOT NULL,
  target_ns     bigint      NOT NULL,
  elapsed_ns    bigint      NOT NULL,
  counted_until timestamptz NOT NULL,
  counting      boolean     NOT NULL,
  warned        boolean     NOT NULL,
  breached      boolean     NOT NULL,
  met           boolean     NOT NULL,
  canceled      boolean     NOT NULL,
  start_time    timestamptz NOT NULL,
  stop_time     timestamptz,
  deadline      timestamptz,
  warn_time     timestamptz,
  PRIMARY KEY (ticket_id, metric)
);

-- The hash-chained ledger: each entry is a serialized sundesk.sla.v1.LedgerEntry, whose
-- hash covers its contents and the previous entry's hash. Rows are only ever inserted.
CREATE TABLE ledger (
  ticket_id text   NOT NULL REFERENCES ticket_slas (ticket_id),
  sequence  bigint NOT NULL,
  entry     bytea  NOT NULL,
  PRIMARY KEY (ticket_id, sequence)
);
