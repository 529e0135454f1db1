// libs/rpc against a real gRPC server on a loopback port chosen by the kernel.
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/core/worker_pool.h"
#include "libs/metrics/metrics_server.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/client.h"
#include "libs/rpc/handler.h"
#include "libs/rpc/server.h"
#include "rpc_test.grpc.pb.h"
#include "tests/support/process.h"

namespace sundesk::rpc {
namespace {

using sundesk::rpctest::v1::EchoRequest;
using sundesk::rpctest::v1::EchoResponse;
using sundesk::rpctest::v1::EchoService;
using ::testing::HasSubstr;

class EchoHandlers final : public EchoService::CallbackService {
 public:
  explicit EchoHandlers(const Authenticator& auth) : auth_(auth) {}
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const EchoRequest* req,
                                 EchoResponse* resp) override {
    if (workers != nullptr && finishers != nullptr) {
      return DeferredUnary(
          workers, ctx, auth_, [this, req, resp](const Principal& p, UnaryFinish finish) {
            deferred_calls.fetch_add(1);
            finishers->Schedule([this, p, req, resp, finish = std::move(finish)]() mutable {
              finished_on = std::this_thread::get_id();
              std::move(finish)(Handle(p, req, resp));
            });
          });
    }
    if (workers != nullptr) {
      return BlockingUnary(workers, ctx, auth_,
                           [this, req, resp](const Principal& p) { return Handle(p, req, resp); });
    }
    return Unary(ctx, auth_, [&](const Principal& p) { return Handle(p, req, resp); });
  }
  absl::Notification in_flight;
  WorkerPool* workers = nullptr;  // BlockingUnary on it when set
  // With `workers`: DeferredUnary, the handler's outcome computed and the call finished on
  // this other pool.
  WorkerPool* finishers = nullptr;
  std::atomic<int> deferred_calls{0};
  std::atomic<std::thread::id> finished_on;

 private:
  absl::Status Handle(const Principal& p, const EchoRequest* req, EchoResponse* resp) {
    {
      if (req->delay_ms() > 0) {
        if (!notified_.exchange(true)) in_flight.Notify();
        std::this_thread::sleep_for(std::chrono::milliseconds(req->delay_ms()));
      }
      if (req->message().empty()) return absl::InvalidArgumentError("message: must not be empty");
      resp->set_message(req->message());
      resp->set_role(std::string(RoleName(p.role)));
      return absl::OkStatus();
    }
  }

  const Authenticator& auth_;
  std::atomic<bool> notified_{false};
};

class RpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth_.Add("admin-secret", {.role = Role::kAdmin, .key_id = "admin"});
    auth_.Add("client-secret", {.role = Role::kClient, .tenant_id = "t1", .key_id = "k1"});
  }

  void StartServer(absl::Duration drain = absl::Seconds(5),
                   std::vector<std::function<void()>> before_drain = {}) {
    ServerOptions options;
    options.before_drain = std::move(before_drain);
    options.services = {{"sundesk.rpctest.v1.EchoService", &handlers_}};
    options.readiness_checks = {{"dependency", [this] {
                                   return dependency_up_.load() ? absl::OkStatus()
                                                                : absl::UnavailableError("down");
                                 }}};
    options.readiness_interval = absl::Milliseconds(20);
    options.drain_timeout = drain;
    auto server = Server::Start(std::move(options), *registry_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = *MakeChannel({.target = absl::StrCat("127.0.0.1:", server_->port())});
    stub_ = EchoService::NewStub(channel_);
  }

  std::string HealthOf(const std::string& service) {
    auto health = grpc::health::v1::Health::NewStub(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status st = health->Check(&ctx, req, &resp);
    if (!st.ok()) return "error " + std::to_string(st.error_code());
    return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status());
  }

  grpc::Status Echo(const std::string& key, const std::string& message, EchoResponse* resp,
                    int delay_ms = 0) {
    EchoRequest req;
    req.set_message(message);
    req.set_delay_ms(delay_ms);
    auto ctx = NewClientContext({.timeout = absl::Seconds(10), .api_key = key});
    return stub_->Echo(ctx.get(), req, resp);
  }

  StaticKeyAuthenticator auth_;
  EchoHandlers handlers_{auth_};
  std::atomic<bool> dependency_up_{false};
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<EchoService::Stub> stub_;
};

