#include "services/sla/domain/ledger.h"

#include <openssl/sha.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace sundesk::sla {
namespace {

std::string Sha256(const std::string& data, size_t bytes = SHA256_DIGEST_LENGTH) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), bytes);
}

std::string Hex(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) absl::StrAppendFormat(&out, "%02x", c);
  return out;
}

}  // namespace

std::string LedgerHash(const LedgerEntry& entry) {
  LedgerEntry copy = entry;
  copy.clear_hash();
  std::string serialized;
  {
    google::protobuf::io::StringOutputStream stream(&serialized);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&coded);
  }
  return Hex(Sha256(serialized));
}

void AppendToLedger(std::vector<LedgerEntry>& ledger, LedgerEntry entry) {
  // `ledger` may hold only the stored tail of the chain (its last entry) before new ones.
  entry.set_sequence(ledger.empty() ? 1 : ledger.back().sequence() + 1);
  entry.set_prev_hash(ledger.empty() ? "" : ledger.back().hash());
  entry.set_hash(LedgerHash(entry));
  ledger.push_back(std::move(entry));
}

absl::Status VerifyLedger(const std::vector<LedgerEntry>& ledger) {
  for (size_t i = 0; i < ledger.size(); ++i) {
    const LedgerEntry& e = ledger[i];
    const std::string expected_prev = i == 0 ? "" : ledger[i - 1].hash();
    if (e.sequence() != static_cast<int64_t>(i) + 1) {
      return absl::DataLossError(
          absl::StrCat("ledger entry ", i + 1, " has sequence ", e.sequence()));
    }
    if (e.prev_hash() != expected_prev) {
      return absl::DataLossError(
          absl::StrCat("ledger entry ", e.sequence(), ": prev_hash does not match entry ", i));
    }
    if (e.hash() != LedgerHash(e)) {
      return absl::DataLossError(
          absl::StrCat("ledger entry ", e.sequence(), ": hash does not match its contents"));
    }
  }
  return absl::OkStatus();
}

}  // namespace sundesk::sla
