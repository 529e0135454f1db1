#include "libs/pg/param.h"

#include <cstring>
#include <limits>

#include "libs/pg/result.h"

namespace sundesk::pg {
namespace {

// A binary timestamptz counts microseconds from 2000-01-01 00:00:00 UTC; its infinities
// are the int64 extremes.
constexpr int64_t kPostgresEpochUnixMicros = 946'684'800'000'000;

void PutU32(std::string& out, uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(bytes, 4);
}

void PutU64(std::string& out, uint64_t v) {
  PutU32(out, static_cast<uint32_t>(v >> 32));
  PutU32(out, static_cast<uint32_t>(v));
}

void PatchU32(std::string& out, size_t at, uint32_t v) {
  out[at] = static_cast<char>(v >> 24);
  out[at + 1] = static_cast<char>(v >> 16);
  out[at + 2] = static_cast<char>(v >> 8);
  out[at + 3] = static_cast<char>(v);
}

int64_t PostgresMicros(absl::Time t) {
  if (t == absl::InfiniteFuture()) return std::numeric_limits<int64_t>::max();
  if (t == absl::InfinitePast()) return std::numeric_limits<int64_t>::min();
  return absl::ToUnixMicros(t) - kPostgresEpochUnixMicros;
}

// PostgreSQL's binary array format, as array_recv reads it (big-endian int32s): the number
// of dimensions (0 for an empty array), a has-NULLs flag, the element type, per dimension
// its length and lower bound (1); then per element its byte length, -1 for NULL, and its
// bytes in the element type's binary format. `put(i, out)` appends element i's bytes and
// returns false for NULL.
template <typename Put>
std::string EncodeArray(uint32_t element_type, size_t count, size_t element_size, Put&& put) {
  std::string out;
  out.reserve(20 + count * (4 + element_size));
  PutU32(out, count == 0 ? 0 : 1);
  const size_t flags_at = out.size();
  PutU32(out, 0);
  PutU32(out, element_type);
  if (count > 0) {
    PutU32(out, static_cast<uint32_t>(count));
    PutU32(out, 1);
  }
  bool has_null = false;
  for (size_t i = 0; i < count; ++i) {
    const size_t length_at = out.size();
    PutU32(out, 0);
    if (put(i, out)) {
      PatchU32(out, length_at, static_cast<uint32_t>(out.size() - length_at - 4));
    } else {
      has_null = true;
      PatchU32(out, length_at, 0xFFFFFFFFu);  // -1
    }
  }
  if (has_null) PatchU32(out, flags_at, 1);
  return out;
}

template <typename T, typename PutValue>
std::string EncodeOptionals(uint32_t element_type, absl::Span<const std::optional<T>> values,
                            size_t element_size, PutValue&& put_value) {
  return EncodeArray(element_type, values.size(), element_size, [&](size_t i, std::string& out) {
    if (!values[i].has_value()) return false;
    put_value(*values[i], out);
    return true;
  });
}

template <typename T, typename PutValue>
std::string EncodeValues(uint32_t element_type, absl::Span<const T> values, size_t element_size,
                         PutValue&& put_value) {
  return EncodeArray(element_type, values.size(), element_size, [&](size_t i, std::string& out) {
    put_value(values[i], out);
    return true;
  });
}

void PutInt64(int64_t v, std::string& out) { PutU64(out, static_cast<uint64_t>(v)); }
void PutInt32(int32_t v, std::string& out) { PutU32(out, static_cast<uint32_t>(v)); }
void PutTime(absl::Time t, std::string& out) { PutInt64(PostgresMicros(t), out); }
template <typename S>
void PutBytes(const S& s, std::string& out) {
  out.append(s.data(), s.size());
}

}  // namespace

Param::Param(absl::Time time) {
  if (time == absl::InfiniteFuture()) {
    value_ = "infinity";
  } else if (time == absl::InfinitePast()) {
    value_ = "-infinity";
  } else {
    value_ = absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", time, absl::UTCTimeZone());
  }
}

Param Param::Bytea(absl::string_view bytes) { return Param(binary::kBytea, std::string(bytes)); }

Param Param::Int64Array(absl::Span<const int64_t> values) {
  return Param(binary::kInt8Array, EncodeValues(binary::kInt8, values, 8, PutInt64));
}

Param Param::Int64Array(absl::Span<const std::optional<int64_t>> values) {
  return Param(binary::kInt8Array, EncodeOptionals(binary::kInt8, values, 8, PutInt64));
}

Param Param::Int32Array(absl::Span<const int32_t> values) {
  return Param(binary::kInt4Array, EncodeValues(binary::kInt4, values, 4, PutInt32));
}

Param Param::Int32Array(absl::Span<const std::optional<int32_t>> values) {
  return Param(binary::kInt4Array, EncodeOptionals(binary::kInt4, values, 4, PutInt32));
}

Param Param::Float64Array(absl::Span<const double> values) {
  return Param(binary::kFloat8Array,
               EncodeValues(binary::kFloat8, values, 8, [](double v, std::string& out) {
                 uint64_t bits;
                 static_assert(sizeof bits == sizeof v);
                 std::memcpy(&bits, &v, sizeof bits);
                 PutU64(out, bits);
               }));
}

Param Param::BoolArray(const std::vector<bool>& values) {
  return Param(binary::kBoolArray,
               EncodeArray(binary::kBool, values.size(), 1, [&](size_t i, std::string& out) {
                 out.push_back(values[i] ? 1 : 0);
                 return true;
               }));
}

Param Param::TextArray(absl::Span<const std::string> values) {
  return Param(binary::kTextArray, EncodeValues(binary::kText, values, 16, PutBytes<std::string>));
}

Param Param::TextArray(absl::Span<const absl::string_view> values) {
  return Param(binary::kTextArray,
               EncodeValues(binary::kText, values, 16, PutBytes<absl::string_view>));
}

Param Param::TextArray(absl::Span<const std::optional<std::string>> values) {
  return Param(binary::kTextArray,
               EncodeOptionals(binary::kText, values, 16, PutBytes<std::string>));
}

Param Param::ByteaArray(absl::Span<const std::string> values) {
  return Param(binary::kByteaArray,
               EncodeValues(binary::kBytea, values, 64, PutBytes<std::string>));
}

Param Param::ByteaArray(absl::Span<const absl::string_view> values) {
  return Param(binary::kByteaArray,
               EncodeValues(binary::kBytea, values, 64, PutBytes<absl::string_view>));
}

Param Param::TimeArray(absl::Span<const absl::Time> values) {
  return Param(binary::kTimestamptzArray, EncodeValues(binary::kTimestamptz, values, 8, PutTime));
}

Param Param::TimeArray(absl::Span<const std::optional<absl::Time>> values) {
  return Param(binary::kTimestamptzArray,
               EncodeOptionals(binary::kTimestamptz, values, 8, PutTime));
}

bool Param::is_bytea() const { return type_ == binary::kBytea; }

const std::string& Param::value() const {
  static const std::string* const kEmpty = new std::string();
  return value_.has_value() ? *value_ : *kEmpty;
}

}  // namespace sundesk::pg
