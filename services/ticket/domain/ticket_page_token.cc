#include "services/ticket/domain/ticket_page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace sundesk::ticket {
namespace {
constexpr char kSeparator = '\x1f';
constexpr size_t kMacBytes = 16;

absl::Status BadToken() {
  return absl::InvalidArgumentError(
      "page_token: not a token of this query (it was altered, or the filter, order_by or caller "
      "differs from the first page)");
}
}  // namespace

std::string TicketPageTokens::Mac(absl::string_view binding, absl::string_view payload) const {
  std::string data = absl::StrCat(binding.size(), ":", binding, payload);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), kMacBytes);
}

std::string TicketPageTokens::Encode(absl::string_view binding,
                                     const std::vector<std::string>& cursor) const {
  std::string payload = absl::StrJoin(cursor, std::string(1, kSeparator));
  std::string token;
  absl::WebSafeBase64Escape(absl::StrCat(Mac(binding, payload), payload), &token);
  return token;
}

absl::StatusOr<std::vector<std::string>> TicketPageTokens::Decode(absl::string_view token,
                                                                  absl::string_view binding) const {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() < kMacBytes) return BadToken();
  absl::string_view mac = absl::string_view(raw).substr(0, kMacBytes);
  absl::string_view payload = absl::string_view(raw).substr(kMacBytes);
  std::string expected = Mac(binding, payload);
  if (CRYPTO_memcmp(mac.data(), expected.data(), kMacBytes) != 0) return BadToken();
  return std::vector<std::string>(absl::StrSplit(payload, kSeparator));
}

}  // namespace sundesk::ticket
