-- The ticket's tags (policies match on them, also when a policy's match fields change) and
-- whether a public agent reply was seen (a first_response target added to a policy starts
-- only on tickets not answered yet). Rows stored before this migration get their tags with
-- the ticket's next event.
ALTER TABLE ticket_slas ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE ticket_slas ADD COLUMN agent_replied boolean NOT NULL DEFAULT false;

-- A policy update that changes its match fields (priority, channel, tag) re-matches every
-- ticket of its tenant: the replan names the tenant, and the sweep walks its tickets in
-- ticket_id order (the primary key; no index by tenant: every index costs each of the
-- frequent ticket-row updates an entry, for a rare settings change).
ALTER TABLE replans ADD COLUMN tenant_id text NOT NULL DEFAULT '';
