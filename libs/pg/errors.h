#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sundesk::pg {

// How a PostgreSQL error reaches the rest of sundesk: a status whose code says what the
// caller can do about it, whose message keeps the SQLSTATE and the server's words, and
// whose payloads carry the SQLSTATE and constraint name for code that must tell cases
// apart (e.g. which unique constraint a duplicate hit).
//
//   08xxx, 57P01-57P03 (connection lost, server shutting down) -> UNAVAILABLE
//   23505 unique_violation                                      -> ALREADY_EXISTS
//   40001 serialization_failure, 40P01 deadlock, 55P03 lock     -> ABORTED
//   57014 query_canceled (statement_timeout)                    -> DEADLINE_EXCEEDED
//   22xxx data exceptions, 23502 not null, 23514 check          -> INVALID_ARGUMENT
//   other 23xxx (foreign key, exclusion, restrict)              -> FAILED_PRECONDITION
//   53xxx insufficient resources                                -> RESOURCE_EXHAUSTED
//   everything else                                             -> INTERNAL
absl::StatusCode StatusCodeForSqlState(absl::string_view sqlstate);

// The condition name of a common SQLSTATE ("unique_violation"), or "" when not listed.
absl::string_view ConditionName(absl::string_view sqlstate);

// A status for an error the server reported. Message:
//   "pg: SQLSTATE 23505 (unique_violation): duplicate key value violates unique
//    constraint "tickets_pkey": Key (id)=(7) already exists."
absl::Status ServerError(absl::string_view sqlstate, absl::string_view message,
                         absl::string_view detail = "", absl::string_view constraint = "");

// The SQLSTATE / constraint name a status from this library carries, or "".
std::string SqlState(const absl::Status& status);
std::string ConstraintName(const absl::Status& status);

// `status` with "<context>: " before its message, keeping its code and payloads.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

// True for the SQLSTATEs after which re-running the whole transaction may succeed.
bool IsRetryableTransactionError(const absl::Status& status);

}  // namespace sundesk::pg
