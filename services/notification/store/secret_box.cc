#include "services/notification/store/secret_box.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sundesk::notification {
namespace {

constexpr int kKeySize = 32;
constexpr int kNonceSize = 12;
constexpr int kTagSize = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

absl::StatusOr<SecretBox> SecretBox::Parse(absl::string_view spec) {
  SecretBox box;
  int index = 0;
  for (absl::string_view entry : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    std::vector<absl::string_view> parts = absl::StrSplit(entry, absl::MaxSplits(':', 1));
    if (parts.size() != 2 || parts[0].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("webhook secret keys[", index, "]: want <key id>:<64 hex digits>"));
    }
    const std::string id(parts[0]);
    if (parts[1].size() != 2 * kKeySize ||
        !std::all_of(parts[1].begin(), parts[1].end(),
                     [](char c) { return absl::ascii_isxdigit(c); })) {
      return absl::InvalidArgumentError(absl::StrCat("webhook secret keys[", index, "] (\"", id,
                                                     "\"): the key must be 64 hex digits"));
    }
    if (box.keys_.contains(id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("webhook secret keys[", index, "]: key id \"", id, "\" repeated"));
    }
    box.keys_[id] = absl::HexStringToBytes(parts[1]);
    if (index == 0) box.current_ = id;
    ++index;
  }
  if (box.keys_.empty()) return absl::InvalidArgumentError("webhook secret keys: none given");
  return box;
}

absl::StatusOr<SealedSecret> SecretBox::Seal(absl::string_view plaintext,
                                             absl::string_view subscription_id) const {
  const std::string& key = keys_.at(current_);
  std::string out(kNonceSize + plaintext.size() + kTagSize, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(nonce, kNonceSize) != 1) return absl::InternalError("secret box: no randomness");
  CipherContext ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  auto* cipher = reinterpret_cast<unsigned char*>(out.data() + kNonceSize);
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(subscription_id),
                        static_cast<int>(subscription_id.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), cipher, &len, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), cipher + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                          out.data() + kNonceSize + plaintext.size()) != 1) {
    return absl::InternalError("secret box: encryption failed");
  }
  return SealedSecret{.key_id = current_, .sealed = std::move(out)};
}

absl::StatusOr<std::string> SecretBox::Open(const SealedSecret& secret,
                                            absl::string_view subscription_id) const {
  auto key = keys_.find(secret.key_id);
  if (key == keys_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("webhook secret sealed with key \"", secret.key_id,
                     "\", which is not configured (--webhook-secret-keys)"));
  }
  const absl::string_view sealed = secret.sealed;
  if (sealed.size() < kNonceSize + kTagSize) {
    return absl::DataLossError("webhook secret: sealed value too short");
  }
  const size_t n = sealed.size() - kNonceSize - kTagSize;
  std::string plain(n, '\0');
  std::string tag(sealed.substr(kNonceSize + n));
  CipherContext ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key->second),
                         Bytes(sealed)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(subscription_id),
                        static_cast<int>(subscription_id.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out, &len, Bytes(sealed.substr(kNonceSize)),
                        static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out + len, &len) != 1) {
    return absl::DataLossError(
        "webhook secret: does not authenticate (tampered, or not this subscription's)");
  }
  return plain;
}

}  // namespace sundesk::notification
