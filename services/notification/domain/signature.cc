#include "services/notification/domain/signature.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <charconv>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sundesk::notification {

std::string WebhookSignature(absl::string_view secret, int64_t unix_seconds,
                             absl::string_view body) {
  const std::string signed_payload = absl::StrCat(unix_seconds, ".", body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_payload.data()), signed_payload.size(), mac,
       &mac_len);
  return absl::StrCat(
      "t=", unix_seconds, ",v1=",
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), mac_len)));
}

WebhookSigner::WebhookSigner() {
  mac_ = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (mac_ != nullptr) ctx_ = EVP_MAC_CTX_new(mac_);
}

WebhookSigner::~WebhookSigner() {
  EVP_MAC_CTX_free(ctx_);
  EVP_MAC_free(mac_);
}

absl::string_view WebhookSigner::Sign(absl::string_view secret, int64_t unix_seconds,
                                      absl::string_view body, char* out) {
  if (ctx_ == nullptr) return {};
  char digits[24];
  const char* digits_end = std::to_chars(digits, digits + sizeof(digits), unix_seconds).ptr;
  const absl::string_view t(digits, static_cast<size_t>(digits_end - digits));
  // The digest is named once: a later init with a new key keeps it (naming it again would
  // fetch it again).
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  // An empty key is still a key: OpenSSL needs a non-null pointer for it.
  static const unsigned char kEmpty = 0;
  const auto* key =
      secret.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(secret.data());
  if (EVP_MAC_init(ctx_, key, secret.size(), digest_set_ ? nullptr : params) != 1) return {};
  digest_set_ = true;
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  if (EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(t.data()), t.size()) != 1 ||
      EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>("."), 1) != 1 ||
      EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(body.data()), body.size()) != 1 ||
      EVP_MAC_final(ctx_, mac, &mac_len, sizeof(mac)) != 1 || mac_len != 32) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  char* p = out;
  *p++ = 't';
  *p++ = '=';
  for (char c : t) *p++ = c;
  for (char c : absl::string_view(",v1=")) *p++ = c;
  for (size_t i = 0; i < mac_len; ++i) {
    *p++ = kHex[mac[i] >> 4];
    *p++ = kHex[mac[i] & 0xf];
  }
  return absl::string_view(out, static_cast<size_t>(p - out));
}

}  // namespace sundesk::notification
