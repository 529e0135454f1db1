-- The agent directory: the outsourcer's agents with their languages, skills, client
-- certifications and weekly shifts. Repeated fields live in child tables so that routing
-- and ListAgents can filter on them; an update replaces them whole.

CREATE TABLE agents (
  agent_id     text        PRIMARY KEY,           -- [a-z0-9-]{1,63} or a UUIDv7
  display_name text        NOT NULL,
  capacity     integer     NOT NULL CHECK (capacity >= 1),
  time_zone    text        NOT NULL,              -- IANA; shifts are in it
  tier         integer     NOT NULL CHECK (tier >= 1),
  disabled     boolean     NOT NULL DEFAULT false,
  version      bigint      NOT NULL,              -- the etag is derived from it
  request_id   text,                              -- idempotent CreateAgent
  request_hash bytea,                             -- SHA-256 of that request's body
  create_time  timestamptz NOT NULL,
  update_time  timestamptz NOT NULL
);
CREATE UNIQUE INDEX agents_request_id ON agents (request_id) WHERE request_id IS NOT NULL;
-- ListAgents pages by (display_name, agent_id).
CREATE INDEX agents_display_name ON agents ((display_name COLLATE "C"), agent_id);

CREATE TABLE agent_languages (
  agent_id    text     NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
  position    integer  NOT NULL,                  -- order as given
  code        text     NOT NULL,                  -- BCP 47 as given
  proficiency smallint NOT NULL CHECK (proficiency BETWEEN 1 AND 5),
  PRIMARY KEY (agent_id, position)
);
CREATE INDEX agent_languages_code ON agent_languages (lower(code));

CREATE TABLE agent_skills (
  agent_id text     NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
  position integer  NOT NULL,
  name     text     NOT NULL,
  level    smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
  PRIMARY KEY (agent_id, position)
);
CREATE INDEX agent_skills_name ON agent_skills (name);

CREATE TABLE agent_certifications (
  agent_id    text        NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
  position    integer     NOT NULL,
  tenant_id   uuid        NOT NULL,
  expire_time timestamptz,                        -- NULL: does not lapse
  PRIMARY KEY (agent_id, position)
);
CREATE INDEX agent_certifications_tenant ON agent_certifications (tenant_id);

CREATE TABLE agent_shifts (
  agent_id text     NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
  position integer  NOT NULL,
  weekday  smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),  -- ISO, Monday = 1
  start    text     NOT NULL,                     -- "HH:MM" local
  "end"    text     NOT NULL,                     -- "HH:MM" local; < start crosses midnight
  PRIMARY KEY (agent_id, position)
);
