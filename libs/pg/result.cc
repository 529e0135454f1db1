#include "libs/pg/result.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/core/log.h"

namespace sundesk::pg {
namespace binary {
namespace {

std::string TypeName(uint32_t oid) {
  switch (oid) {
    case kBool:
      return "bool";
    case kBytea:
      return "bytea";
    case kChar:
      return "\"char\"";
    case kName:
      return "name";
    case kInt8:
      return "int8";
    case kInt2:
      return "int2";
    case kInt4:
      return "int4";
    case kText:
      return "text";
    case kOid:
      return "oid";
    case kTid:
      return "tid";
    case kFloat4:
      return "float4";
    case kFloat8:
      return "float8";
    case kBpchar:
      return "bpchar";
    case kVarchar:
      return "varchar";
    case kTimestamp:
      return "timestamp";
    case kTimestamptz:
      return "timestamptz";
    case kBoolArray:
      return "bool[]";
    case kByteaArray:
      return "bytea[]";
    case kInt2Array:
      return "int2[]";
    case kInt4Array:
      return "int4[]";
    case kTextArray:
      return "text[]";
    case kVarcharArray:
      return "varchar[]";
    case kInt8Array:
      return "int8[]";
    case kFloat4Array:
      return "float4[]";
    case kFloat8Array:
      return "float8[]";
    case kTimestampArray:
      return "timestamp[]";
    case kTimestamptzArray:
      return "timestamptz[]";
    default:
      return absl::StrCat("type OID ", oid);
  }
}

absl::Status WrongType(uint32_t oid, absl::string_view wanted) {
  return absl::InvalidArgumentError(
      absl::StrCat("pg: a binary ", TypeName(oid), " value is not ", wanted));
}

absl::Status Malformed(uint32_t oid, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("pg: malformed binary ", TypeName(oid), " value: ", why));
}

// Big-endian unsigned integer of N bytes at p.
template <int N>
uint64_t BigEndian(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < N; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

absl::Status SizeIs(uint32_t oid, absl::string_view bytes, size_t n) {
  if (bytes.size() == n) return absl::OkStatus();
  return Malformed(oid, absl::StrCat(bytes.size(), " bytes, not ", n));
}

// Walks a one-dimensional binary array of `array_oid` whose elements must be of
// `element_oid`, calling `element(oid, bytes)` for each non-NULL element and `null()` for
// each NULL one.
template <typename Element, typename Null>
absl::Status WalkArray(uint32_t array_oid, uint32_t element_oid, absl::string_view bytes,
                       Element element, Null null) {
  if (bytes.size() < 12) return Malformed(array_oid, "shorter than an array header");
  const auto ndim = static_cast<int32_t>(BigEndian<4>(bytes.data()));
  const auto header_oid = static_cast<uint32_t>(BigEndian<4>(bytes.data() + 8));
  if (header_oid != element_oid) {
    return Malformed(array_oid, absl::StrCat("its elements are ", TypeName(header_oid)));
  }
  if (ndim == 0) {
    if (bytes.size() != 12) return Malformed(array_oid, "bytes after an empty array");
    return absl::OkStatus();
  }
  if (ndim != 1) {
    return absl::InvalidArgumentError(absl::StrCat("pg: a binary ", TypeName(array_oid),
                                                   " value of ", ndim,
                                                   " dimensions is not a one-dimensional array"));
  }
  if (bytes.size() < 20) return Malformed(array_oid, "shorter than its dimension");
  const auto count = static_cast<int32_t>(BigEndian<4>(bytes.data() + 12));
  if (count < 0) return Malformed(array_oid, "a negative length");
  absl::string_view rest = bytes.substr(20);
  for (int32_t i = 0; i < count; ++i) {
    if (rest.size() < 4) return Malformed(array_oid, "ends inside an element");
    const auto length = static_cast<int32_t>(BigEndian<4>(rest.data()));
    rest.remove_prefix(4);
    if (length == -1) {
      null();
      continue;
    }
    if (length < 0 || static_cast<size_t>(length) > rest.size()) {
      return Malformed(array_oid, "ends inside an element");
    }
    if (absl::Status st = element(element_oid, rest.substr(0, length)); !st.ok()) return st;
    rest.remove_prefix(length);
  }
  if (!rest.empty()) return Malformed(array_oid, "bytes after the last element");
  return absl::OkStatus();
}

// The element type of the arrays an accessor reads, or 0 for another array type.
uint32_t ElementOf(uint32_t array_oid) {
  switch (array_oid) {
    case kBoolArray:
      return kBool;
    case kByteaArray:
      return kBytea;
    case kInt2Array:
      return kInt2;
    case kInt4Array:
      return kInt4;
    case kTextArray:
      return kText;
    case kVarcharArray:
      return kVarchar;
    case kInt8Array:
      return kInt8;
    case kFloat4Array:
      return kFloat4;
    case kFloat8Array:
      return kFloat8;
    case kTimestampArray:
      return kTimestamp;
    case kTimestamptzArray:
      return kTimestamptz;
    default:
      return 0;
  }
}

// An array of one of `arrays`, each element decoded by `decode`.
template <typename T, typename Decode>
absl::StatusOr<std::vector<std::optional<T>>> DecodeArray(uint32_t oid, absl::string_view bytes,
                                                          std::initializer_list<uint32_t> arrays,
                                                          absl::string_view wanted, Decode decode) {
  if (std::find(arrays.begin(), arrays.end(), oid) == arrays.end()) {
    return WrongType(oid, wanted);
  }
  std::vector<std::optional<T>> out;
  absl::Status st = WalkArray(
      oid, ElementOf(oid), bytes,
      [&](uint32_t element_oid, absl::string_view element) -> absl::Status {
        auto v = decode(element_oid, element);
        if (!v.ok()) return v.status();
        out.emplace_back(T(*std::move(v)));
        return absl::OkStatus();
      },
      [&] { out.emplace_back(std::nullopt); });
  if (!st.ok()) return st;
  return out;
}

}  // namespace

absl::StatusOr<int64_t> Int(uint32_t oid, absl::string_view bytes) {
  switch (oid) {
    case kInt2:
      if (absl::Status st = SizeIs(oid, bytes, 2); !st.ok()) return st;
      return static_cast<int16_t>(BigEndian<2>(bytes.data()));
    case kInt4:
      if (absl::Status st = SizeIs(oid, bytes, 4); !st.ok()) return st;
      return static_cast<int32_t>(BigEndian<4>(bytes.data()));
    case kOid:
      if (absl::Status st = SizeIs(oid, bytes, 4); !st.ok()) return st;
      return static_cast<int64_t>(BigEndian<4>(bytes.data()));
    case kInt8:
      if (absl::Status st = SizeIs(oid, bytes, 8); !st.ok()) return st;
      return static_cast<int64_t>(BigEndian<8>(bytes.data()));
    default:
      return WrongType(oid, "an integer");
  }
}

absl::StatusOr<double> Float(uint32_t oid, absl::string_view bytes) {
  if (oid == kFloat8) {
    if (absl::Status st = SizeIs(oid, bytes, 8); !st.ok()) return st;
    const uint64_t bits = BigEndian<8>(bytes.data());
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  if (oid == kFloat4) {
    if (absl::Status st = SizeIs(oid, bytes, 4); !st.ok()) return st;
    const auto bits = static_cast<uint32_t>(BigEndian<4>(bytes.data()));
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
  return WrongType(oid, "a number");
}

absl::StatusOr<bool> Bool(uint32_t oid, absl::string_view bytes) {
  if (oid != kBool) return WrongType(oid, "a boolean");
  if (absl::Status st = SizeIs(oid, bytes, 1); !st.ok()) return st;
  if (bytes[0] == 0) return false;
  if (bytes[0] == 1) return true;
  return Malformed(oid, "neither 0 nor 1");
}

absl::StatusOr<absl::Time> Time(uint32_t oid, absl::string_view bytes) {
  if (oid != kTimestamptz && oid != kTimestamp) return WrongType(oid, "a timestamp");
  if (absl::Status st = SizeIs(oid, bytes, 8); !st.ok()) return st;
  // Microseconds since 2000-01-01 00:00:00 UTC; the int64 extremes are the infinities.
  const auto us = static_cast<int64_t>(BigEndian<8>(bytes.data()));
  if (us == std::numeric_limits<int64_t>::max()) return absl::InfiniteFuture();
  if (us == std::numeric_limits<int64_t>::min()) return absl::InfinitePast();
  return absl::FromUnixSeconds(946'684'800) + absl::Microseconds(us);
}

absl::StatusOr<absl::string_view> Bytes(uint32_t oid, absl::string_view bytes) {
  switch (oid) {
    case kText:
    case kVarchar:
    case kBpchar:
    case kName:
    case kChar:
    case kBytea:
      return bytes;
    default:
      return WrongType(oid, "text or bytea");
  }
}

absl::StatusOr<std::string> Tid(uint32_t oid, absl::string_view bytes) {
  if (oid != kTid) return WrongType(oid, "a tid");
  if (absl::Status st = SizeIs(oid, bytes, 6); !st.ok()) return st;
  // Block number (uint32), then the line pointer's offset (uint16).
  return absl::StrCat("(", BigEndian<4>(bytes.data()), ",", BigEndian<2>(bytes.data() + 4), ")");
}

absl::StatusOr<std::vector<std::optional<int64_t>>> IntArray(uint32_t oid,
                                                             absl::string_view bytes) {
  return DecodeArray<int64_t>(oid, bytes, {kInt2Array, kInt4Array, kInt8Array}, "an integer array",
                              Int);
}

absl::StatusOr<std::vector<std::optional<double>>> FloatArray(uint32_t oid,
                                                              absl::string_view bytes) {
  return DecodeArray<double>(oid, bytes, {kFloat4Array, kFloat8Array}, "a number array", Float);
}

absl::StatusOr<std::vector<std::optional<bool>>> BoolArray(uint32_t oid, absl::string_view bytes) {
  return DecodeArray<bool>(oid, bytes, {kBoolArray}, "a boolean array", Bool);
}

absl::StatusOr<std::vector<std::optional<absl::Time>>> TimeArray(uint32_t oid,
                                                                 absl::string_view bytes) {
  return DecodeArray<absl::Time>(oid, bytes, {kTimestamptzArray, kTimestampArray},
                                 "a timestamp array", Time);
}

absl::StatusOr<std::vector<std::optional<std::string>>> BytesArray(uint32_t oid,
                                                                   absl::string_view bytes) {
  return DecodeArray<std::string>(oid, bytes, {kTextArray, kVarcharArray, kByteaArray},
                                  "a text or bytea array", Bytes);
}

}  // namespace binary

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

bool Result::is_binary(int column) const {
  CheckCell(0, column);
  return PQfformat(result_.get(), column) == 1;
}

uint32_t Result::column_type(int column) const {
  CheckCell(0, column);
  return PQftype(result_.get(), column);
}

absl::Status Result::InColumn(int column, const absl::Status& status) const {
  return absl::Status(status.code(), absl::StrCat("column ", PQfname(result_.get(), column), ": ",
                                                  status.message()));
}

absl::StatusOr<absl::string_view> Result::BinaryCell(int row, int column,
                                                     absl::string_view what) const {
  if (IsNull(row, column)) return InColumn(column, NotA(what, "", true));
  if (!is_binary(column)) {
    return InColumn(
        column, absl::InvalidArgumentError(absl::StrCat("pg: ", what,
                                                        " is read from binary results only; this "
                                                        "column came as text")));
  }
  return Text(row, column);
}

// A binary cell decoded by `decode(oid, bytes)`, errors naming the column.
#define SUNDESK_PG_DECODE(what, decode)                                   \
  absl::StatusOr<absl::string_view> cell = BinaryCell(row, column, what); \
  if (!cell.ok()) return cell.status();                                   \
  auto decoded = decode(column_type(column), *cell);                      \
  if (!decoded.ok()) return InColumn(column, decoded.status());           \
  return *std::move(decoded)

absl::StatusOr<int64_t> Result::Int64(int row, int column) const {
  if (is_binary(column)) {
    SUNDESK_PG_DECODE("an integer", binary::Int);
  }
  absl::string_view text = Text(row, column);
  int64_t n = 0;
  if (IsNull(row, column) || !absl::SimpleAtoi(text, &n)) {
    return NotA("an integer", text, IsNull(row, column));
  }
  return n;
}

absl::StatusOr<double> Result::Double(int row, int column) const {
  if (is_binary(column)) {
    SUNDESK_PG_DECODE("a number", binary::Float);
  }
  absl::string_view text = Text(row, column);
  double d = 0;
  if (IsNull(row, column) || !absl::SimpleAtod(text, &d)) {
    return NotA("a number", text, IsNull(row, column));
  }
  return d;
}

absl::StatusOr<bool> Result::Bool(int row, int column) const {
  if (is_binary(column)) {
    SUNDESK_PG_DECODE("a boolean", binary::Bool);
  }
  absl::string_view text = Text(row, column);
  if (!IsNull(row, column)) {
    if (text == "t") return true;
    if (text == "f") return false;
  }
  return NotA("a boolean", text, IsNull(row, column));
}

absl::StatusOr<absl::Time> Result::Time(int row, int column) const {
  if (is_binary(column)) {
    SUNDESK_PG_DECODE("a timestamp", binary::Time);
  }
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
  if (is_binary(column)) {
    if (column_type(column) != binary::kBytea) {
      return InColumn(
          column, absl::InvalidArgumentError(absl::StrCat("pg: a binary value of type OID ",
                                                          column_type(column), " is not bytea")));
    }
    SUNDESK_PG_DECODE("bytea", [](uint32_t, absl::string_view b) -> absl::StatusOr<std::string> {
      return std::string(b);
    });
  }
  if (IsNull(row, column)) return NotA("bytea", "", true);
  size_t length = 0;
  unsigned char* bytes = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, column)), &length);
  if (bytes == nullptr) return absl::ResourceExhaustedError("pg: out of memory decoding bytea");
  std::string out(reinterpret_cast<const char*>(bytes), length);
  PQfreemem(bytes);
  return out;
}

