// Runs the built deskctl binary against an in-process server with reflection, the default
// health service and a small echo service, as an operator's shell would.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/tools/deskctl/echo.grpc.pb.h"

namespace sundesk {
namespace {

namespace echo = ::deskctl::test::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKey[] = "test-key";
constexpr char kEchoService[] = "deskctl.test.v1.EchoService";

grpc::Status CheckKey(const grpc::ServerContext& context) {
  auto it = context.client_metadata().find("authorization");
  if (it == context.client_metadata().end() || it->second != absl::StrCat("Bearer ", kKey)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing or unknown API key");
  }
  return grpc::Status::OK;
}

class EchoService final : public echo::EchoService::Service {
  grpc::Status Echo(grpc::ServerContext* context, const echo::EchoMessage* request,
                    echo::EchoMessage* reply) override {
    if (grpc::Status auth = CheckKey(*context); !auth.ok()) return auth;
    *reply = *request;
    return grpc::Status::OK;
  }

  grpc::Status Count(grpc::ServerContext* context, const echo::CountRequest* request,
                     grpc::ServerWriter<echo::CountReply>* writer) override {
    if (grpc::Status auth = CheckKey(*context); !auth.ok()) return auth;
    for (int i = 1; i <= request->count(); ++i) {
      echo::CountReply reply;
      reply.set_index(i);
      writer->Write(reply);
    }
    return grpc::Status::OK;
  }

  grpc::Status Sum(grpc::ServerContext* context, grpc::ServerReader<echo::CountRequest>* reader,
                   echo::SumReply* reply) override {
    if (grpc::Status auth = CheckKey(*context); !auth.ok()) return auth;
    echo::CountRequest request;
    while (reader->Read(&request)) {
      reply->set_total(reply->total() + request.count());
      reply->set_requests(reply->requests() + 1);
    }
    return grpc::Status::OK;
  }

  grpc::Status Chat(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<echo::EchoMessage, echo::EchoMessage>* stream) override {
    if (grpc::Status auth = CheckKey(*context); !auth.ok()) return auth;
    echo::EchoMessage message;
    while (stream->Read(&message)) stream->Write(message);
    return grpc::Status::OK;
  }

  grpc::Status Stall(grpc::ServerContext* context, const echo::CountRequest* request,
                     echo::CountReply* reply) override {
    // The synchronous API has no wait for cancellation; polling it is the documented way.
    while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(10));
    return grpc::Status::CANCELLED;
  }
};

struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout and stderr together

  std::vector<std::string> Lines() const { return absl::StrSplit(output, '\n', absl::SkipEmpty()); }
};

class DeskctlTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(grpc::InsecureServerCredentials()); }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }

  void StartServer(const std::shared_ptr<grpc::ServerCredentials>& credentials) {
    // Reflection and the default health service are switched on for every builder.
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials, &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }

  std::string Addr() const { return absl::StrCat("127.0.0.1:", port_); }
  static std::string Deskctl() { return testing::BinDir() + "/deskctl"; }

  // The environment names the test server and no key, whatever the caller's shell has.
  testing::ProcessOptions Options(std::vector<std::string> argv,
                                  const std::map<std::string, std::string>& env = {}) {
    testing::ProcessOptions options;
    options.argv = std::move(argv);
    options.env = {{"SUNDESK_ADDR", Addr()}, {"SUNDESK_API_KEY", ""}};
    for (const auto& [name, value] : env) options.env[name] = value;
    options.log_path = absl::StrCat(dir_.path(), "/run", ++runs_, ".log");
    return options;
  }

  Outcome Finish(testing::Subprocess& process) {
    absl::StatusOr<int> exit_code = process.Wait(absl::Seconds(30));
    EXPECT_TRUE(exit_code.ok()) << exit_code.status();
    return Outcome{exit_code.value_or(-1), process.Log()};
  }

  Outcome Run(const std::vector<std::string>& args,
              const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv = {Deskctl()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto process = testing::Subprocess::Start(Options(std::move(argv), env));
    if (!process.ok()) return Outcome{-1, process.status().ToString()};
    return Finish(**process);
  }

  // Runs `deskctl <args>` with `stdin_text` piped in through the shell, so it sees EOF.
  Outcome RunWithStdin(const std::string& stdin_text, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/bin/sh", "-c", "printf '%s' \"$0\" | \"$@\"", stdin_text,
                                     Deskctl()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto process = testing::Subprocess::Start(Options(std::move(argv)));
    if (!process.ok()) return Outcome{-1, process.status().ToString()};
    return Finish(**process);
  }

  EchoService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  testing::TempDir dir_;
  int runs_ = 0;
};

