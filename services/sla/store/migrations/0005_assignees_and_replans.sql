-- The ticket's assignee: an AGENT key sees the SLA of the tickets assigned to its agent, as
-- it sees those tickets in the ticket service.
ALTER TABLE ticket_slas ADD COLUMN assignee_id text NOT NULL DEFAULT '';
-- The last replan (below) applied to the ticket.
ALTER TABLE ticket_slas ADD COLUMN replanned_through bigint NOT NULL DEFAULT 0;

-- Settings changes that re-plan the running clocks of the tickets they concern, written in
-- the transaction of the change: UpdateCalendar (old_*: the calendar in force before
-- change_time, as in calendars) and UpdatePolicy. A sweep walks the concerned tickets in ticket_id order (after_ticket),
-- and a ticket touched by an event meanwhile applies its pending replans first.
CREATE TABLE replans (
  replan_id    bigserial   PRIMARY KEY,
  calendar_id  text        NOT NULL DEFAULT '',
  policy_id    text        NOT NULL DEFAULT '',
  version      bigint      NOT NULL,
  old_time_zone   text,
  old_always_open boolean,
  old_body        bytea,
  change_time  timestamptz NOT NULL,
  after_ticket text        NOT NULL DEFAULT '',
  done         boolean     NOT NULL DEFAULT false
);
CREATE INDEX replans_pending ON replans (replan_id) WHERE NOT done;

-- The replan sweep: a calendar's or a policy's tickets in ticket_id order.
CREATE INDEX ticket_slas_by_calendar ON ticket_slas (calendar_id, ticket_id);
CREATE INDEX ticket_slas_by_policy ON ticket_slas (policy_id, ticket_id);
