// EmailSender against a real SMTP relay that wants STARTTLS and a login: aiosmtpd
// (Debian's python3-aiosmtpd) with a certificate this test makes with `openssl req`, an
// authenticator, and AUTH allowed only after STARTTLS. The sender logs in over TLS and the
// message arrives; a wrong password is refused for good; without STARTTLS the relay
// refuses the mail and nothing arrives.
#include "services/notification/delivery/email_sender.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "tests/support/process.h"

namespace sundesk::notification {
namespace {

using ::testing::HasSubstr;

constexpr char kUser[] = "sundesk-relay";
constexpr char kPassword[] = "relay-password-42";

// A relay requiring STARTTLS, then AUTH (PLAIN/LOGIN) as kUser, storing mail in a maildir.
constexpr char kRelayScript[] = R"py(
import sys, ssl, threading
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, maildir, user, password = sys.argv[1:7]

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
          and auth_data.password == password.encode())
    print("auth", mechanism, "ok" if ok else "refused", flush=True)
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=int(port),
                        tls_context=context, require_starttls=True,
                        authenticator=authenticator, auth_required=True,
                        auth_require_tls=True)
controller.start()
print("ready", flush=True)
threading.Event().wait()
)py";

std::vector<std::string> Mailbox(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/new", ec)) {
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    out.push_back(text.str());
  }
  return out;
}

class EmailSenderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    cert_ = dir_->path() + "/relay.crt";
    const std::string key = dir_->path() + "/relay.key";
    // A self-signed certificate for 127.0.0.1, which the sender is told to trust.
    auto openssl = testing::Subprocess::Start(
        {.argv = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                  "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out",
                  cert_},
         .log_path = dir_->path() + "/openssl.log"});
    ASSERT_TRUE(openssl.ok()) << openssl.status();
    auto code = (*openssl)->Wait(absl::Seconds(30));
    ASSERT_TRUE(code.ok() && *code == 0) << (*openssl)->Log();

    const std::string script = dir_->path() + "/relay.py";
    std::ofstream(script) << kRelayScript;
    port_ = testing::FreePort();
    auto relay =
        testing::Subprocess::Start({.argv = {"/usr/bin/python3", script, absl::StrCat(port_), cert_,
                                             key, dir_->path() + "/mail", kUser, kPassword},
                                    .log_path = dir_->path() + "/relay.log"});
    ASSERT_TRUE(relay.ok()) << relay.status();
    relay_ = relay->release();
    ASSERT_TRUE(testing::WaitFor([] { return relay_->Log().find("ready") != std::string::npos; },
                                 absl::Seconds(30)))
        << relay_->Log();
  }

  static void TearDownTestSuite() {
    delete relay_;
    delete dir_;
  }

  static SmtpOptions Options() {
    return {.url = absl::StrCat("smtp://127.0.0.1:", port_),
            .from = "notifications@sundesk.test",
            .username = kUser,
            .password = kPassword,
            .starttls = true,
            .ca_file = cert_,
            .timeout = absl::Seconds(10),
            .workers = 1};
  }

  // Sends one message and returns its outcome.
  static AttemptResult SendOne(const SmtpOptions& options, const std::string& to,
                               const std::string& subject) {
    SystemClock clock;
    EmailSender sender(clock, options);
    absl::Notification done;
    AttemptResult result;
    sender.Send({.to = to,
                 .content = {.subject = subject, .body = "Ticket: t-1\n"},
                 .message_id = absl::StrCat(subject.size(), ".test@sundesk")},
                [&](const AttemptResult& r) {
                  result = r;
                  done.Notify();
                });
    done.WaitForNotification();
    return result;
  }

  static bool Arrived(const std::string& subject) {
    for (const std::string& m : Mailbox(dir_->path() + "/mail")) {
      if (m.find(subject) != std::string::npos) return true;
    }
    return false;
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline std::string cert_;
  static inline int port_ = 0;
  static inline testing::Subprocess* relay_ = nullptr;
};

TEST_F(EmailSenderTest, LogsInOverStartTlsAndTheMessageArrives) {
  AttemptResult r = SendOne(Options(), "oncall@client.example.com", "[sundesk] over TLS");
  EXPECT_TRUE(r.accepted) << r.error << "\n" << relay_->Log();
  ASSERT_TRUE(
      testing::WaitFor([] { return Arrived("Subject: [sundesk] over TLS"); }, absl::Seconds(20)))
      << relay_->Log();
  for (const std::string& m : Mailbox(dir_->path() + "/mail")) {
    if (m.find("Subject: [sundesk] over TLS") == std::string::npos) continue;
    EXPECT_THAT(m, HasSubstr("To: <oncall@client.example.com>"));
  }
  EXPECT_THAT(relay_->Log(), ::testing::ContainsRegex("auth [A-Z]+ ok"));  // logged in
}

TEST_F(EmailSenderTest, AWrongPasswordIsRefusedForGood) {
  SmtpOptions options = Options();
  options.password = "not-the-password";
  AttemptResult r = SendOne(options, "oncall@client.example.com", "[sundesk] wrong password");
  EXPECT_FALSE(r.accepted);
  EXPECT_TRUE(r.rejected) << r.error;  // 535: permanent, not retried
  EXPECT_FALSE(Arrived("[sundesk] wrong password"));
}

TEST_F(EmailSenderTest, WithoutStartTlsTheRelayTakesNothing) {
  SmtpOptions options = Options();
  options.starttls = false;
  AttemptResult r = SendOne(options, "oncall@client.example.com", "[sundesk] in the clear");
  EXPECT_FALSE(r.accepted) << relay_->Log();
  EXPECT_FALSE(r.error.empty());
  EXPECT_FALSE(Arrived("[sundesk] in the clear"));
}

TEST_F(EmailSenderTest, ACertificateNotSignedByTheGivenCaIsRefused) {
  SmtpOptions options = Options();
  options.ca_file = "/etc/ssl/certs/ca-certificates.crt";  // the system CAs do not sign it
  AttemptResult r = SendOne(options, "oncall@client.example.com", "[sundesk] untrusted");
  EXPECT_FALSE(r.accepted);
  EXPECT_TRUE(r.transport_error) << r.error;
  EXPECT_FALSE(Arrived("[sundesk] untrusted"));
}

}  // namespace
}  // namespace sundesk::notification