TEST_F(RpcTest, CallWithoutKeyIsUnauthenticated) {
  StartServer();
  EchoResponse resp;
  grpc::Status st = Echo("", "hi", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(st.error_message(), HasSubstr("authorization"));
  st = Echo("wrong", "hi", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RpcTest, KeyResolvesToItsPrincipal) {
  StartServer();
  EchoResponse resp;
  ASSERT_TRUE(Echo("client-secret", "hello", &resp).ok());
  EXPECT_EQ(resp.message(), "hello");
  EXPECT_EQ(resp.role(), "CLIENT");
}

TEST_F(RpcTest, DomainErrorKeepsItsCodeAndMessage) {
  StartServer();
  EchoResponse resp;
  grpc::Status st = Echo("admin-secret", "", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("message"));
}

TEST_F(RpcTest, HealthIsNotServingUntilDependenciesAnswerAndFollowsThem) {
  StartServer();
  EXPECT_EQ(HealthOf(""), "NOT_SERVING");
  EXPECT_EQ(HealthOf("sundesk.rpctest.v1.EchoService"), "NOT_SERVING");
  dependency_up_ = true;
  EXPECT_TRUE(testing::WaitFor([&] { return HealthOf("") == "SERVING"; }, absl::Seconds(5)));
  EXPECT_EQ(HealthOf("sundesk.rpctest.v1.EchoService"), "SERVING");
  dependency_up_ = false;
  EXPECT_TRUE(testing::WaitFor([&] { return HealthOf("") == "NOT_SERVING"; }, absl::Seconds(5)));
}

TEST_F(RpcTest, ShutdownDrainsTheCallInFlight) {
  StartServer(absl::Seconds(10));
  dependency_up_ = true;
  ASSERT_TRUE(testing::WaitFor([&] { return server_->serving(); }, absl::Seconds(5)));
  EchoResponse resp;
  grpc::Status st;
  std::thread caller([&] { st = Echo("admin-secret", "slow", &resp, /*delay_ms=*/300); });
  ASSERT_TRUE(handlers_.in_flight.WaitForNotificationWithTimeout(absl::Seconds(5)));
  server_->Shutdown();
  caller.join();
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.message(), "slow");
  EXPECT_FALSE(server_->serving());
}

TEST_F(RpcTest, BeforeDrainHooksRunOnceInOrderAfterHealthTurnsAndBeforeTheDrain) {
  std::vector<std::string> ran;
  bool serving_when_hooked = true;
  bool call_done_when_hooked = true;
  std::atomic<bool> call_done{false};
  StartServer(absl::Seconds(10), {[&] {
                                    ran.push_back("first");
                                    serving_when_hooked = server_->serving();
                                    call_done_when_hooked = call_done.load();
                                  },
                                  [&] { ran.push_back("second"); }});
  dependency_up_ = true;
  ASSERT_TRUE(testing::WaitFor([&] { return server_->serving(); }, absl::Seconds(5)));
  EchoResponse resp;
  grpc::Status st;
  std::thread caller([&] {
    st = Echo("admin-secret", "slow", &resp, /*delay_ms=*/500);
    call_done = true;
  });
  ASSERT_TRUE(handlers_.in_flight.WaitForNotificationWithTimeout(absl::Seconds(5)));
  server_->Shutdown();
  server_->Shutdown();  // idempotent: the hooks do not run again
  caller.join();
  EXPECT_TRUE(st.ok()) << "the call in flight still drained: " << st.error_message();
  EXPECT_EQ(ran, (std::vector<std::string>{"first", "second"}));
  EXPECT_FALSE(serving_when_hooked) << "health is NOT_SERVING before the hooks run";
  EXPECT_FALSE(call_done_when_hooked) << "the hooks run before the drain, not after it";
}

TEST_F(RpcTest, MetricsUseGoGrpcPrometheusNames) {
  StartServer();
  EchoResponse resp;
  ASSERT_TRUE(Echo("admin-secret", "x", &resp).ok());
  ASSERT_FALSE(Echo("admin-secret", "", &resp).ok());
  auto families = registry_->Collect();
  double ok = -1, invalid = -1, started = -1, observations = -1;
  for (const auto& f : families) {
    for (const auto& m : f.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& l : m.label) labels[l.name] = l.value;
      if (labels["grpc_method"] != "Echo") continue;
      EXPECT_EQ(labels["grpc_service"], "sundesk.rpctest.v1.EchoService");
      EXPECT_EQ(labels["grpc_type"], "unary");
      if (f.name == "grpc_server_handled_total" && labels["grpc_code"] == "OK") {
        ok = m.counter.value;
      }
      if (f.name == "grpc_server_handled_total" && labels["grpc_code"] == "InvalidArgument") {
        invalid = m.counter.value;
      }
      if (f.name == "grpc_server_started_total") started = m.counter.value;
      if (f.name == "grpc_server_handling_seconds") {
        observations = static_cast<double>(m.histogram.sample_count);
      }
    }
  }
  EXPECT_EQ(started, 2);
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(invalid, 1);
  EXPECT_EQ(observations, 2);
}

