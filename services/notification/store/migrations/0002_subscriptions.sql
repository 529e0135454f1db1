-- A tenant's subscriptions. Deleting one marks it (delete_time) so that a retried create
-- with the same request_id still finds what the first call made.
CREATE TABLE subscriptions (
  subscription_id     uuid        PRIMARY KEY,  -- UUIDv7: id order is creation order
  tenant_id           uuid        NOT NULL,
  event_types         text[]      NOT NULL DEFAULT '{}',  -- empty: every type
  channel             smallint    NOT NULL CHECK (channel IN (1, 2)),  -- 1 webhook, 2 email
  target              text        NOT NULL,  -- webhook URL or email address
  -- The webhook's HMAC key, kept as given because the sender signs with it; never
  -- returned by the API.
  webhook_secret      text        NOT NULL DEFAULT '',
  display_name        text        NOT NULL DEFAULT '',
  request_id          text,
  request_fingerprint text,
  create_time         timestamptz NOT NULL,
  delete_time         timestamptz
);

CREATE UNIQUE INDEX subscriptions_request ON subscriptions (tenant_id, request_id)
  WHERE request_id IS NOT NULL;
CREATE INDEX subscriptions_live ON subscriptions (tenant_id, subscription_id)
  WHERE delete_time IS NULL;
