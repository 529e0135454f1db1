#pragma once

#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "services/notification/delivery/webhook_sender.h"
#include "services/notification/domain/email_template.h"

namespace sundesk::notification {

struct SmtpOptions {
  std::string url;   // the relay: "smtp://host:port" (or "smtps://" for implicit TLS)
  std::string from;  // envelope and header sender
  std::string username;
  std::string password;
  bool starttls = false;  // require STARTTLS on smtp:// (credentials then go encrypted)
  // PEM CA bundle the relay's certificate is checked against; empty: the system's. The
  // certificate is always verified (name and chain).
  std::string ca_file;
  absl::Duration timeout = absl::Seconds(30);
  int workers = 4;  // messages sent at once
};

struct EmailMessage {
  std::string to;
  EmailContent content;
  std::string message_id;  // "<event id>.<delivery id>@sundesk"
};

// Sends plain-text emails through an SMTP relay with libcurl, `workers` at a time. The
// outcome comes back as an AttemptResult: the relay accepting the message is "delivered";
// a 4xx SMTP reply, a timeout or a connection error is retried; a 5xx reply is permanent.
class EmailSender {
 public:
  EmailSender(const Clock& clock, SmtpOptions options);
  // Stops the workers; queued messages complete with a transport error (retried later).
  ~EmailSender();
  EmailSender(const EmailSender&) = delete;
  EmailSender& operator=(const EmailSender&) = delete;

  void Send(EmailMessage message, WebhookDone done);

 private:
  struct Queued {
    EmailMessage message;
    WebhookDone done;
  };
  void Work();
  AttemptResult SendOne(const EmailMessage& message);

  const Clock& clock_;
  const SmtpOptions options_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;
};

}  // namespace sundesk::notification