TEST_F(DeskctlTest, ListShowsTheServicesTheServerExposes) {
  Outcome listed = Run({"list"});
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_THAT(listed.Lines(), ::testing::IsSupersetOf({std::string(kEchoService),
                                                       std::string("grpc.health.v1.Health")}));
}

TEST_F(DeskctlTest, ListOfAServiceShowsCallableMethodNames) {
  Outcome listed = Run({"list", kEchoService});
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_THAT(listed.Lines(),
              ElementsAre("deskctl.test.v1.EchoService/Echo", "deskctl.test.v1.EchoService/Count",
                          "deskctl.test.v1.EchoService/Sum", "deskctl.test.v1.EchoService/Chat",
                          "deskctl.test.v1.EchoService/Stall"));
}

TEST_F(DeskctlTest, DescribeShowsProtoText) {
  Outcome method = Run({"describe", "deskctl.test.v1.EchoService/Count"});
  EXPECT_EQ(method.exit_code, 0) << method.output;
  EXPECT_THAT(method.output, HasSubstr("rpc Count(.deskctl.test.v1.CountRequest) returns "
                                       "(stream .deskctl.test.v1.CountReply);"));
  EXPECT_THAT(method.output, HasSubstr("message CountRequest {\n  int32 count = 1;"));

  Outcome message = Run({"describe", "deskctl.test.v1.EchoMessage"});
  EXPECT_EQ(message.exit_code, 0) << message.output;
  EXPECT_THAT(message.output, HasSubstr(".google.protobuf.Timestamp sent_time = 7;"));

  Outcome unknown = Run({"describe", "deskctl.test.v1.Nothing"});
  EXPECT_EQ(unknown.exit_code, 5) << unknown.output;
  EXPECT_THAT(unknown.output, HasSubstr("ERROR: NOT_FOUND: symbol deskctl.test.v1.Nothing"));
}

TEST_F(DeskctlTest, CallRoundTripsEveryKindOfJsonField) {
  const std::string request = R"({
    "text": "Olá, señor — 你好",
    "ticketCount": "9007199254740993",
    "mood": "MOOD_URGENT",
    "tags": ["vip", "billing"],
    "labels": {"region": "eu"},
    "author": {"name": "Ana", "email": "ana@example.com"},
    "sent_time": "2026-01-02T03:04:05.500Z"
  })";
  Outcome called = Run({"--key", kKey, "call", "deskctl.test.v1.EchoService/Echo", request});
  ASSERT_EQ(called.exit_code, 0) << called.output;
  ASSERT_EQ(called.Lines().size(), 1u) << called.output;
  // Output keeps the proto field names, whichever spelling the request used.
  EXPECT_THAT(called.output, HasSubstr(R"("ticket_count":"9007199254740993")"));

  echo::EchoMessage sent;
  echo::EchoMessage answered;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(request, &sent).ok());
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(called.Lines()[0], &answered).ok())
      << called.output;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(sent, answered))
      << sent.DebugString() << "\nvs\n"
      << answered.DebugString();
}

TEST_F(DeskctlTest, CallReadsTheRequestFromStdinWithDash) {
  Outcome called = RunWithStdin("{\n  \"text\": \"from stdin\"\n}\n",
                                {"--key", kKey, "call", "deskctl.test.v1.EchoService/Echo", "-"});
  EXPECT_EQ(called.exit_code, 0) << called.output;
  EXPECT_THAT(called.Lines(), ElementsAre(R"({"text":"from stdin"})"));
}

