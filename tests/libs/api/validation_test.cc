#include "libs/api/validation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sundesk::api {
namespace {

using ::testing::HasSubstr;

TEST(Utf8, AcceptsValidRejectsInvalid) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("Bom dia, S\xC3\xA3o Paulo"));  // ã
  EXPECT_TRUE(IsValidUtf8("\xE6\x97\xA5\xE6\x9C\xAC"));   // 日本
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));           // U+1F600
  EXPECT_FALSE(IsValidUtf8("\xC3"));                      // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));                      // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));                  // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));              // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));              // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));          // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_EQ(Utf8Length("S\xC3\xA3o"), 3u);
}

TEST(LanguageTag, PracticalBcp47) {
  for (const char* ok : {"sv", "pt-BR", "zh-Hant-TW", "en", "gsw", "es-419", "de-CH-1901"}) {
    EXPECT_TRUE(IsLanguageTag(ok)) << ok;
  }
  for (const char* bad : {"", "e", "english", "pt_BR", "pt-", "-pt", "pt--BR", "12", "pt-B",
                          "en-abcdefghi", "en US", "s\xC3\xA3"}) {
    EXPECT_FALSE(IsLanguageTag(bad)) << bad;
  }
}

TEST(CheckText, NamesTheFieldAndCountsCharacters) {
  EXPECT_TRUE(CheckText("tenant.name", "Acme", 1, 200).ok());
  absl::Status empty = CheckText("tenant.name", "", 1, 200);
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.message(), HasSubstr("tenant.name"));
  // 200 two-byte characters fit in 200 chars although they are 400 bytes.
  std::string two_hundred;
  for (int i = 0; i < 200; ++i) two_hundred += "\xC3\xA3";
  EXPECT_TRUE(CheckText("tenant.name", two_hundred, 1, 200).ok());
  EXPECT_THAT(CheckText("tenant.name", two_hundred + "a", 1, 200).message(),
              HasSubstr("at most 200"));
  EXPECT_THAT(CheckText("tenant.name", "bad\xC3", 1, 200).message(), HasSubstr("UTF-8"));
  EXPECT_THAT(CheckText("tenant.name", std::string("a\0b", 3), 1, 200).message(), HasSubstr("NUL"));
}

TEST(CheckTextBytes, LimitIsInBytes) {
  EXPECT_TRUE(CheckTextBytes("tenant.guidelines", std::string(16384, 'a'), 16384).ok());
  absl::Status big = CheckTextBytes("tenant.guidelines", std::string(16385, 'a'), 16384);
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(big.message(), HasSubstr("tenant.guidelines"));
  EXPECT_FALSE(CheckTextBytes("tenant.guidelines", "\xFF", 100).ok());
}

TEST(CheckTimeZone, IanaOnly) {
  EXPECT_TRUE(CheckTimeZone("tenant.time_zone", "Europe/Stockholm").ok());
  EXPECT_TRUE(CheckTimeZone("tenant.time_zone", "America/Sao_Paulo").ok());
  EXPECT_TRUE(CheckTimeZone("tenant.time_zone", "UTC").ok());
  for (const char* bad :
       {"", "Mars/Olympus", "localtime", "Fixed/UTC+01:00:00", "+01:00", "Europe/Stockholm\n"}) {
    absl::Status st = CheckTimeZone("tenant.time_zone", bad);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(st.message(), HasSubstr("tenant.time_zone")) << bad;
  }
}

TEST(CheckLanguageTag, NamesTheField) {
  EXPECT_TRUE(CheckLanguageTag("tenant.default_language", "pt-BR").ok());
  absl::Status st = CheckLanguageTag("tenant.languages[1]", "portuguese");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("tenant.languages[1]"));
}

TEST(PageSize, DefaultsCapsAndRejectsNegative) {
  EXPECT_EQ(*ResolvePageSize("page_size", 0), kDefaultPageSize);
  EXPECT_EQ(*ResolvePageSize("page_size", 7), 7);
  EXPECT_EQ(*ResolvePageSize("page_size", 100000), kMaxPageSize);
  EXPECT_THAT(ResolvePageSize("page_size", -1).status().message(), HasSubstr("page_size"));
}

TEST(RequestId, AtMost128Chars) {
  EXPECT_TRUE(CheckRequestId("request_id", "").ok());
  EXPECT_TRUE(CheckRequestId("request_id", std::string(128, 'r')).ok());
  EXPECT_THAT(CheckRequestId("request_id", std::string(129, 'r')).message(),
              HasSubstr("request_id"));
}

}  // namespace
}  // namespace sundesk::api
