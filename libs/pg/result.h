#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct pg_result;

namespace sundesk::pg {

// PostgreSQL's binary forms of values (the send/recv formats: big-endian, timestamps in
// microseconds since 2000-01-01 UTC), decoded after checking the type OID the server
// reported. A wrong OID or a malformed value is INVALID_ARGUMENT naming both; never a crash.
// Result uses these for columns in binary format; they are public for tests and for code
// that holds the bytes some other way.
namespace binary {
// Type OIDs (pg_type.oid; fixed for the built-in types).
inline constexpr uint32_t kBool = 16, kBytea = 17, kChar = 18, kName = 19, kInt8 = 20, kInt2 = 21,
                          kInt4 = 23, kText = 25, kOid = 26, kTid = 27, kFloat4 = 700,
                          kFloat8 = 701, kBpchar = 1042, kVarchar = 1043, kTimestamp = 1114,
                          kTimestamptz = 1184;
inline constexpr uint32_t kBoolArray = 1000, kByteaArray = 1001, kInt2Array = 1005,
                          kInt4Array = 1007, kTextArray = 1009, kVarcharArray = 1015,
                          kInt8Array = 1016, kFloat4Array = 1021, kFloat8Array = 1022,
                          kTimestampArray = 1115, kTimestamptzArray = 1185;

// int2, int4, int8 (and oid) as int64.
absl::StatusOr<int64_t> Int(uint32_t oid, absl::string_view bytes);
// float8, float4.
absl::StatusOr<double> Float(uint32_t oid, absl::string_view bytes);
absl::StatusOr<bool> Bool(uint32_t oid, absl::string_view bytes);
// timestamptz (and timestamp, read as UTC); 'infinity' / '-infinity' are
// absl::InfiniteFuture() / InfinitePast().
absl::StatusOr<absl::Time> Time(uint32_t oid, absl::string_view bytes);
// text, varchar, bpchar, name, "char", bytea: the bytes themselves (a view of `bytes`).
absl::StatusOr<absl::string_view> Bytes(uint32_t oid, absl::string_view bytes);
// tid (a row version's address, ctid) as its text form "(block,offset)", which a tid or
// text parameter takes back.
absl::StatusOr<std::string> Tid(uint32_t oid, absl::string_view bytes);

// One-dimensional arrays (an empty array has no dimensions); a NULL element is std::nullopt.
// The element type in the array's header is checked too. Arrays of more dimensions are
// refused (INVALID_ARGUMENT).
absl::StatusOr<std::vector<std::optional<int64_t>>> IntArray(uint32_t oid, absl::string_view bytes);
absl::StatusOr<std::vector<std::optional<double>>> FloatArray(uint32_t oid,
                                                              absl::string_view bytes);
absl::StatusOr<std::vector<std::optional<bool>>> BoolArray(uint32_t oid, absl::string_view bytes);
absl::StatusOr<std::vector<std::optional<absl::Time>>> TimeArray(uint32_t oid,
                                                                 absl::string_view bytes);
// text[], varchar[], bytea[]: each element's bytes.
absl::StatusOr<std::vector<std::optional<std::string>>> BytesArray(uint32_t oid,
                                                                   absl::string_view bytes);
}  // namespace binary

// Which format the server sends result columns in (libpq's resultFormat).
enum class ResultFormat {
  kText,    // every column as text (what psql prints)
  kBinary,  // every column in its type's binary form: no printing on the server (array_out,
            // timestamp formatting) and no parsing here; read with the typed accessors
};

// The rows of one statement. Row and column indexes are 0-based. A column named that is not
// in the result is a programming error and aborts (any test catches it).
//
//   for (int r = 0; r < result.rows(); ++r) {
//     tickets.push_back({.id = std::string(result.Text(r, "id")), ...});
//   }
//
// Results come in text format unless the statement asked for binary
// (Connection::Execute(..., ResultFormat::kBinary), Statement::result_format). The typed
// accessors read both: in text format they parse the text as always; in binary format they
// check the column's type OID and decode its binary form (Int64: int2/int4/int8; Double:
// float8/float4; Bool: bool; Time: timestamptz; Bytea: bytea; the arrays: one-dimensional
// arrays of those types, binary format only). A NULL, or a type the accessor does not read,
// is INVALID_ARGUMENT naming the column, never a crash. Text() gives the bytes as sent: the
// text in text format, and for text/varchar/name columns in binary format too (their binary
// form is the text); for other types in binary format it is their binary form.
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
  // A tid column (ctid) as "(block,offset)", in either format.
  absl::StatusOr<std::string> Tid(int row, int column) const;
  // Array columns, binary format only (a text-format array is INVALID_ARGUMENT: read it with
  // Text() and text_array.h). A NULL element is std::nullopt.
  //   Int64Array: int2[], int4[], int8[]; Float64Array: float8[], float4[]; BoolArray:
  //   bool[]; TimeArray: timestamptz[]; TextArray: text[], varchar[]; ByteaArray: bytea[].
  absl::StatusOr<std::vector<std::optional<int64_t>>> Int64Array(int row, int column) const;
  absl::StatusOr<std::vector<std::optional<double>>> Float64Array(int row, int column) const;
  absl::StatusOr<std::vector<std::optional<bool>>> BoolArray(int row, int column) const;
  absl::StatusOr<std::vector<std::optional<absl::Time>>> TimeArray(int row, int column) const;
  absl::StatusOr<std::vector<std::optional<std::string>>> TextArray(int row, int column) const;
  absl::StatusOr<std::vector<std::optional<std::string>>> ByteaArray(int row, int column) const;

  // Whether the column came in binary format.
  bool is_binary(int column) const;
  // The column's type OID (binary::kInt8, ...).
  uint32_t column_type(int column) const;

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
  absl::StatusOr<std::string> Tid(int row, absl::string_view column) const {
    return Tid(row, Index(column));
  }
  absl::StatusOr<std::vector<std::optional<int64_t>>> Int64Array(int row,
                                                                 absl::string_view column) const {
    return Int64Array(row, Index(column));
  }
  absl::StatusOr<std::vector<std::optional<double>>> Float64Array(int row,
                                                                  absl::string_view column) const {
    return Float64Array(row, Index(column));
  }
  absl::StatusOr<std::vector<std::optional<bool>>> BoolArray(int row,
                                                             absl::string_view column) const {
    return BoolArray(row, Index(column));
  }
  absl::StatusOr<std::vector<std::optional<absl::Time>>> TimeArray(int row,
                                                                   absl::string_view column) const {
    return TimeArray(row, Index(column));
  }
  absl::StatusOr<std::vector<std::optional<std::string>>> TextArray(
      int row, absl::string_view column) const {
    return TextArray(row, Index(column));
  }
  absl::StatusOr<std::vector<std::optional<std::string>>> ByteaArray(
      int row, absl::string_view column) const {
    return ByteaArray(row, Index(column));
  }

 private:
  struct Clear {
    void operator()(pg_result* r) const;
  };
  int Index(absl::string_view name) const;  // aborts when missing
  void CheckCell(int row, int column) const;
  // The bytes of a non-NULL binary cell, or INVALID_ARGUMENT naming `what` and the column.
  absl::StatusOr<absl::string_view> BinaryCell(int row, int column, absl::string_view what) const;
  // A decoder's error with the column's name in front.
  absl::Status InColumn(int column, const absl::Status& status) const;

  std::unique_ptr<pg_result, Clear> result_;
};

}  // namespace sundesk::pg
