#pragma once

#include <string>

#include "absl/time/time.h"

namespace sundesk::notification {

// What an email about an event may say: taken from the event by the caller, so the
// template itself needs no protobuf.
struct EventFacts {
  std::string type;  // "TicketCreated"
  std::string event_id;
  std::string tenant_id;
  std::string ticket_id;       // the event's subject
  std::string ticket_subject;  // when the payload carries the ticket
  std::string detail;          // one line the payload adds ("to agent a-7", "OPEN -> SOLVED")
  absl::Time time = absl::InfinitePast();
};

struct EmailContent {
  std::string subject;  // one line, no CR/LF
  std::string body;     // plain text, lines ending in "\n"
};

// The plain-text email for an event, from its type's template (a generic one for types
// without their own). Control characters in event data become spaces in the subject.
EmailContent RenderEmail(const EventFacts& facts);

// The whole RFC 5322 message (CRLF line ends): Date, From, To, Subject (RFC 2047 encoded
// when not ASCII), Message-ID, MIME headers, then the body with dot-free line starts left
// to the SMTP client.
std::string FormatEmailMessage(const std::string& from, const std::string& to,
                               const EmailContent& content, const std::string& message_id,
                               absl::Time date);

}  // namespace sundesk::notification
