#include "libs/kafka/headers.h"

#include <cstdint>

#include "absl/status/status.h"

namespace sundesk::kafka {

std::optional<absl::string_view> FindHeader(const Headers& headers, absl::string_view key) {
  for (const Header& h : headers) {
    if (h.key == key) return absl::string_view(h.value);
  }
  return std::nullopt;
}

namespace {

void AppendLength(std::string& out, size_t n) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((n >> shift) & 0xff));
  }
}

// Reads a length-prefixed string off the front of `in`.
bool TakeField(absl::string_view& in, std::string& out) {
  if (in.size() < 4) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(in[i]);
  in.remove_prefix(4);
  if (in.size() < n) return false;
  out.assign(in.data(), n);
  in.remove_prefix(n);
  return true;
}

}  // namespace

std::string EncodeHeaders(const Headers& headers) {
  std::string out;
  for (const Header& h : headers) {
    AppendLength(out, h.key.size());
    out.append(h.key);
    AppendLength(out, h.value.size());
    out.append(h.value);
  }
  return out;
}

absl::StatusOr<Headers> DecodeHeaders(absl::string_view bytes) {
  Headers out;
  while (!bytes.empty()) {
    Header h;
    if (!TakeField(bytes, h.key) || !TakeField(bytes, h.value)) {
      return absl::DataLossError("encoded kafka headers are truncated or corrupt");
    }
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace sundesk::kafka
