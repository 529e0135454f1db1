-- Tenants' routing policies. A tenant without a row routes under the default (no overflow
-- stages, 30 s offer timeout, minimum language proficiency 3).
CREATE TABLE routing_policies (
  tenant_id                uuid        PRIMARY KEY,
  overflow_stages          text        NOT NULL DEFAULT '',  -- "after_seconds:relax,..." in order
  offer_timeout_ms         bigint      NOT NULL CHECK (offer_timeout_ms > 0),
  min_language_proficiency smallint    NOT NULL CHECK (min_language_proficiency BETWEEN 1 AND 5),
  version                  bigint      NOT NULL,  -- the etag is derived from it
  update_time              timestamptz NOT NULL
);
