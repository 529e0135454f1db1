#include "services/notification/domain/email_template.h"

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace sundesk::notification {
namespace {

struct Template {
  const char* subject;
  const char* intro;
};

// {ticket} is the ticket id, {title} the ticket's subject (or the id), {detail} the
// payload's own line.
const std::map<std::string, Template>& Templates() {
  static const auto* const kTemplates = new std::map<std::string, Template>{
      {"TicketCreated", {"New ticket: {title}", "A ticket was created."}},
      {"TicketUpdated", {"Ticket updated: {title}", "A ticket's fields changed: {detail}."}},
      {"TicketStatusChanged",
       {"Ticket status changed: {title}", "The ticket's status changed: {detail}."}},
      {"TicketAssigned", {"Ticket assigned: {title}", "The ticket was assigned {detail}."}},
      {"TicketUnassigned", {"Ticket unassigned: {title}", "The ticket has no assignee now."}},
      {"CommentAdded", {"New comment on {title}", "A comment was added to the ticket."}},
      {"SlaWarning",
       {"SLA warning: {title}", "The ticket is close to missing a target: {detail}."}},
      {"SlaBreached", {"SLA breached: {title}", "The ticket missed a target: {detail}."}},
      {"SlaMet", {"SLA met: {title}", "The ticket met a target: {detail}."}},
  };
  return *kTemplates;
}

std::string OneLine(absl::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  return out;
}

bool IsAscii(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

EmailContent RenderEmail(const EventFacts& f) {
  const std::string title = f.ticket_subject.empty() ? f.ticket_id : f.ticket_subject;
  auto it = Templates().find(f.type);
  Template t = it != Templates().end()
                   ? it->second
                   : Template{"{type}: {title}", "Something happened to the ticket."};
  auto fill = [&](absl::string_view text) {
    return absl::StrReplaceAll(text, {{"{title}", title},
                                      {"{ticket}", f.ticket_id},
                                      {"{detail}", f.detail},
                                      {"{type}", f.type}});
  };
  EmailContent c;
  c.subject = OneLine(absl::StrCat("[sundesk] ", fill(t.subject)));
  c.body = absl::StrCat(
      fill(t.intro), "\n\n",          //
      "Event:  ", f.type, "\n",       //
      "Ticket: ", f.ticket_id, "\n",  //
      f.ticket_subject.empty() ? "" : "Title:  ", OneLine(f.ticket_subject),
      f.ticket_subject.empty() ? "" : "\n",  //
      "Time:   ", absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", f.time, absl::UTCTimeZone()),
      "\n",                              //
      "Event id: ", f.event_id, "\n\n",  //
      "You receive this because your company subscribed this address to "
      "sundesk notifications.\n");
  return c;
}

std::string FormatEmailMessage(const std::string& from, const std::string& to,
                               const EmailContent& content, const std::string& message_id,
                               absl::Time date) {
  std::string subject = IsAscii(content.subject)
                            ? content.subject
                            : absl::StrCat("=?UTF-8?B?", absl::Base64Escape(content.subject), "?=");
  std::string body = absl::StrReplaceAll(content.body, {{"\r\n", "\n"}});
  body = absl::StrReplaceAll(body, {{"\n", "\r\n"}});
  return absl::StrCat(
      "Date: ", absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", date, absl::UTCTimeZone()), "\r\n",
      "From: <", from, ">\r\n", "To: <", to, ">\r\n", "Subject: ", subject, "\r\n", "Message-ID: <",
      message_id, ">\r\n", "MIME-Version: 1.0\r\n", "Content-Type: text/plain; charset=utf-8\r\n",
      "Content-Transfer-Encoding: 8bit\r\n", "\r\n", body);
}

}  // namespace sundesk::notification
