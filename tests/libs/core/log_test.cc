#include "libs/core/log.h"

#include "gtest/gtest.h"

namespace sundesk::log {
namespace {

TEST(JsonEscape, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonEscape("a\"b\\c\nd\x01"), "a\\\"b\\\\c\\nd\\u0001");
  EXPECT_EQ(JsonEscape("grüße"), "grüße");  // UTF-8 passes through
}

TEST(Init, RejectsUnknownLevel) {
  EXPECT_EQ(Init({.service = "t", .level = "loud"}).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sundesk::log
