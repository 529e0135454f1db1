#pragma once

// The transactional outbox: an event is written to its owner's `outbox` table in the same
// PostgreSQL transaction as the change it announces, and OutboxRelay (outbox_relay.h)
// publishes it afterwards. So a committed change always gets its event (at least once),
// and a rolled-back one never does.
//
// The table, in the owner's schema (add OutboxMigration() to the service's migrations, or
// copy kOutboxTableSql into one of its .sql files):
//
//   CREATE TABLE outbox (
//     id           bigserial   PRIMARY KEY,       -- publish order
//     topic        text        NOT NULL,
//     key          text        NOT NULL,          -- Kafka key: the ticket id
//     payload      bytea       NOT NULL,          -- serialized sundesk.events.v1.Event
//     headers      bytea       NOT NULL DEFAULT '',  -- EncodeHeaders (CloudEvents ce_*)
//     event_id     text,                          -- for operators; the relay ignores it
//     event_type   text,
//     created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
//     published_at timestamptz                    -- NULL until Kafka acknowledged it
//   );
//
// Order per key holds when the writer locks what the key names (UPDATE the ticket row)
// before inserting its outbox row: ids are drawn at insert, so two writers of one ticket
// then draw them in commit order.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/kafka/envelope.h"
#include "libs/pg/connection.h"
#include "libs/pg/migrations.h"

namespace sundesk::kafka {

// The DDL above (unqualified: migrations run with search_path set to the schema).
extern const absl::string_view kOutboxTableSql;

// kOutboxTableSql as a migration numbered `version`, to append to the owner's list. Pick
// a version above the owner's applied ones (RunMigrations refuses older unapplied ones).
pg::Migration OutboxMigration(int64_t version);

// Adds `record` to `schema`.outbox inside the caller's transaction, and NOTIFYs the relay
// (PostgreSQL delivers it at COMMIT, and not at all on ROLLBACK). FAILED_PRECONDITION
// outside a transaction: a row committed on its own would announce a change that may
// never happen.
absl::Status InsertOutboxRecord(pg::Connection& tx, absl::string_view schema,
                                const EventRecord& record);

// `event` to `topic`, keyed by its subject, with its CloudEvents headers.
absl::Status InsertOutboxEvent(pg::Connection& tx, absl::string_view schema,
                               absl::string_view topic, const events::v1::Event& event);

// The outbox row as one statement, for pg::Connection::ExecuteAtomically next to the change
// it announces (the statements of one call commit together or not at all). Unlike
// InsertOutboxEvent it does not NOTIFY: a NOTIFY serializes commits (see OutboxNotifier),
// so after the commit call OutboxNotifier::Notify(), or rely on the relay's polling.
// `schema` must be a plain identifier ([a-z_][a-z0-9_]*).
pg::Statement OutboxEventStatement(absl::string_view schema, absl::string_view topic,
                                   const events::v1::Event& event);

// The NOTIFY channel of a schema's outbox: "sundesk_outbox.<schema>".
std::string OutboxChannel(absl::string_view schema);

// The session advisory lock that elects one relay per schema: FNV-1a of
// "sundesk.outbox:<schema>", stable across builds and processes.
int64_t OutboxLockKey(absl::string_view schema);

}  // namespace sundesk::kafka
