-- Tickets, their comments and audit history, and the idempotency records of creates and
-- comments. Every change of a ticket bumps `version`; its history row and its outbox
-- event carry the same number.

CREATE TABLE tickets (
  ticket_id             uuid        PRIMARY KEY,
  tenant_id             uuid        NOT NULL REFERENCES tenants (tenant_id),
  subject               text        NOT NULL,
  description           text        NOT NULL DEFAULT '',
  requester_external_id text        NOT NULL DEFAULT '',
  requester_name        text        NOT NULL DEFAULT '',
  requester_email       text        NOT NULL DEFAULT '',
  requester_language    text        NOT NULL DEFAULT '',
  requester_time_zone   text        NOT NULL DEFAULT '',
  channel               smallint    NOT NULL,          -- sundesk.common.v1.Channel number
  priority              smallint    NOT NULL,          -- sundesk.common.v1.Priority number
  language              text        NOT NULL,          -- BCP 47
  category              text        NOT NULL DEFAULT '',
  required_skills       jsonb       NOT NULL DEFAULT '[]',  -- array of strings
  tags                  jsonb       NOT NULL DEFAULT '[]',  -- array of strings
  custom_fields         jsonb       NOT NULL DEFAULT '{}',  -- object of strings
  status                smallint    NOT NULL,          -- sundesk.ticket.v1.TicketStatus number
  assignee_id           text,                          -- NULL: unassigned
  version               bigint      NOT NULL,
  create_time           timestamptz NOT NULL,
  update_time           timestamptz NOT NULL,
  first_response_time   timestamptz,
  solve_time            timestamptz
);
-- Keyset pagination per tenant and order (ListTickets), plus the filters.
CREATE INDEX tickets_tenant_create ON tickets (tenant_id, create_time, ticket_id);
CREATE INDEX tickets_tenant_update ON tickets (tenant_id, update_time, ticket_id);
CREATE INDEX tickets_tenant_priority ON tickets (tenant_id, priority, ticket_id);
CREATE INDEX tickets_create ON tickets (create_time, ticket_id);
CREATE INDEX tickets_tenant_status ON tickets (tenant_id, status, create_time);
CREATE INDEX tickets_assignee ON tickets (assignee_id, create_time) WHERE assignee_id IS NOT NULL;
CREATE INDEX tickets_tenant_language ON tickets (tenant_id, language, create_time);
CREATE INDEX tickets_tags ON tickets USING gin (tags jsonb_path_ops);

CREATE TABLE ticket_comments (
  comment_id  uuid        PRIMARY KEY,
  ticket_id   uuid        NOT NULL REFERENCES tickets (ticket_id),
  tenant_id   uuid        NOT NULL,
  version     bigint      NOT NULL,                  -- the ticket version it produced
  body        text        NOT NULL,
  public      boolean     NOT NULL,
  author_kind smallint    NOT NULL,                  -- sundesk.ticket.v1.AuthorKind number
  author_id   text        NOT NULL,
  create_time timestamptz NOT NULL,
  UNIQUE (ticket_id, version)
);

CREATE TABLE ticket_history (
  ticket_id      uuid        NOT NULL REFERENCES tickets (ticket_id),
  version        bigint      NOT NULL,
  tenant_id      uuid        NOT NULL,
  time           timestamptz NOT NULL,
  actor_role     smallint    NOT NULL,               -- sundesk.common.v1.Role number
  actor_key_id   text        NOT NULL DEFAULT '',
  actor_agent_id text        NOT NULL DEFAULT '',
  action         text        NOT NULL,               -- the event type
  changes        jsonb       NOT NULL DEFAULT '[]',  -- [{"field", "old", "new"}]
  comment_id     uuid,
  event_id       uuid        NOT NULL,
  internal       boolean     NOT NULL DEFAULT false, -- an internal comment: hidden from clients
  PRIMARY KEY (ticket_id, version)
);

-- A served request_id: per tenant and scope ("create", or "comment:<ticket id>"), until
-- expire_time. The primary key is what makes two racing duplicates collide.
CREATE TABLE idempotency_records (
  tenant_id   uuid        NOT NULL,
  scope       text        NOT NULL,
  request_id  text        NOT NULL,
  fingerprint text        NOT NULL,                  -- SHA-256 of the request body
  resource_id uuid        NOT NULL,                  -- the ticket or comment made
  expire_time timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, scope, request_id)
);
CREATE INDEX idempotency_records_expire ON idempotency_records (expire_time);