TEST_F(DeskctlTest, KeyComesFromTheEnvironmentToo) {
  Outcome called = Run({"call", "deskctl.test.v1.EchoService/Echo", R"({"text":"hi"})"},
                       {{"SUNDESK_API_KEY", kKey}});
  EXPECT_EQ(called.exit_code, 0) << called.output;
  EXPECT_THAT(called.Lines(), ElementsAre(R"({"text":"hi"})"));
}

TEST_F(DeskctlTest, MissingKeyExitsWithUnauthenticatedCodeAndMessage) {
  Outcome called = Run({"call", "deskctl.test.v1.EchoService/Echo", R"({"text":"hi"})"});
  EXPECT_EQ(called.exit_code, 16) << called.output;
  EXPECT_THAT(called.output, HasSubstr("ERROR: UNAUTHENTICATED: missing or unknown API key"));
  EXPECT_THAT(called.output, Not(HasSubstr(R"("text")")));
}

TEST_F(DeskctlTest, UnknownMethodOrServiceIsNotFound) {
  Outcome method = Run({"--key", kKey, "call", "deskctl.test.v1.EchoService/Shout", "{}"});
  EXPECT_EQ(method.exit_code, 5) << method.output;
  EXPECT_THAT(method.output, HasSubstr("ERROR: NOT_FOUND: unknown method Shout in service "
                                       "deskctl.test.v1.EchoService"));

  Outcome service = Run({"--key", kKey, "call", "deskctl.test.v1.Nope/Shout", "{}"});
  EXPECT_EQ(service.exit_code, 5) << service.output;
  EXPECT_THAT(service.output,
              HasSubstr("ERROR: NOT_FOUND: method deskctl.test.v1.Nope/Shout is not known"));

  Outcome malformed = Run({"--key", kKey, "call", "Shout", "{}"});
  EXPECT_EQ(malformed.exit_code, 3) << malformed.output;
  EXPECT_THAT(malformed.output, HasSubstr("is not a method name"));
}

TEST_F(DeskctlTest, BadJsonIsInvalidArgumentNamingTheField) {
  Outcome called =
      Run({"--key", kKey, "call", "deskctl.test.v1.EchoService/Echo", R"({"txet":"hi"})"});
  EXPECT_EQ(called.exit_code, 3) << called.output;
  EXPECT_THAT(called.output, HasSubstr("ERROR: INVALID_ARGUMENT: request JSON for "
                                       "deskctl.test.v1.EchoMessage"));
  EXPECT_THAT(called.output, HasSubstr("txet"));
}

TEST_F(DeskctlTest, ServerStreamingPrintsOneLinePerReply) {
  Outcome called =
      Run({"--key", kKey, "call", "deskctl.test.v1.EchoService/Count", R"({"count":5})"});
  EXPECT_EQ(called.exit_code, 0) << called.output;
  EXPECT_THAT(called.Lines(), ElementsAre(R"({"index":1})", R"({"index":2})", R"({"index":3})",
                                          R"({"index":4})", R"({"index":5})"));
}

TEST_F(DeskctlTest, ServerStreamingErrorExitsWithItsCode) {
  Outcome called = Run({"call", "deskctl.test.v1.EchoService/Count", R"({"count":5})"});
  EXPECT_EQ(called.exit_code, 16) << called.output;
  EXPECT_THAT(called.output, HasSubstr("ERROR: UNAUTHENTICATED"));
}

TEST_F(DeskctlTest, ClientStreamingSendsOneRequestPerStdinLine) {
  Outcome called = RunWithStdin("{\"count\":1}\n\n{\"count\":2}\n{\"count\":3}",
                                {"--key", kKey, "call", "deskctl.test.v1.EchoService/Sum"});
  EXPECT_EQ(called.exit_code, 0) << called.output;
  EXPECT_THAT(called.Lines(), ElementsAre(R"({"total":"6","requests":3})"));
}

