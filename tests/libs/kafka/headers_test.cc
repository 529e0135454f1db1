#include "libs/kafka/headers.h"

#include <gtest/gtest.h>

namespace sundesk::kafka {
namespace {

TEST(FindHeaderTest, FirstValueOfAnExactName) {
  Headers h = {{"ce_type", "TicketCreated"}, {"ce_id", "a"}, {"ce_id", "b"}, {"empty", ""}};
  EXPECT_EQ(FindHeader(h, "ce_id"), "a");
  EXPECT_EQ(FindHeader(h, "empty"), "");
  EXPECT_EQ(FindHeader(h, "CE_TYPE"), std::nullopt);
  EXPECT_EQ(FindHeader(h, "missing"), std::nullopt);
}

}  // namespace
}  // namespace sundesk::kafka

namespace sundesk::kafka {
namespace {

TEST(EncodeHeadersTest, RoundTripsBinaryRepeatsAndOrder) {
  Headers h = {{"ce_id", "x"}, {"bin", std::string("\0\xff\n", 3)}, {"ce_id", ""}, {"", "v"}};
  auto back = DecodeHeaders(EncodeHeaders(h));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, h);
  EXPECT_TRUE(DecodeHeaders("")->empty());
}

TEST(EncodeHeadersTest, CorruptInputIsDataLoss) {
  std::string good = EncodeHeaders({{"key", "value"}});
  for (size_t cut = 1; cut < good.size(); ++cut) {
    EXPECT_EQ(DecodeHeaders(absl::string_view(good).substr(0, cut)).status().code(),
              absl::StatusCode::kDataLoss)
        << cut;
  }
}

}  // namespace
}  // namespace sundesk::kafka
