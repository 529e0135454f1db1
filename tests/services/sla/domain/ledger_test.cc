#include "services/sla/domain/ledger.h"

#include <openssl/sha.h>

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"

namespace sundesk::sla {
namespace {

using ::testing::HasSubstr;

std::vector<LedgerEntry> Chain(int n) {
  std::vector<LedgerEntry> ledger;
  for (int i = 0; i < n; ++i) {
    LedgerEntry e;
    e.mutable_time()->set_seconds(1'767'225'600 + i * 60);
    e.set_metric(v1::SLA_METRIC_RESOLUTION);
    e.set_action(i == 0 ? v1::LEDGER_ACTION_STARTED : v1::LEDGER_ACTION_PAUSED);
    e.mutable_elapsed()->set_seconds(i * 60);
    e.set_cause_event_id("event-" + std::to_string(i));
    e.set_policy_id("policy-1");
    AppendToLedger(ledger, e);
  }
  return ledger;
}

TEST(LedgerTest, EntriesAreChained) {
  const std::vector<LedgerEntry> ledger = Chain(4);
  ASSERT_EQ(ledger.size(), 4u);
  EXPECT_EQ(ledger[0].sequence(), 1);
  EXPECT_EQ(ledger[0].prev_hash(), "");
  for (size_t i = 1; i < ledger.size(); ++i) {
    EXPECT_EQ(ledger[i].sequence(), static_cast<int64_t>(i) + 1);
    EXPECT_EQ(ledger[i].prev_hash(), ledger[i - 1].hash());
  }
  EXPECT_EQ(ledger[3].hash().size(), 64u);
  EXPECT_EQ(ledger[3].hash().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_TRUE(VerifyLedger(ledger).ok());
}

TEST(LedgerTest, HashCoversTheEntryWithoutItsOwnHash) {
  LedgerEntry e = Chain(1)[0];
  const std::string h = e.hash();
  e.set_hash("anything");
  EXPECT_EQ(LedgerHash(e), h);
  e.set_prev_hash("x");
  EXPECT_NE(LedgerHash(e), h);
}

// The hash is the SHA-256 of the deterministic serialization as a CodedOutputStream writes it
// (the way it was computed when the stored chains were written): the same bytes, every field
// set, so that stored chains still verify.
TEST(LedgerTest, HashIsTheSha256OfTheDeterministicSerialization) {
  LedgerEntry e;
  e.set_sequence(300);
  e.mutable_time()->set_seconds(1'767'225'600);
  e.mutable_time()->set_nanos(123'000);
  e.set_metric(v1::SLA_METRIC_RESOLUTION);
  e.set_action(v1::LEDGER_ACTION_PAUSED);
  e.mutable_elapsed()->set_seconds(3'600);
  e.mutable_elapsed()->set_nanos(5);
  e.mutable_deadline()->set_seconds(1'767'312'000);
  e.set_cause_event_id("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a72");
  e.set_prev_hash(std::string(64, 'a'));
  e.set_policy_id("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a73");
  e.set_cause_setting("calendars/cal-1@7");
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    e.SerializeToCodedStream(&coded);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  std::string hex;
  for (unsigned char b : digest) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex += kHex[b >> 4];
    hex += kHex[b & 0xf];
  }
  EXPECT_EQ(LedgerHash(e), hex);
  // Twice, and after a larger entry (the serialization buffer is reused per thread).
  LedgerEntry big = e;
  big.set_cause_setting(std::string(5000, 'x'));
  EXPECT_NE(LedgerHash(big), hex);
  EXPECT_EQ(LedgerHash(e), hex);
}

TEST(LedgerTest, TamperedEntryIsDetected) {
  std::vector<LedgerEntry> ledger = Chain(5);
  ledger[2].mutable_elapsed()->set_seconds(1);  // someone shortens the elapsed time
  const absl::Status st = VerifyLedger(ledger);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(st.message(), HasSubstr("ledger entry 3: hash"));
}

TEST(LedgerTest, RehashedTamperedEntryBreaksTheNextLink) {
  std::vector<LedgerEntry> ledger = Chain(5);
  ledger[2].set_action(v1::LEDGER_ACTION_MET);
  ledger[2].set_hash(LedgerHash(ledger[2]));  // a careful forger recomputes the hash
  EXPECT_THAT(VerifyLedger(ledger).message(), HasSubstr("ledger entry 4: prev_hash"));
}

TEST(LedgerTest, RemovedOrReorderedEntryIsDetected) {
  std::vector<LedgerEntry> removed = Chain(5);
  removed.erase(removed.begin() + 1);
  EXPECT_THAT(VerifyLedger(removed).message(), HasSubstr("ledger entry 2 has sequence 3"));
  std::vector<LedgerEntry> swapped = Chain(5);
  std::swap(swapped[1], swapped[2]);
  EXPECT_EQ(VerifyLedger(swapped).code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace sundesk::sla
