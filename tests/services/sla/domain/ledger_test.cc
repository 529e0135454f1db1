#include "services/sla/domain/ledger.h"

#include <set>

#include "gmock/gmock.h"
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
