// Email content per event type, and the RFC 5322 message around it.
#include "services/notification/domain/email_template.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sundesk::notification {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

EventFacts Facts(std::string type) {
  return {.type = std::move(type),
          .event_id = "0190a000-0000-7000-8000-000000000e01",
          .tenant_id = "0190a000-0000-7000-8000-00000000000a",
          .ticket_id = "0190a000-0000-7000-8000-000000000701",
          .ticket_subject = "VPN drops every hour",
          .detail = "FIRST_RESPONSE",
          .time = absl::FromUnixSeconds(1'767'225'600)};
}

TEST(EmailTemplateTest, EachTypeHasItsSubject) {
  EXPECT_EQ(RenderEmail(Facts("TicketCreated")).subject,
            "[sundesk] New ticket: VPN drops every hour");
  EXPECT_EQ(RenderEmail(Facts("SlaBreached")).subject,
            "[sundesk] SLA breached: VPN drops every hour");
  EmailContent breached = RenderEmail(Facts("SlaBreached"));
  EXPECT_THAT(breached.body, HasSubstr("missed a target: FIRST_RESPONSE"));
  EXPECT_THAT(breached.body, HasSubstr("Time:   2026-01-01 00:00:00 UTC"));
  // Types without a template of their own get the generic one.
  EXPECT_EQ(RenderEmail(Facts("OfferMade")).subject, "[sundesk] OfferMade: VPN drops every hour");
}

TEST(EmailTemplateTest, SubjectCannotInjectHeaders) {
  EventFacts f = Facts("TicketCreated");
  f.ticket_subject = "Hi\r\nBcc: victim@example.com";
  EmailContent c = RenderEmail(f);
  EXPECT_THAT(c.subject, Not(HasSubstr("\n")));
  std::string message = FormatEmailMessage("n@sundesk.test", "a@example.com", c, "id@sundesk",
                                           absl::FromUnixSeconds(0));
  EXPECT_THAT(message, Not(HasSubstr("\r\nBcc:")));
}

TEST(EmailTemplateTest, MessageHeadersAndEncodedUnicodeSubject) {
  EventFacts f = Facts("TicketCreated");
  f.ticket_subject = "Impressora não imprime";
  std::string message = FormatEmailMessage("n@sundesk.test", "a@example.com", RenderEmail(f),
                                           "e.d@sundesk", absl::FromUnixSeconds(1'767'225'600));
  EXPECT_THAT(message, HasSubstr("From: <n@sundesk.test>\r\n"));
  EXPECT_THAT(message, HasSubstr("To: <a@example.com>\r\n"));
  EXPECT_THAT(message, HasSubstr("Subject: =?UTF-8?B?"));
  EXPECT_THAT(message, HasSubstr("Message-ID: <e.d@sundesk>\r\n"));
  EXPECT_THAT(message, HasSubstr("Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"));
  EXPECT_THAT(message, HasSubstr("\r\n\r\nA ticket was created.\r\n"));
}

}  // namespace
}  // namespace sundesk::notification
