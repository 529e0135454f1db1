#include "libs/pg/result.h"

#include <libpq-fe.h>

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/core/log.h"

namespace sundesk::pg {

void Result::Clear::operator()(pg_result* r) const { PQclear(r); }

Result::Result(pg_result* result) : result_(result) {}

int Result::rows() const { return result_ ? PQntuples(result_.get()) : 0; }

int Result::columns() const { return result_ ? PQnfields(result_.get()) : 0; }

int64_t Result::affected_rows() const {
  if (!result_) return 0;
  int64_t n = 0;
  return absl::SimpleAtoi(PQcmdTuples(result_.get()), &n) ? n : 0;
}

std::string Result::command_tag() const {
  if (!result_) return "";
  absl::string_view tag = PQcmdStatus(result_.get());
  return std::string(tag.substr(0, tag.find(' ')));
}

int Result::ColumnIndex(absl::string_view name) const {
  for (int c = 0; c < columns(); ++c) {
    if (name == PQfname(result_.get(), c)) return c;
  }
  return -1;
}

std::string Result::ColumnName(int column) const {
  CheckCell(0, column);
  return PQfname(result_.get(), column);
}

int Result::Index(absl::string_view name) const {
  int c = ColumnIndex(name);
  if (c < 0) {
    log::Error("pg: result has no such column", {{"column", name}});
    std::abort();
  }
  return c;
}

void Result::CheckCell(int row, int column) const {
  // Row 0 is allowed on an empty result so ColumnName works before any row exists.
  bool row_ok = row >= 0 && (row < rows() || row == 0);
  if (!row_ok || column < 0 || column >= columns()) {
    log::Error("pg: result cell out of range",
               {{"row", row}, {"column", column}, {"rows", rows()}, {"columns", columns()}});
    std::abort();
  }
}

bool Result::IsNull(int row, int column) const {
  CheckCell(row, column);
  return PQgetisnull(result_.get(), row, column) != 0;
}

absl::string_view Result::Text(int row, int column) const {
  CheckCell(row, column);
  return absl::string_view(PQgetvalue(result_.get(), row, column),
                           static_cast<size_t>(PQgetlength(result_.get(), row, column)));
}

namespace {

absl::Status NotA(absl::string_view what, absl::string_view value, bool is_null) {
  if (is_null) return absl::InvalidArgumentError(absl::StrCat("pg: NULL is not ", what));
  return absl::InvalidArgumentError(absl::StrCat("pg: \"", value, "\" is not ", what));
}

}  // namespace

absl::StatusOr<int64_t> Result::Int64(int row, int column) const {
  absl::string_view text = Text(row, column);
  int64_t n = 0;
  if (IsNull(row, column) || !absl::SimpleAtoi(text, &n)) {
    return NotA("an integer", text, IsNull(row, column));
  }
  return n;
}

absl::StatusOr<double> Result::Double(int row, int column) const {
  absl::string_view text = Text(row, column);
  double d = 0;
  if (IsNull(row, column) || !absl::SimpleAtod(text, &d)) {
    return NotA("a number", text, IsNull(row, column));
  }
  return d;
}

absl::StatusOr<bool> Result::Bool(int row, int column) const {
  absl::string_view text = Text(row, column);
  if (!IsNull(row, column)) {
    if (text == "t") return true;
    if (text == "f") return false;
  }
  return NotA("a boolean", text, IsNull(row, column));
}

absl::StatusOr<absl::Time> Result::Time(int row, int column) const {
  absl::string_view text = Text(row, column);
  if (IsNull(row, column)) return NotA("a timestamp", text, true);
  if (text == "infinity") return absl::InfiniteFuture();
  if (text == "-infinity") return absl::InfinitePast();
  // Sessions run with TimeZone=UTC and DateStyle=ISO, so a timestamptz prints as
  // "2026-01-01 09:30:00.123456+00".
  absl::string_view local = text;
  if (!absl::ConsumeSuffix(&local, "+00")) return NotA("a UTC timestamp", text, false);
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S", local, absl::UTCTimeZone(), &t, &err)) {
    return NotA("a timestamp", text, false);
  }
  return t;
}

absl::StatusOr<std::string> Result::Bytea(int row, int column) const {
  if (IsNull(row, column)) return NotA("bytea", "", true);
  size_t length = 0;
  unsigned char* bytes = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, column)), &length);
  if (bytes == nullptr) return absl::ResourceExhaustedError("pg: out of memory decoding bytea");
  std::string out(reinterpret_cast<const char*>(bytes), length);
  PQfreemem(bytes);
  return out;
}

}  // namespace sundesk::pg
