#include "libs/pg/errors.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sundesk::pg {
namespace {

constexpr char kSqlStatePayload[] = "type.sundesk.dev/pg.sqlstate";
constexpr char kConstraintPayload[] = "type.sundesk.dev/pg.constraint";

constexpr std::pair<absl::string_view, absl::string_view> kConditionNames[] = {
    {"08000", "connection_exception"},
    {"08001", "sqlclient_unable_to_establish_sqlconnection"},
    {"08003", "connection_does_not_exist"},
    {"08006", "connection_failure"},
    {"22001", "string_data_right_truncation"},
    {"22003", "numeric_value_out_of_range"},
    {"22007", "invalid_datetime_format"},
    {"22008", "datetime_field_overflow"},
    {"22012", "division_by_zero"},
    {"22021", "character_not_in_repertoire"},
    {"22P02", "invalid_text_representation"},
    {"23502", "not_null_violation"},
    {"23503", "foreign_key_violation"},
    {"23505", "unique_violation"},
    {"23514", "check_violation"},
    {"23P01", "exclusion_violation"},
    {"25006", "read_only_sql_transaction"},
    {"25P02", "in_failed_sql_transaction"},
    {"40001", "serialization_failure"},
    {"40P01", "deadlock_detected"},
    {"42501", "insufficient_privilege"},
    {"42601", "syntax_error"},
    {"42703", "undefined_column"},
    {"42P01", "undefined_table"},
    {"42P07", "duplicate_table"},
    {"53300", "too_many_connections"},
    {"55P03", "lock_not_available"},
    {"57014", "query_canceled"},
    {"57P01", "admin_shutdown"},
    {"57P02", "crash_shutdown"},
    {"57P03", "cannot_connect_now"},
};

std::string Payload(const absl::Status& status, absl::string_view url) {
  auto payload = status.GetPayload(url);
  return payload.has_value() ? std::string(*payload) : std::string();
}

}  // namespace

absl::StatusCode StatusCodeForSqlState(absl::string_view s) {
  if (s == "23505") return absl::StatusCode::kAlreadyExists;
  if (s == "40001" || s == "40P01" || s == "55P03") return absl::StatusCode::kAborted;
  if (s == "57014") return absl::StatusCode::kDeadlineExceeded;
  if (s == "57P01" || s == "57P02" || s == "57P03") return absl::StatusCode::kUnavailable;
  if (s == "23502" || s == "23514") return absl::StatusCode::kInvalidArgument;
  if (absl::StartsWith(s, "08")) return absl::StatusCode::kUnavailable;
  if (absl::StartsWith(s, "22")) return absl::StatusCode::kInvalidArgument;
  if (absl::StartsWith(s, "23")) return absl::StatusCode::kFailedPrecondition;
  if (absl::StartsWith(s, "53")) return absl::StatusCode::kResourceExhausted;
  return absl::StatusCode::kInternal;
}

absl::string_view ConditionName(absl::string_view sqlstate) {
  for (const auto& [code, name] : kConditionNames) {
    if (code == sqlstate) return name;
  }
  return "";
}

absl::Status ServerError(absl::string_view sqlstate, absl::string_view message,
                         absl::string_view detail, absl::string_view constraint) {
  std::string text = absl::StrCat("pg: SQLSTATE ", sqlstate);
  if (absl::string_view name = ConditionName(sqlstate); !name.empty()) {
    absl::StrAppend(&text, " (", name, ")");
  }
  absl::StrAppend(&text, ": ", message);
  if (!detail.empty()) absl::StrAppend(&text, ": ", detail);
  absl::Status status(StatusCodeForSqlState(sqlstate), text);
  status.SetPayload(kSqlStatePayload, absl::Cord(sqlstate));
  if (!constraint.empty()) status.SetPayload(kConstraintPayload, absl::Cord(constraint));
  return status;
}

std::string SqlState(const absl::Status& status) { return Payload(status, kSqlStatePayload); }

std::string ConstraintName(const absl::Status& status) {
  return Payload(status, kConstraintPayload);
}

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  absl::Status annotated(status.code(), absl::StrCat(context, ": ", status.message()));
  status.ForEachPayload([&annotated](absl::string_view url, const absl::Cord& payload) {
    annotated.SetPayload(url, payload);
  });
  return annotated;
}

bool IsRetryableTransactionError(const absl::Status& status) {
  std::string state = SqlState(status);
  return state == "40001" || state == "40P01";
}

}  // namespace sundesk::pg
