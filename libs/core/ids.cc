#include "libs/core/ids.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "openssl/sha.h"

namespace sundesk {

UuidV7Generator::UuidV7Generator(const Clock& clock, uint64_t seed) : clock_(clock), rng_(seed) {}

std::string UuidV7Generator::NewId() {
  std::array<uint8_t, 16> b{};
  {
    absl::MutexLock lock(&mu_);
    int64_t ms = absl::ToUnixMillis(clock_.Now());
    if (ms > last_ms_) {
      last_ms_ = ms;
      // Start each millisecond at a random point in the lower half, leaving room to count.
      counter_ = static_cast<uint16_t>(rng_() & 0x7ff);
    } else if (++counter_ > 0xfff) {
      // 4096 ids in one millisecond (or the clock went back): borrow the next one.
      ++last_ms_;
      counter_ = 0;
    }
    ms = last_ms_;
    for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
    b[6] = static_cast<uint8_t>(0x70 | ((counter_ >> 8) & 0x0f));
    b[7] = static_cast<uint8_t>(counter_ & 0xff);
    uint64_t r = rng_();
    for (int i = 8; i < 16; ++i) b[i] = static_cast<uint8_t>(r >> (8 * (15 - i)));
  }
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));  // RFC 4122 variant

  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0f]);
  }
  return out;
}

std::string NameBasedUuid(absl::string_view name) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(name.data()), name.size(), digest);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0F) | 0x80);  // version 8
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3F) | 0x80);  // RFC 9562 variant
  const std::string hex =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20, 12));
}

bool IsUuid(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i])) ||
               absl::ascii_isupper(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

int64_t UuidV7Millis(absl::string_view uuid) {
  int64_t ms = 0;
  int digits = 0;
  for (char c : uuid) {
    if (c == '-') continue;
    if (digits == 12) break;
    int v = (c >= 'a') ? c - 'a' + 10 : c - '0';
    ms = (ms << 4) | v;
    ++digits;
  }
  return ms;
}

}  // namespace sundesk
