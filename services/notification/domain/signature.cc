#include "services/notification/domain/signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

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

}  // namespace sundesk::notification
