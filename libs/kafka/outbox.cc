#include "libs/kafka/outbox.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace sundesk::kafka {

const absl::string_view kOutboxTableSql = R"sql(
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
-- The relay's scan: only what is left to publish.
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
-- Retention: published rows are deleted after a while.
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
)sql";

pg::Migration OutboxMigration(int64_t version) {
  return {.version = version, .name = "outbox", .sql = std::string(kOutboxTableSql)};
}

namespace {

absl::Status Insert(pg::Connection& tx, absl::string_view schema, const EventRecord& record,
                    const std::optional<std::string>& event_id,
                    const std::optional<std::string>& event_type) {
  if (!tx.in_transaction()) {
    return absl::FailedPreconditionError(
        "outbox rows are written inside the transaction of the change they announce");
  }
  SUNDESK_RETURN_IF_ERROR(
      tx.Execute(absl::StrCat("INSERT INTO ", tx.QuoteIdentifier(schema),
                              ".outbox (topic, key, payload, headers, event_id, event_type) "
                              "VALUES ($1, $2, $3, $4, $5, $6)"),
                 {record.topic, record.key, pg::Param::Bytea(record.value),
                  pg::Param::Bytea(EncodeHeaders(record.headers)), event_id, event_type})
          .status());
  return tx.Execute("SELECT pg_notify($1, '')", {OutboxChannel(schema)}).status();
}

}  // namespace

absl::Status InsertOutboxRecord(pg::Connection& tx, absl::string_view schema,
                                const EventRecord& record) {
  return Insert(tx, schema, record, std::nullopt, std::nullopt);
}

absl::Status InsertOutboxEvent(pg::Connection& tx, absl::string_view schema,
                               absl::string_view topic, const events::v1::Event& event) {
  return Insert(tx, schema, ToRecord(topic, event), event.event_id(), event.type());
}

pg::Statement OutboxEventStatement(absl::string_view schema, absl::string_view topic,
                                   const events::v1::Event& event) {
  EventRecord record = ToRecord(topic, event);
  return {
      .sql = absl::StrCat("INSERT INTO ", schema,
                          ".outbox (topic, key, payload, headers, event_id, event_type) "
                          "VALUES ($1, $2, $3, $4, $5, $6)"),
      .params = {record.topic, record.key, pg::Param::Bytea(record.value),
                 pg::Param::Bytea(EncodeHeaders(record.headers)), event.event_id(), event.type()}};
}

std::string OutboxChannel(absl::string_view schema) {
  return absl::StrCat("sundesk_outbox.", schema);
}

int64_t OutboxLockKey(absl::string_view schema) {
  uint64_t h = 14695981039346656037ull;
  for (char c : absl::StrCat("sundesk.outbox:", schema)) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return static_cast<int64_t>(h);
}

}  // namespace sundesk::kafka
