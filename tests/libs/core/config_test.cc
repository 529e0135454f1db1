#include "libs/core/config.h"

#include "gtest/gtest.h"

namespace sundesk {
namespace {

Config MakeConfig() {
  return Config({{"grpc-addr", "127.0.0.1:50051", "gRPC listen address"},
                 {"drain-timeout", "10s", "grace for in-flight calls"},
                 {"json-logs", "false", "JSON lines"},
                 {"pool-size", "8", "connections"}});
}

TEST(Config, DefaultsWhenNothingGiven) {
  Config c = MakeConfig();
  const char* argv[] = {"svc"};
  ASSERT_TRUE(c.Parse(1, argv, {}).ok());
  EXPECT_EQ(c.Get("grpc-addr"), "127.0.0.1:50051");
  EXPECT_EQ(*c.GetDuration("drain-timeout"), absl::Seconds(10));
  EXPECT_FALSE(*c.GetBool("json-logs"));
  EXPECT_EQ(*c.GetInt("pool-size"), 8);
}

TEST(Config, EnvironmentOverridesDefaultAndFlagOverridesEnvironment) {
  Config c = MakeConfig();
  const char* argv[] = {"svc", "--pool-size=3", "--json-logs", "true"};
  ASSERT_TRUE(c.Parse(4, argv, {{"SUNDESK_POOL_SIZE", "5"}, {"SUNDESK_GRPC_ADDR", "0:1"}}).ok());
  EXPECT_EQ(c.Get("grpc-addr"), "0:1");
  EXPECT_EQ(*c.GetInt("pool-size"), 3);
  EXPECT_TRUE(*c.GetBool("json-logs"));
}

TEST(Config, UnknownFlagIsAnErrorNamingIt) {
  Config c = MakeConfig();
  const char* argv[] = {"svc", "--grpc-adr=x"};
  absl::Status st = c.Parse(2, argv, {});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("--grpc-adr"), std::string::npos);
}

TEST(Config, BadValuesNameTheOptionAndItsVariable) {
  Config c = MakeConfig();
  const char* argv[] = {"svc", "--pool-size=many", "--drain-timeout=soon"};
  ASSERT_TRUE(c.Parse(3, argv, {}).ok());
  EXPECT_NE(c.GetInt("pool-size").status().message().find("SUNDESK_POOL_SIZE"), std::string::npos);
  EXPECT_NE(c.GetDuration("drain-timeout").status().message().find("--drain-timeout"),
            std::string::npos);
}

TEST(Config, HelpListsEveryOptionWithItsVariable) {
  Config c = MakeConfig();
  const char* argv[] = {"svc", "--help"};
  absl::Status st = c.Parse(2, argv, {});
  EXPECT_EQ(st.code(), absl::StatusCode::kCancelled);
  EXPECT_NE(st.message().find("SUNDESK_DRAIN_TIMEOUT"), std::string::npos);
  EXPECT_NE(st.message().find("--json-logs"), std::string::npos);
}

TEST(EnvVarName, UpperSnakeWithPrefix) {
  EXPECT_EQ(EnvVarName("kafka-bootstrap"), "SUNDESK_KAFKA_BOOTSTRAP");
}

}  // namespace
}  // namespace sundesk