TEST_F(RpcTest, RetryOnlyRetriesUnavailable) {
  int calls = 0;
  grpc::Status st =
      CallWithRetry({.timeout = absl::Seconds(5)}, {.max_attempts = 3}, [&](grpc::ClientContext&) {
        ++calls;
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "down");
      });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  calls = 0;
  st = CallWithRetry({}, {.max_attempts = 3}, [&](grpc::ClientContext&) {
    ++calls;
    return grpc::Status(grpc::StatusCode::ABORTED, "stale etag");
  });
  EXPECT_EQ(calls, 1);
  calls = 0;
  st = CallWithRetry({}, {}, [&](grpc::ClientContext&) {
    return ++calls < 2 ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "") : grpc::Status::OK;
  });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(calls, 2);
}

TEST_F(RpcTest, ClientContextKeepsTheShorterDeadline) {
  auto ctx = NewClientContext({.timeout = absl::Seconds(3), .api_key = "k"});
  auto left = ctx->deadline() - std::chrono::system_clock::now();
  EXPECT_LE(left, std::chrono::seconds(3));
  EXPECT_GT(left, std::chrono::seconds(2));
}

TEST_F(RpcTest, MetricsServerExposesBuildInfo) {
  auto metrics = metrics::MetricsServer::Start("127.0.0.1:0", "test", registry_);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_GT((*metrics)->port(), 0);
  bool found = false;
  for (const auto& f : registry_->Collect()) found |= f.name == "sundesk_build_info";
  EXPECT_TRUE(found);
}

TEST(RequireRole, NamesTheRolesNeeded) {
  Principal p{.role = Role::kClient};
  absl::Status st = RequireRole(p, {Role::kAdmin, Role::kService});
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(st.message()), HasSubstr("ADMIN or SERVICE"));
  EXPECT_TRUE(RequireRole(p, {Role::kClient}).ok());
}

}  // namespace
}  // namespace sundesk::rpc

namespace sundesk::rpc {
namespace {

class FixedAuthenticator final : public Authenticator {
 public:
  explicit FixedAuthenticator(absl::StatusOr<Principal> answer) : answer_(std::move(answer)) {}
  absl::StatusOr<Principal> Resolve(absl::string_view) const override {
    ++calls;
    return answer_;
  }
  mutable int calls = 0;

 private:
  absl::StatusOr<Principal> answer_;
};

TEST(ChainAuthenticator, FirstThatKnowsTheKeyWins) {
  StaticKeyAuthenticator statics;
  statics.Add("bootstrap", {.role = Role::kAdmin, .key_id = "static"});
  FixedAuthenticator database(Principal{.role = Role::kClient, .tenant_id = "t1", .key_id = "db"});
  ChainAuthenticator chain({&statics, &database});
  EXPECT_EQ(chain.Resolve("bootstrap")->key_id, "static");
  EXPECT_EQ(database.calls, 0);  // a static key needs no database
  auto db = chain.Resolve("sdk_other");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db->tenant_id, "t1");
}

TEST(ChainAuthenticator, UnknownEverywhereIsUnauthenticatedOutageIsUnavailable) {
  StaticKeyAuthenticator statics;
  FixedAuthenticator unknown(absl::UnauthenticatedError("unknown, revoked or expired API key"));
  ChainAuthenticator chain({&statics, &unknown});
  EXPECT_EQ(chain.Resolve("nope").status().code(), absl::StatusCode::kUnauthenticated);
  FixedAuthenticator down(absl::UnavailableError("database down"));
  FixedAuthenticator after(Principal{.role = Role::kAdmin});
  ChainAuthenticator outage({&statics, &down, &after});
  EXPECT_EQ(outage.Resolve("nope").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(after.calls, 0);
  EXPECT_EQ(ChainAuthenticator({}).Resolve("x").status().code(),
            absl::StatusCode::kUnauthenticated);
}

// Raw bytes to Echo through a generic stub, for requests the generated stub cannot make.
grpc::Status CallWithRawRequest(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& method, const std::string& bytes) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ctx.AddMetadata("authorization", "Bearer admin-secret");
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status st) {
    status = std::move(st);
    done.Notify();
  });
  done.WaitForNotification();
  return status;
}

