#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct pg_result;

namespace sundesk::pg {

// The rows of one statement, in text format. Row and column indexes are 0-based. A column
// named that is not in the result is a programming error and aborts (any test catches it).
//
//   for (int r = 0; r < result.rows(); ++r) {
//     tickets.push_back({.id = std::string(result.Text(r, "id")), ...});
//   }
class Result {
 public:
  Result() = default;
  explicit Result(pg_result* result);

  int rows() const;
  int columns() const;
  // Rows an INSERT, UPDATE, DELETE, MERGE, SELECT or COPY touched; 0 for other commands.
  int64_t affected_rows() const;
  // The command tag without its row count: "INSERT 0 1" -> "INSERT"; "COMMIT", "ROLLBACK".
  std::string command_tag() const;
  // The index of a column, or -1.
  int ColumnIndex(absl::string_view name) const;
  std::string ColumnName(int column) const;

  bool IsNull(int row, int column) const;
  // The value as text; "" for NULL. Valid as long as this Result lives.
  absl::string_view Text(int row, int column) const;
  absl::StatusOr<int64_t> Int64(int row, int column) const;
  absl::StatusOr<double> Double(int row, int column) const;
  absl::StatusOr<bool> Bool(int row, int column) const;
  // A timestamptz (sessions run in UTC, see Connection).
  absl::StatusOr<absl::Time> Time(int row, int column) const;
  // A bytea column decoded to its raw bytes.
  absl::StatusOr<std::string> Bytea(int row, int column) const;

  bool IsNull(int row, absl::string_view column) const { return IsNull(row, Index(column)); }
  absl::string_view Text(int row, absl::string_view column) const {
    return Text(row, Index(column));
  }
  absl::StatusOr<int64_t> Int64(int row, absl::string_view column) const {
    return Int64(row, Index(column));
  }
  absl::StatusOr<double> Double(int row, absl::string_view column) const {
    return Double(row, Index(column));
  }
  absl::StatusOr<bool> Bool(int row, absl::string_view column) const {
    return Bool(row, Index(column));
  }
  absl::StatusOr<absl::Time> Time(int row, absl::string_view column) const {
    return Time(row, Index(column));
  }
  absl::StatusOr<std::string> Bytea(int row, absl::string_view column) const {
    return Bytea(row, Index(column));
  }

 private:
  struct Clear {
    void operator()(pg_result* r) const;
  };
  int Index(absl::string_view name) const;  // aborts when missing
  void CheckCell(int row, int column) const;

  std::unique_ptr<pg_result, Clear> result_;
};

}  // namespace sundesk::pg
