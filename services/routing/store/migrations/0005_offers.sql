-- Offers: one ticket proposed to one agent until it is answered or lapses. Kept here, not in
-- Redis, so that every replica sees them, they survive a Redis restart (FLUSHALL included),
-- and they change in the same transaction as the event that announces them. The ticket
-- service's assignment stays the truth; an accepted offer only led to it.
CREATE TABLE offers (
  offer_id        uuid        PRIMARY KEY,
  ticket_id       uuid        NOT NULL,
  tenant_id       uuid        NOT NULL,
  agent_id        text        NOT NULL,
  subject         text        NOT NULL DEFAULT '',
  language        text        NOT NULL DEFAULT '',
  priority        smallint    NOT NULL DEFAULT 0,
  guidelines      text        NOT NULL DEFAULT '',
  stage           integer     NOT NULL DEFAULT 0,
  sla_deadline    timestamptz,
  queued_time     timestamptz NOT NULL,  -- when the ticket was queued, for the wait metric
  create_time     timestamptz NOT NULL,
  expire_time     timestamptz NOT NULL,
  -- 1 open, 2 accepted, 3 rejected, 4 expired, 5 withdrawn (OfferState)
  state           smallint    NOT NULL,
  -- sundesk.routing.v1.OfferWithdrawnReason number for withdrawn offers; else 0
  withdraw_reason smallint    NOT NULL DEFAULT 0,
  reason          text        NOT NULL DEFAULT '',  -- the agent's, for rejected ones
  answer_time     timestamptz
);
-- At most one open offer per ticket, whichever replica made it.
CREATE UNIQUE INDEX offers_open_ticket ON offers (ticket_id) WHERE state = 1;
CREATE INDEX offers_open_expiry ON offers (expire_time) WHERE state = 1;
CREATE INDEX offers_agent ON offers (agent_id, state);
-- Who rejected a ticket or let its offer lapse: never offered it again.
CREATE INDEX offers_ticket ON offers (ticket_id);

-- The transactional outbox (libs/kafka/outbox.h) of sundesk.routing.events.v1.
CREATE TABLE outbox (
  id           bigserial   PRIMARY KEY,
  topic        text        NOT NULL,
  key          text        NOT NULL,
  payload      bytea       NOT NULL,
  headers      bytea       NOT NULL DEFAULT ''::bytea,
  event_id     text,
  event_type   text,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