// Field 1 (message) of EchoRequest as a length-delimited string holding `bytes`.
std::string StringField(int number, const std::string& bytes) {
  return std::string(1, static_cast<char>((number << 3) | 2)) +
         std::string(1, static_cast<char>(bytes.size())) + bytes;
}

TEST_F(RpcTest, InvalidUtf8InAStringFieldIsInvalidArgumentNamingTheField) {
  StartServer();
  const std::string bad = "caf\xC3\x28";  // 0xC3 0x28: not UTF-8
  grpc::Status st =
      CallWithRawRequest(channel_, "/sundesk.rpctest.v1.EchoService/Echo", StringField(1, bad));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_EQ(st.error_message(), "message: not valid UTF-8");

  // Inside a nested message: the path from the request down.
  st = CallWithRawRequest(channel_, "/sundesk.rpctest.v1.EchoService/Echo",
                          StringField(3, StringField(1, bad)));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_EQ(st.error_message(), "sender.email: not valid UTF-8");

  // A map's key.
  st = CallWithRawRequest(channel_, "/sundesk.rpctest.v1.EchoService/Echo",
                          StringField(4, StringField(1, bad) + StringField(2, "v")));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_EQ(st.error_message(), "labels: not valid UTF-8");

  // The server goes on serving well-formed requests.
  EchoResponse resp;
  EXPECT_TRUE(Echo("admin-secret", "still here", &resp).ok());
}

TEST_F(RpcTest, BytesThatAreNoMessageAreInvalidArgumentAndUnknownMethodsStayUnimplemented) {
  StartServer();
  // Field 1 claims 100 bytes and the buffer ends after 3.
  grpc::Status st = CallWithRawRequest(channel_, "/sundesk.rpctest.v1.EchoService/Echo",
                                       std::string("\x0a\x64") + "abc");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_EQ(st.error_message(), "request: not a valid sundesk.rpctest.v1.EchoRequest message");

  st = CallWithRawRequest(channel_, "/sundesk.rpctest.v1.EchoService/NoSuchMethod", "");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED) << st.error_message();
}

TEST_F(RpcTest, BlockingUnaryRunsHandlersOnTheWorkerPoolConcurrently) {
  WorkerPool workers(8, "test");
  handlers_.workers = &workers;
  StartServer();
  // Eight calls that each block 300 ms finish together when they run side by side; the
  // check is that all succeed with their own answers, not how long they took.
  std::vector<std::thread> callers;
  std::vector<grpc::Status> statuses(8);
  std::vector<EchoResponse> responses(8);
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&, i] {
      statuses[i] = Echo("client-secret", absl::StrCat("call ", i), &responses[i], 300);
    });
  }
  for (auto& t : callers) t.join();
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
    EXPECT_EQ(responses[i].message(), absl::StrCat("call ", i));
    EXPECT_EQ(responses[i].role(), "CLIENT");
  }
  EchoResponse resp;
  EXPECT_EQ(Echo("", "hi", &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << "authentication also runs on the pool";
  server_.reset();  // drained before the pool goes
}

TEST_F(RpcTest, DeferredUnaryFinishesTheCallFromTheThreadThatHasTheOutcome) {
  WorkerPool workers(2, "test");
  WorkerPool finishers(1, "finish");
  handlers_.workers = &workers;
  handlers_.finishers = &finishers;
  StartServer();
  std::thread::id finisher_thread;
  finishers.Schedule([&] { finisher_thread = std::this_thread::get_id(); });
  EchoResponse resp;
  grpc::Status st = Echo("client-secret", "later", &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.message(), "later");
  EXPECT_EQ(resp.role(), "CLIENT");
  EXPECT_EQ(handlers_.finished_on.load(), finisher_thread);

  st = Echo("client-secret", "", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "message: must not be empty");

  EXPECT_EQ(Echo("", "hi", &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(handlers_.deferred_calls.load(), 2) << "an unauthenticated call never reaches fn";
  server_.reset();
}

TEST(WorkerPoolTest, RunsEveryTaskAndTheDestructorDrainsTheQueue) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(3, "test");
    EXPECT_EQ(pool.threads(), 3);
    for (int i = 0; i < 200; ++i) {
      pool.Schedule([&ran] {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        ran.fetch_add(1);
      });
    }
  }
  EXPECT_EQ(ran.load(), 200);
}

}  // namespace
}  // namespace sundesk::rpc
