#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/redis/reply.h"

namespace sundesk::redis {
namespace {

TEST(ErrorReplyTest, StatusNamesTheErrorAndMapsItsKind) {
  absl::Status wrong_type =
      ErrorReplyStatus("WRONGTYPE Operation against a key holding the wrong kind of value");
  EXPECT_EQ(wrong_type.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(wrong_type.message(),
            "redis: WRONGTYPE Operation against a key holding the wrong kind of value");
  EXPECT_EQ(ErrorKind(wrong_type), "WRONGTYPE");

  EXPECT_EQ(ErrorReplyStatus("NOSCRIPT No matching script.").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrorReplyStatus("LOADING Redis is loading the dataset in memory").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReplyStatus("READONLY You can't write against a read only replica.").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReplyStatus("OOM command not allowed when used memory > 'maxmemory'.").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReplyStatus("WRONGPASS invalid username-password pair").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorReplyStatus("ERR unknown command 'NOPE'").code(), absl::StatusCode::kInternal);
  // A script's own error prefix is kept for the caller to switch on.
  EXPECT_EQ(ErrorKind(ErrorReplyStatus("AGENT_FULL agent has no free capacity")), "AGENT_FULL");
  EXPECT_EQ(ErrorKind(absl::InternalError("not from redis")), "");
}

TEST(ReplyTest, DebugStringReadsLikeRedisCli) {
  Reply array{.type = ReplyType::kArray,
              .elements = {{.type = ReplyType::kString, .str = std::string("a\0z", 3)},
                           {.type = ReplyType::kNil},
                           {.type = ReplyType::kInteger, .integer = 7},
                           {.type = ReplyType::kStatus, .str = "OK"}}};
  EXPECT_EQ(array.DebugString(), "[\"a\\x00z\", (nil), (integer) 7, OK]");
  EXPECT_EQ(array, array);
  EXPECT_NE(array.elements[0], array.elements[1]);
}

}  // namespace
}  // namespace sundesk::redis
