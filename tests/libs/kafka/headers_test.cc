#include <gtest/gtest.h>

#include "libs/kafka/headers.h"

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
