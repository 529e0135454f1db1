-- Client companies served by the outsourcer, and the API keys that act for them.

CREATE TABLE tenants (
  tenant_id        uuid        PRIMARY KEY,
  name             text        NOT NULL,
  time_zone        text        NOT NULL,          -- IANA, e.g. Europe/Stockholm
  default_language text        NOT NULL,          -- BCP 47
  languages        text[]      NOT NULL DEFAULT '{}',
  guidelines       text        NOT NULL DEFAULT '',
  routing_mode     smallint    NOT NULL,          -- sundesk.ticket.v1.RoutingMode number
  version          bigint      NOT NULL DEFAULT 1, -- the etag is derived from it
  request_id       text,                          -- idempotent CreateTenant
  request_hash     bytea,                         -- SHA-256 of that request's body
  create_time      timestamptz NOT NULL,
  update_time      timestamptz NOT NULL
);
CREATE UNIQUE INDEX tenants_request_id ON tenants (request_id) WHERE request_id IS NOT NULL;
CREATE UNIQUE INDEX tenants_name ON tenants (name);
-- ListTenants pages by (create_time, tenant_id).
CREATE INDEX tenants_create_time ON tenants (create_time, tenant_id);

-- Only a salted hash of a key's secret is kept; the secret is shown once, at creation.
-- A key is presented as "sdk_<key_id>_<secret>", found by key_id and checked against the hash.
CREATE TABLE api_keys (
  key_id       uuid        PRIMARY KEY,
  role         smallint    NOT NULL,              -- sundesk.common.v1.Role number
  tenant_id    uuid        REFERENCES tenants (tenant_id),  -- CLIENT keys
  agent_id     text,                              -- AGENT keys
  display_name text        NOT NULL DEFAULT '',
  salt         bytea       NOT NULL,
  secret_hash  bytea       NOT NULL,              -- SHA-256(salt || secret)
  request_id   text,                              -- CreateApiKey's idempotency key
  create_time  timestamptz NOT NULL,
  expire_time  timestamptz,
  revoke_time  timestamptz,
  CHECK (role IN (1, 2, 3)),                     -- ADMIN, CLIENT, AGENT
  CHECK ((role = 2) = (tenant_id IS NOT NULL)),  -- CLIENT keys, and only they, have a tenant
  CHECK ((role = 3) = (agent_id IS NOT NULL))    -- AGENT keys, and only they, have an agent
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id) WHERE tenant_id IS NOT NULL;
CREATE UNIQUE INDEX api_keys_request_id ON api_keys (request_id) WHERE request_id IS NOT NULL;