TEST_F(DeskctlTest, ClientStreamingBadLineNamesTheLine) {
  Outcome called = RunWithStdin("{\"count\":1}\n{\"count\":\"many\"}\n",
                                {"--key", kKey, "call", "deskctl.test.v1.EchoService/Sum", "-"});
  EXPECT_EQ(called.exit_code, 3) << called.output;
  EXPECT_THAT(called.output, HasSubstr("ERROR: INVALID_ARGUMENT: stdin line 2: "));
}

TEST_F(DeskctlTest, BidiStreamingRunsToEndOfInput) {
  Outcome called = RunWithStdin("{\"text\":\"one\"}\n{\"text\":\"two\"}\n",
                                {"--key", kKey, "call", "deskctl.test.v1.EchoService/Chat", "-"});
  EXPECT_EQ(called.exit_code, 0) << called.output;
  EXPECT_THAT(called.Lines(), ElementsAre(R"({"text":"one"})", R"({"text":"two"})"));
}

TEST_F(DeskctlTest, BidiStreamingAnswersEachLineAsItArrives) {
  testing::ProcessOptions options =
      Options({Deskctl(), "--key", kKey, "call", "deskctl.test.v1.EchoService/Chat"});
  options.stdin_pipe = true;
  auto process = testing::Subprocess::Start(options);
  ASSERT_TRUE(process.ok()) << process.status();
  testing::Subprocess& deskctl = **process;
  for (const std::string word : {"first", "second"}) {
    ASSERT_TRUE(deskctl.WriteLine(absl::StrCat(R"({"text":")", word, R"("})")).ok());
    EXPECT_TRUE(testing::WaitFor(
        [&] { return absl::StrContains(deskctl.Log(), absl::StrCat(R"({"text":")", word)); },
        absl::Seconds(10)))
        << deskctl.Log();
  }
  EXPECT_TRUE(deskctl.Running());
}

TEST_F(DeskctlTest, BidiStreamEndedByTheServerDoesNotWaitForMoreInput) {
  testing::ProcessOptions options =
      Options({Deskctl(), "call", "deskctl.test.v1.EchoService/Chat"});  // no key
  options.stdin_pipe = true;  // open, and never written to
  auto process = testing::Subprocess::Start(options);
  ASSERT_TRUE(process.ok()) << process.status();
  Outcome called = Finish(**process);
  EXPECT_EQ(called.exit_code, 16) << called.output;
  EXPECT_THAT(called.output, HasSubstr("ERROR: UNAUTHENTICATED"));
}

TEST_F(DeskctlTest, TimeoutBoundsAUnaryCall) {
  absl::Time start = absl::Now();
  Outcome called =
      Run({"--key", kKey, "--timeout", "300ms", "call", "deskctl.test.v1.EchoService/Stall"});
  EXPECT_EQ(called.exit_code, 4) << called.output;
  EXPECT_THAT(called.output, HasSubstr("ERROR: DEADLINE_EXCEEDED"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(DeskctlTest, HealthPrintsTheServingStatus) {
  Outcome overall = Run({"health"});
  EXPECT_EQ(overall.exit_code, 0) << overall.output;
  EXPECT_THAT(overall.Lines(), ElementsAre("SERVING"));

  server_->GetHealthCheckService()->SetServingStatus("deskctl.test.v1.Draining", false);
  Outcome draining = Run({"health", "deskctl.test.v1.Draining"});
  EXPECT_EQ(draining.exit_code, 69) << draining.output;
  EXPECT_THAT(draining.Lines(), ElementsAre("NOT_SERVING"));

  Outcome unknown = Run({"health", "deskctl.test.v1.Unheard"});
  EXPECT_EQ(unknown.exit_code, 5) << unknown.output;
  EXPECT_THAT(unknown.output, HasSubstr("ERROR: NOT_FOUND"));
}

TEST_F(DeskctlTest, HealthServiceIsDescribedAndCallableThoughNotReflected) {
  Outcome described = Run({"describe", "grpc.health.v1.Health"});
  EXPECT_EQ(described.exit_code, 0) << described.output;
  EXPECT_THAT(described.output, HasSubstr("rpc Check("));

  Outcome called = Run({"call", "grpc.health.v1.Health/Check"});
  EXPECT_EQ(called.exit_code, 0) << called.output;
  EXPECT_THAT(called.Lines(), ElementsAre(R"({"status":"SERVING"})"));
}

TEST_F(DeskctlTest, UnreachableServerIsUnavailable) {
  Outcome listed =
      Run({"--addr", absl::StrCat("127.0.0.1:", testing::FreePort()), "--timeout", "5s", "list"});
  EXPECT_EQ(listed.exit_code, 14) << listed.output;
  EXPECT_THAT(listed.output, HasSubstr("ERROR: UNAVAILABLE: "));
}

TEST_F(DeskctlTest, UsageErrorExits64) {
  Outcome called = Run({"call"});
  EXPECT_EQ(called.exit_code, 64) << called.output;
  EXPECT_THAT(called.output, HasSubstr("usage: deskctl"));
}

// A server that wants TLS and a client certificate signed by a CA made for the test.
class DeskctlTlsTest : public DeskctlTest {
 protected:
  void SetUp() override {
    // EC keys: generated in milliseconds, where RSA takes a noticeable while.
    const std::string script = R"(set -e
      cd "$0"
      key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      openssl req -x509 $key -keyout ca.key -out ca.pem -days 2 -subj /CN=deskctl-test-ca
      for name in server client; do
        openssl req $key -keyout $name.key -out $name.csr -subj /CN=$name
      done
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
        -days 2 -extfile server.ext -out server.pem
      openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
        -days 2 -out client.pem)";
    testing::ProcessOptions options;
    options.argv = {"/bin/sh", "-c", script, certs_.path()};
    options.log_path = certs_.path() + "/openssl.log";
    auto openssl = testing::Subprocess::Start(options);
    ASSERT_TRUE(openssl.ok()) << openssl.status();
    ASSERT_EQ((*openssl)->Wait(absl::Seconds(60)).value_or(-1), 0)
        << "making test certificates needs the openssl command:\n"
        << (*openssl)->Log();

    grpc::SslServerCredentialsOptions tls(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    tls.pem_root_certs = testing::ReadFile(Cert("ca.pem"));
    tls.pem_key_cert_pairs.push_back(
        {testing::ReadFile(Cert("server.key")), testing::ReadFile(Cert("server.pem"))});
    StartServer(grpc::SslServerCredentials(tls));
  }

  std::string Cert(const std::string& name) const { return certs_.path() + "/" + name; }

  testing::TempDir certs_;
};

TEST_F(DeskctlTlsTest, MutualTlsCallSucceeds) {
  Outcome called = Run({"--tls-ca", Cert("ca.pem"), "--tls-cert", Cert("client.pem"), "--tls-key",
                        Cert("client.key"), "--key", kKey, "call",
                        "deskctl.test.v1.EchoService/Echo", R"({"text":"over tls"})"});
  EXPECT_EQ(called.exit_code, 0) << called.output;
  EXPECT_THAT(called.Lines(), ElementsAre(R"({"text":"over tls"})"));

  Outcome health = Run({"--tls-ca", Cert("ca.pem"), "--tls-cert", Cert("client.pem"), "--tls-key",
                        Cert("client.key"), "--tls-server-name", "localhost", "health"});
  EXPECT_EQ(health.exit_code, 0) << health.output;
  EXPECT_THAT(health.Lines(), ElementsAre("SERVING"));
}

TEST_F(DeskctlTlsTest, ServerRefusesAClientWithoutCertificate) {
  Outcome tls_only = Run({"--tls-ca", Cert("ca.pem"), "--timeout", "5s", "health"});
  EXPECT_EQ(tls_only.exit_code, 14) << tls_only.output;

  Outcome plaintext = Run({"--timeout", "5s", "health"});
  EXPECT_EQ(plaintext.exit_code, 14) << plaintext.output;
}

TEST_F(DeskctlTlsTest, UnreadableCertificateFileIsReported) {
  Outcome called = Run({"--tls-ca", Cert("missing.pem"), "health"});
  EXPECT_EQ(called.exit_code, 3) << called.output;
  EXPECT_THAT(called.output, HasSubstr("--tls-ca: cannot read "));
}

}  // namespace
}  // namespace sundesk
