-- Routing's own copy of the tickets it places, built from sundesk.ticket.events.v1 (events
-- apply only when newer than `version`), and the queue they form: a ticket waits while
-- `queued_time` is set (no assignee, neither SOLVED nor CLOSED). Kept here so the queue
-- survives a restart of routing, SIGKILL included.
CREATE TABLE tickets (
  ticket_id       uuid        PRIMARY KEY,
  tenant_id       uuid        NOT NULL,
  subject         text        NOT NULL DEFAULT '',
  language        text        NOT NULL DEFAULT '',  -- BCP 47
  priority        smallint    NOT NULL DEFAULT 0,   -- sundesk.common.v1.Priority number
  required_skills text[]      NOT NULL DEFAULT '{}',
  status          smallint    NOT NULL,             -- sundesk.ticket.v1.TicketStatus number
  assignee_id     text        NOT NULL DEFAULT '',
  version         bigint      NOT NULL,             -- of the last event applied
  queued_time     timestamptz                       -- NULL: not waiting for an agent
);
CREATE INDEX tickets_queued ON tickets (tenant_id, queued_time) WHERE queued_time IS NOT NULL;

-- SLA deadlines at risk (SlaWarning, SlaBreached), the earliest per ticket. Apart from
-- `tickets` because the SLA topic may deliver before the ticket topic does.
CREATE TABLE ticket_sla_at_risk (
  ticket_id uuid        PRIMARY KEY,
  deadline  timestamptz NOT NULL
);
