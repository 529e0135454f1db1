-- Business calendars. Weekly hours and holidays are one serialized sundesk.sla.v1.Calendar
-- (only its hours and holidays set): always read and replaced whole.
CREATE TABLE calendars (
  calendar_id  text        PRIMARY KEY,
  tenant_id    text        NOT NULL,
  display_name text        NOT NULL,
  time_zone    text        NOT NULL,
  always_open  boolean     NOT NULL,
  body         bytea       NOT NULL,
  version      bigint      NOT NULL,
  request_id   text        NOT NULL DEFAULT '',
  create_time  timestamptz NOT NULL,
  update_time  timestamptz NOT NULL
);

-- A retried CreateCalendar (same tenant, same request_id) finds the first one's calendar.
CREATE UNIQUE INDEX calendars_request ON calendars (tenant_id, request_id) WHERE request_id <> '';
-- ListCalendars: a tenant's calendars by display_name.
CREATE INDEX calendars_by_name ON calendars (tenant_id, display_name, calendar_id);

-- SLA policies; targets in nanoseconds of business time, 0 = not measured.
CREATE TABLE policies (
  policy_id          text        PRIMARY KEY,
  tenant_id          text        NOT NULL,
  display_name       text        NOT NULL,
  priority           integer     NOT NULL,
  channel            integer     NOT NULL,
  tag                text        NOT NULL,
  first_response_ns  bigint      NOT NULL,
  next_response_ns   bigint      NOT NULL,
  periodic_update_ns bigint      NOT NULL,
  resolution_ns      bigint      NOT NULL,
  calendar_id        text        NOT NULL REFERENCES calendars (calendar_id),
  warn_at_percent    integer     NOT NULL,
  version            bigint      NOT NULL,
  request_id         text        NOT NULL DEFAULT '',
  create_time        timestamptz NOT NULL,
  update_time        timestamptz NOT NULL
);

CREATE UNIQUE INDEX policies_request ON policies (tenant_id, request_id) WHERE request_id <> '';
-- At most one policy per tenant and match (priority, channel, tag).
CREATE UNIQUE INDEX policies_match ON policies (tenant_id, priority, channel, tag);
-- ListPolicies: a tenant's policies by create_time.
CREATE INDEX policies_by_create_time ON policies (tenant_id, create_time, policy_id);