absl::StatusOr<std::string> Result::Tid(int row, int column) const {
  if (is_binary(column)) {
    SUNDESK_PG_DECODE("a tid", binary::Tid);
  }
  if (IsNull(row, column)) return InColumn(column, NotA("a tid", "", true));
  return std::string(Text(row, column));
}

absl::StatusOr<std::vector<std::optional<int64_t>>> Result::Int64Array(int row, int column) const {
  SUNDESK_PG_DECODE("an integer array", binary::IntArray);
}

absl::StatusOr<std::vector<std::optional<double>>> Result::Float64Array(int row, int column) const {
  SUNDESK_PG_DECODE("a number array", binary::FloatArray);
}

absl::StatusOr<std::vector<std::optional<bool>>> Result::BoolArray(int row, int column) const {
  SUNDESK_PG_DECODE("a boolean array", binary::BoolArray);
}

absl::StatusOr<std::vector<std::optional<absl::Time>>> Result::TimeArray(int row,
                                                                         int column) const {
  SUNDESK_PG_DECODE("a timestamp array", binary::TimeArray);
}

absl::StatusOr<std::vector<std::optional<std::string>>> Result::TextArray(int row,
                                                                          int column) const {
  if (column_type(column) == binary::kByteaArray) {
    return InColumn(column, absl::InvalidArgumentError("pg: a bytea[] is not a text array"));
  }
  SUNDESK_PG_DECODE("a text array", binary::BytesArray);
}

absl::StatusOr<std::vector<std::optional<std::string>>> Result::ByteaArray(int row,
                                                                           int column) const {
  if (column_type(column) != binary::kByteaArray) {
    return InColumn(
        column, absl::InvalidArgumentError(absl::StrCat("pg: a value of type OID ",
                                                        column_type(column), " is not bytea[]")));
  }
  SUNDESK_PG_DECODE("a bytea array", binary::BytesArray);
}

#undef SUNDESK_PG_DECODE

}  // namespace sundesk::pg
