#include "services/notification/delivery/email_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sundesk::notification {
namespace {

struct Upload {
  std::string data;
  size_t offset = 0;
  static size_t Read(char* buffer, size_t size, size_t n, void* self) {
    auto* u = static_cast<Upload*>(self);
    size_t len = std::min(size * n, u->data.size() - u->offset);
    std::memcpy(buffer, u->data.data() + u->offset, len);
    u->offset += len;
    return len;
  }
};

}  // namespace

EmailSender::EmailSender(const Clock& clock, SmtpOptions options)
    : clock_(clock), options_(std::move(options)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { Work(); });
}

EmailSender::~EmailSender() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (auto& t : workers_) t.join();
  AttemptResult stopped;
  stopped.transport_error = true;
  stopped.error = "email sender shutting down";
  for (Queued& q : queue_) q.done(stopped);
}

void EmailSender::Send(EmailMessage message, WebhookDone done) {
  absl::MutexLock lock(&mu_);
  queue_.push_back({std::move(message), std::move(done)});
}

void EmailSender::Work() {
  while (true) {
    Queued q;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      q = std::move(queue_.front());
      queue_.pop_front();
    }
    q.done(SendOne(q.message));
  }
}

AttemptResult EmailSender::SendOne(const EmailMessage& m) {
  AttemptResult r;
  Upload upload{.data =
                    FormatEmailMessage(options_.from, m.to, m.content, m.message_id, clock_.Now())};
  CURL* e = curl_easy_init();
  char error[CURL_ERROR_SIZE] = {};
  const std::string from = absl::StrCat("<", options_.from, ">");
  const std::string to = absl::StrCat("<", m.to, ">");
  curl_slist* rcpt = curl_slist_append(nullptr, to.c_str());
  curl_easy_setopt(e, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(e, CURLOPT_READFUNCTION, &Upload::Read);
  curl_easy_setopt(e, CURLOPT_READDATA, &upload);
  curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload.data.size()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
  if (options_.starttls) curl_easy_setopt(e, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.username.empty()) {
    curl_easy_setopt(e, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, options_.password.c_str());
  }
  CURLcode code = curl_easy_perform(e);
  long reply = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &reply);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(e);
  if (code == CURLE_OK) {
    r.accepted = true;
    return r;
  }
  r.error = absl::StrCat("smtp: ", error[0] != '\0' ? error : curl_easy_strerror(code));
  if (reply >= 500 && reply < 600) {
    r.rejected = true;  // the relay refused the message for good (bad mailbox, policy)
  } else {
    r.transport_error = true;  // 4xx (try later), timeouts, connection errors
  }
  return r;
}

}  // namespace sundesk::notification
