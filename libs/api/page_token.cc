#include "libs/api/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cassert>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sundesk::api {
namespace {

constexpr size_t kMacBytes = 32;  // SHA-256

// Length-prefixed, so ("ab", "c") and ("a", "bc") sign differently.
void AppendField(std::string& out, absl::string_view field) {
  absl::StrAppend(&out, field.size(), ":", field, ";");
}

}  // namespace

PageTokenSigner::PageTokenSigner(std::string key) : key_(std::move(key)) {
  if (key_.empty()) std::abort();  // a configuration error main must catch first
}

std::string PageTokenSigner::Mac(absl::string_view scope, absl::string_view query,
                                 absl::string_view position) const {
  std::string message = "sundesk.page_token.v1;";
  AppendField(message, scope);
  AppendField(message, query);
  AppendField(message, position);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

std::string PageTokenSigner::Sign(absl::string_view scope, absl::string_view query,
                                  absl::string_view position) const {
  return absl::WebSafeBase64Escape(absl::StrCat(position, Mac(scope, query, position)));
}

absl::StatusOr<std::string> PageTokenSigner::Verify(absl::string_view field,
                                                    absl::string_view scope,
                                                    absl::string_view query,
                                                    absl::string_view token) const {
  const absl::Status invalid = absl::InvalidArgumentError(
      absl::StrCat(field,
                   ": not a page token of this query; pass next_page_token unchanged, with the "
                   "same filters and order"));
  std::string raw;
  if (token.size() > 4096 || !absl::WebSafeBase64Unescape(token, &raw) || raw.size() < kMacBytes) {
    return invalid;
  }
  absl::string_view position = absl::string_view(raw).substr(0, raw.size() - kMacBytes);
  std::string expected = Mac(scope, query, position);
  if (CRYPTO_memcmp(expected.data(), raw.data() + position.size(), kMacBytes) != 0) {
    return invalid;
  }
  return std::string(position);
}

}  // namespace sundesk::api
