#include "tools/deskctl/options.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/deskctl/deskctl.h"

namespace sundesk::deskctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseOptionsTest, DefaultsAndEnvironment) {
  absl::StatusOr<Options> plain = ParseOptions({"list"}, {});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->addr, "127.0.0.1:50051");
  EXPECT_EQ(plain->api_key, "");
  EXPECT_EQ(plain->timeout, absl::Seconds(10));
  EXPECT_FALSE(plain->timeout_given);

  absl::StatusOr<Options> from_env =
      ParseOptions({"list"}, {{"SUNDESK_ADDR", "10.0.0.1:1"}, {"SUNDESK_API_KEY", "k1"}});
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->addr, "10.0.0.1:1");
  EXPECT_EQ(from_env->api_key, "k1");
}

TEST(ParseOptionsTest, FlagsBeatEnvironmentInBothSpellingsAndAnyPosition) {
  absl::StatusOr<Options> options =
      ParseOptions({"--addr=h:2", "call", "a.B/C", "--key", "k2", "{}", "--timeout", "250ms"},
                   {{"SUNDESK_ADDR", "h:1"}, {"SUNDESK_API_KEY", "k1"}});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->addr, "h:2");
  EXPECT_EQ(options->api_key, "k2");
  EXPECT_EQ(options->timeout, absl::Milliseconds(250));
  EXPECT_TRUE(options->timeout_given);
  EXPECT_EQ(options->command, "call");
  EXPECT_THAT(options->args, ElementsAre("a.B/C", "{}"));
}

TEST(ParseOptionsTest, DashIsStdinAndDoubleDashEndsOptions) {
  absl::StatusOr<Options> stdin_request = ParseOptions({"call", "a.B/C", "-"}, {});
  ASSERT_TRUE(stdin_request.ok()) << stdin_request.status();
  EXPECT_THAT(stdin_request->args, ElementsAre("a.B/C", "-"));

  absl::StatusOr<Options> literal = ParseOptions({"describe", "--", "--odd"}, {});
  ASSERT_TRUE(literal.ok()) << literal.status();
  EXPECT_THAT(literal->args, ElementsAre("--odd"));
}

TEST(ParseOptionsTest, TimeoutTakesSecondsOrDurations) {
  EXPECT_EQ(ParseOptions({"--timeout", "3", "list"}, {})->timeout, absl::Seconds(3));
  EXPECT_EQ(ParseOptions({"--timeout", "1.5m", "list"}, {})->timeout, absl::Seconds(90));
  EXPECT_EQ(ParseOptions({"--timeout", "0", "list"}, {})->timeout, absl::ZeroDuration());
  absl::StatusOr<Options> bad = ParseOptions({"--timeout", "soon", "list"}, {});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("soon"));
}

TEST(ParseOptionsTest, RejectsMalformedCommandLines) {
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {},
           {"frob"},
           {"list", "a", "b"},
           {"describe"},
           {"call"},
           {"call", "a.B/C", "{}", "extra"},
           {"--nope", "list"},
           {"list", "--addr"},
           {"--tls=yes", "list"},
           {"--tls-cert", "c.pem", "list"},
       }) {
    EXPECT_EQ(ParseOptions(argv, {}).status().code(), absl::StatusCode::kInvalidArgument)
        << ::testing::PrintToString(argv);
  }
}

TEST(RunTest, UsageErrorsExit64WithTheUsage) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(deskctl::Run({"call"}, {}, /*in_fd=*/0, out, err), kExitUsage);
  EXPECT_THAT(err.str(), HasSubstr("wrong number of arguments for 'call'"));
  EXPECT_THAT(err.str(), HasSubstr("usage: deskctl"));
  EXPECT_EQ(out.str(), "");
}

TEST(RunTest, HelpGoesToStdoutAndSucceeds) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(deskctl::Run({"--help"}, {}, /*in_fd=*/0, out, err), 0);
  EXPECT_THAT(out.str(), HasSubstr("usage: deskctl"));
  EXPECT_EQ(err.str(), "");
}

}  // namespace
}  // namespace sundesk::deskctl
