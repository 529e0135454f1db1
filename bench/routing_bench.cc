// Routing decisions: ChooseAgent for queued tickets against 10,000 agents (50 client
// tenants, 12 languages, shifts in 6 time zones, 70 % AVAILABLE) and 100,000 queued
// tickets, one decision per iteration, on one thread.
//
//   routing_decision/baseline      every agent is a candidate (a scan of all 10,000)
//   routing_decision/tenant_index  only the agents holding a certification for the ticket's
//                                  tenant (as a per-tenant index would hand them over)
//   routing_decision/candidate_index  CandidateIndex::Choose (tenant x language buckets,
//                                  the tenant's agents only when a stage relaxing the
//                                  language can decide), same answers as the baseline
//   routing_decision/router        Router::Route as the service runs it, over in-memory
//                                  stores: the directory revision checked, the policy and
//                                  tenant read, the live state of the agents the decision
//                                  looks at read (one GetMany), CandidateIndex::ChooseLive
//                                  and the claim (released again, so loads stay put). What
//                                  the stores cost over the network is not in it.
//   routing_decision/router_redis/live_state_max_age_ms:<n>
//                                  the same Router with the live state in a real
//                                  redis-server (RedisPresenceStore, as the service runs
//                                  it): per decision one pipelined read of the best-ranked
//                                  agents' presence and load (usually one round trip) and
//                                  the claim script (one); the release after each decision
//                                  is outside the timed part. Policy, tenant and directory
//                                  revision still in memory (in the service: PostgreSQL).
//                                  With n > 0 the Router remembers what it read for n ms
//                                  (RouterOptions::live_state_max_age; the fake clock
//                                  follows real time) and claims with ClaimIfAvailable.
//                                  Counters reads_per_decision, agents_read_per_decision and
//                                  claims_per_decision: what one decision asked of Redis.
//
// Counters: decisions_per_s, and p50_us / p99_us of the individual decisions.
// The end-to-end CreateTicket -> OfferMade latency is bench/routing_latency_bench.
#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "benchmark/benchmark.h"
#include "libs/core/clock.h"
#include "services/routing/domain/candidate_index.h"
#include "services/routing/domain/matching.h"
#include "services/routing/domain/router.h"
#include "services/routing/store/redis_presence_store.h"
#include "tests/support/redis_server.h"

namespace sundesk::routing {
namespace {

constexpr int kAgents = 10'000;
constexpr int kTickets = 100'000;
constexpr int kTenants = 50;
constexpr int kLanguages = 12;
constexpr int kSkills = 20;

struct World {
  std::vector<std::string> tenants;
  std::vector<std::string> languages;
  std::deque<AgentProfile> profiles;
  std::vector<Candidate> all;
  std::map<std::string, std::vector<Candidate>> by_tenant;
  std::vector<TicketToRoute> tickets;
  std::map<std::string, RoutingPolicy> policies;
  std::vector<std::string> tenant_languages;
  absl::Time now;
};

const World& TheWorld() {
  static const World* world = [] {
    auto* w = new World;
    std::mt19937 rng(42);
    auto pick = [&](int n) { return static_cast<int>(rng() % n); };
    // A Wednesday, 10:00 UTC.
    w->now = absl::FromCivil(absl::CivilSecond(2026, 3, 25, 10, 0, 0), absl::UTCTimeZone());
    for (int i = 0; i < kTenants; ++i) {
      w->tenants.push_back(absl::StrCat("0190a000-0000-7000-8000-", 100000000000 + i));
    }
    const char* codes[kLanguages] = {"en", "sv", "pt-BR", "es", "de", "fr",
                                     "fi", "da", "nl",    "it", "pl", "ja"};
    w->languages.assign(codes, codes + kLanguages);
    w->tenant_languages = {"en"};
    const char* zones[] = {"Europe/Stockholm", "America/Sao_Paulo", "Asia/Tokyo",
                           "America/New_York", "Europe/Lisbon",     "Asia/Kolkata"};
    for (int i = 0; i < kAgents; ++i) {
      Agent a;
      a.agent_id = absl::StrCat("agent-", i);
      a.display_name = a.agent_id;
      a.languages = {{w->languages[pick(kLanguages)], 1 + pick(5)}, {"en", 2 + pick(4)}};
      for (int s = 0; s < 3; ++s)
        a.skills.push_back({absl::StrCat("skill-", pick(kSkills)), 1 + pick(5)});
      std::set<int> certified;
      while (certified.size() < 5) certified.insert(pick(kTenants));
      for (int t : certified) {
        Certification c{w->tenants[t], std::nullopt};
        if (pick(10) == 0) c.expire_time = w->now - absl::Hours(24);
        a.certifications.push_back(c);
      }
      a.capacity = 3;
      a.time_zone = zones[pick(6)];
      const bool night = pick(3) == 0;
      for (int d = 1; d <= 5; ++d)
        a.shifts.push_back({d, night ? "22:00" : "08:00", night ? "06:00" : "16:00"});
      a.tier = 1 + pick(2);
      w->profiles.emplace_back(a);
      AgentLiveState state;
      state.status = pick(10) < 7 ? PresenceStatus::kAvailable : PresenceStatus::kAway;
      state.active_tickets = pick(4);
      state.last_assignment_time = w->now - absl::Seconds(pick(3600));
      Candidate c{&w->profiles.back(), state};
      w->all.push_back(c);
      for (int t : certified) w->by_tenant[w->tenants[t]].push_back(c);
    }
    for (const std::string& t : w->tenants) {
      RoutingPolicy p;
      p.tenant_id = t;
      p.overflow_stages = {{60, OverflowRelax::kAnyProficientLanguage},
                           {180, OverflowRelax::kSkillsOptional},
                           {300, OverflowRelax::kNextTier}};
      w->policies[t] = p;
    }
    for (int i = 0; i < kTickets; ++i) {
      TicketToRoute t;
      t.ticket_id = absl::StrCat("ticket-", i);
      t.tenant_id = w->tenants[pick(kTenants)];
      t.language = w->languages[pick(kLanguages)];
      for (int s = pick(3); s > 0; --s)
        t.required_skills.push_back(absl::StrCat("skill-", pick(kSkills)));
      t.queued_time = w->now - absl::Seconds(pick(600));
      w->tickets.push_back(std::move(t));
    }
    return w;
  }();
  return *world;
}

enum class Mode { kBaseline, kTenantIndex, kCandidateIndex };

const CandidateIndex& TheIndex() {
  static const CandidateIndex* index = new CandidateIndex(TheWorld().all);
  return *index;
}

// The counters every decision benchmark prints: the rate of timed decisions, p50/p99 of
// the sampled `micros`, and the share of decisions that found an agent.
void ReportDecisions(benchmark::State& state, std::vector<double>& micros, int64_t matched) {
  std::sort(micros.begin(), micros.end());
  if (!micros.empty()) {
    state.counters["p50_us"] = micros[micros.size() / 2];
    state.counters["p99_us"] = micros[micros.size() * 99 / 100];
  }
  state.counters["decisions_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["matched_ratio"] =
      state.iterations() > 0 ? static_cast<double>(matched) / state.iterations() : 0;
}

void Decide(benchmark::State& state, Mode mode) {
  const World& w = TheWorld();
  const CandidateIndex& index = TheIndex();
  const std::set<std::string> excluded;
  std::vector<double> micros;
  micros.reserve(1 << 16);
  size_t next = 0;
  int64_t matched = 0;
  for (auto _ : state) {
    const TicketToRoute& t = w.tickets[next++ % w.tickets.size()];
    const RoutingPolicy& policy = w.policies.at(t.tenant_id);
    const auto start = std::chrono::steady_clock::now();
    std::optional<MatchDecision> decision;
    if (mode == Mode::kCandidateIndex) {
      decision = index.Choose(t, policy, w.tenant_languages, excluded, w.now);
    } else {
      const std::vector<Candidate>& candidates =
          mode == Mode::kTenantIndex ? w.by_tenant.at(t.tenant_id) : w.all;
      decision = ChooseAgent(t, policy, w.tenant_languages, candidates, excluded, w.now);
    }
    const auto end = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(decision);
    matched += decision.has_value() ? 1 : 0;
    if (micros.size() < micros.capacity()) {
      micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
  }
  ReportDecisions(state, micros, matched);
}

// The world's agents and live state behind Router's store interfaces.
class WorldAgents final : public AgentStore {
 public:
  explicit WorldAgents(const World& w) {
    for (const AgentProfile& p : w.profiles) agents_.push_back(p.agent());
  }
  absl::StatusOr<CreatedAgent> CreateAgent(const Agent&, absl::string_view,
                                           absl::string_view) override {
    return absl::UnimplementedError("read only");
  }
  absl::StatusOr<Agent> GetAgent(absl::string_view) override {
    return absl::UnimplementedError("not used");
  }
  absl::StatusOr<std::vector<Agent>> ListAgents(const AgentFilter&, absl::Time,
                                                const std::optional<AgentPosition>& after,
                                                int limit) override {
    const size_t from = after.has_value() ? std::stoul(after->agent_id.substr(6)) + 1 : 0;
    std::vector<Agent> page;
    for (size_t i = from; i < agents_.size() && static_cast<int>(page.size()) < limit; ++i) {
      page.push_back(agents_[i]);
    }
    return page;
  }
  absl::StatusOr<Agent> UpdateAgent(const Agent&, absl::Time) override {
    return absl::UnimplementedError("read only");
  }
  absl::StatusOr<int64_t> DirectoryRevision() override { return 1; }

 private:
  std::vector<Agent> agents_;  // agent-<i> at i
};

class WorldPresence final : public PresenceStore {
 public:
  explicit WorldPresence(const World& w) {
    for (const Candidate& c : w.all) {
      PresenceRecord r;
      r.status = c.state.status;
      r.active_tickets = c.state.active_tickets;
      r.last_assignment_time = c.state.last_assignment_time;
      records_[c.profile->agent().agent_id] = r;
    }
  }
  absl::StatusOr<PresenceStatus> SetStatus(absl::string_view, PresenceStatus, absl::Time,
                                           absl::Duration) override {
    return absl::UnimplementedError("read only");
  }
  absl::StatusOr<bool> Refresh(absl::string_view, absl::Duration) override { return true; }
  absl::StatusOr<PresenceRecord> Get(absl::string_view agent_id) override {
    return records_.at(std::string(agent_id));
  }
  // The claim succeeds and is released at once: every decision sees the same loads.
  absl::StatusOr<ClaimOutcome> Claim(absl::string_view, absl::string_view, int,
                                     absl::Time) override {
    return ClaimOutcome::kClaimed;
  }
  absl::StatusOr<bool> Release(absl::string_view, absl::string_view) override { return true; }
  absl::StatusOr<std::string> Holder(absl::string_view) override { return std::string(); }
  absl::Status AddHoldings(const std::vector<Holding>&) override { return absl::OkStatus(); }
  absl::Status RemoveHoldings(const std::vector<Holding>&) override { return absl::OkStatus(); }
  absl::StatusOr<bool> LoadsReady() override { return true; }
  absl::StatusOr<bool> LockLoadRebuild(absl::Duration) override { return true; }
  absl::Status MarkLoadsReady() override { return absl::OkStatus(); }

 private:
  absl::flat_hash_map<std::string, PresenceRecord> records_;
};

class WorldPolicies final : public RoutingPolicyStore {
 public:
  explicit WorldPolicies(const World& w) : w_(w) {}
  absl::StatusOr<std::optional<StoredRoutingPolicy>> Get(absl::string_view tenant_id) override {
    return StoredRoutingPolicy{.policy = w_.policies.at(std::string(tenant_id)), .version = 1};
  }
  absl::Status Put(const StoredRoutingPolicy&, int64_t) override { return absl::OkStatus(); }

 private:
  const World& w_;
};

class WorldTenants final : public TenantDirectory {
 public:
  explicit WorldTenants(const World& w) : w_(w) {}
  absl::StatusOr<TenantInfo> GetTenant(absl::string_view tenant_id) override {
    return TenantInfo{.tenant_id = std::string(tenant_id), .languages = w_.tenant_languages};
  }

 private:
  const World& w_;
};

// Forwards to a real store, counting what a decision asks of it (for the counters
// reads_per_decision, agents_read_per_decision, claims_per_decision).
class CountingPresence final : public PresenceStore {
 public:
  explicit CountingPresence(PresenceStore& inner) : inner_(inner) {}
  absl::StatusOr<PresenceStatus> SetStatus(absl::string_view agent_id, PresenceStatus status,
                                           absl::Time now, absl::Duration ttl) override {
    return inner_.SetStatus(agent_id, status, now, ttl);
  }
  absl::StatusOr<bool> Refresh(absl::string_view agent_id, absl::Duration ttl) override {
    return inner_.Refresh(agent_id, ttl);
  }
  absl::StatusOr<PresenceRecord> Get(absl::string_view agent_id) override {
    ++reads;
    ++agents_read;
    return inner_.Get(agent_id);
  }
  absl::StatusOr<std::vector<PresenceRecord>> GetMany(
      absl::Span<const std::string> agent_ids) override {
    ++reads;
    agents_read += static_cast<int64_t>(agent_ids.size());
    return inner_.GetMany(agent_ids);
  }
  absl::StatusOr<ClaimOutcome> Claim(absl::string_view agent_id, absl::string_view ticket_id,
                                     int capacity, absl::Time now) override {
    ++claims;
    return inner_.Claim(agent_id, ticket_id, capacity, now);
  }
  absl::StatusOr<ClaimOutcome> ClaimIfAvailable(absl::string_view agent_id,
                                                absl::string_view ticket_id, int capacity,
                                                absl::Time now) override {
    ++claims;
    return inner_.ClaimIfAvailable(agent_id, ticket_id, capacity, now);
  }
  absl::StatusOr<bool> Release(absl::string_view agent_id, absl::string_view ticket_id) override {
    return inner_.Release(agent_id, ticket_id);
  }
  absl::StatusOr<std::string> Holder(absl::string_view ticket_id) override {
    return inner_.Holder(ticket_id);
  }
  absl::Status AddHoldings(const std::vector<Holding>& holdings) override {
    return inner_.AddHoldings(holdings);
  }
  absl::Status RemoveHoldings(const std::vector<Holding>& holdings) override {
    return inner_.RemoveHoldings(holdings);
  }
  absl::StatusOr<bool> LoadsReady() override { return inner_.LoadsReady(); }
  absl::StatusOr<bool> LockLoadRebuild(absl::Duration ttl) override {
    return inner_.LockLoadRebuild(ttl);
  }
  absl::Status MarkLoadsReady() override { return inner_.MarkLoadsReady(); }

  void Report(benchmark::State& state) const {
    const double n = std::max<double>(1, static_cast<double>(state.iterations()));
    state.counters["reads_per_decision"] = static_cast<double>(reads) / n;
    state.counters["agents_read_per_decision"] = static_cast<double>(agents_read) / n;
    state.counters["claims_per_decision"] = static_cast<double>(claims) / n;
  }

  int64_t reads = 0;
  int64_t agents_read = 0;
  int64_t claims = 0;

 private:
  PresenceStore& inner_;
};

// Decisions by `router` over the world's tickets; `after` runs outside the timed part.
// `clock`, when set, follows real time from the world's instant (what a remembered live
// state's age is measured with).
template <typename After>
void RunRouter(benchmark::State& state, Router& router, After after, FakeClock* clock = nullptr) {
  const World& w = TheWorld();
  const std::set<std::string> excluded;
  (void)router.Route(w.tickets[0], excluded);  // the directory read once, before timing
  std::vector<double> micros;
  micros.reserve(1 << 16);
  size_t next = 0;
  int64_t matched = 0;
  const absl::Time real_start = absl::Now();
  for (auto _ : state) {
    const TicketToRoute& t = w.tickets[next++ % w.tickets.size()];
    if (clock != nullptr) clock->Set(w.now + (absl::Now() - real_start));
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::optional<MatchDecision>> decision = router.Route(t, excluded);
    const auto end = std::chrono::steady_clock::now();
    if (!decision.ok()) {
      state.SkipWithError(decision.status().ToString().c_str());
      return;
    }
    matched += decision->has_value() ? 1 : 0;
    if (micros.size() < micros.capacity()) {
      micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
    if (decision->has_value()) {
      state.PauseTiming();
      after(t, **decision);
      state.ResumeTiming();
    }
  }
  // The timed decisions only (PauseTiming keeps the release out of real time).
  ReportDecisions(state, micros, matched);
  state.counters["directory_loads"] = static_cast<double>(router.directory_loads());
}

void BM_Router(benchmark::State& state) {
  const World& w = TheWorld();
  WorldAgents agents(w);
  WorldPresence presence(w);
  WorldPolicies policies(w);
  WorldTenants tenants(w);
  FakeClock clock(w.now);
  Router router(agents, presence, policies, tenants, clock);
  RunRouter(state, router, [](const TicketToRoute&, const MatchDecision&) {});
}

// state.range(0): RouterOptions::live_state_max_age in ms (0: read at every decision).
void BM_RouterRedis(benchmark::State& state) {
  const World& w = TheWorld();
  auto server = testing::RedisServer::Start();
  if (!server.ok()) {
    state.SkipWithError(server.status().ToString().c_str());
    return;
  }
  auto pool = redis::Pool::Create({.port = (*server)->port(), .size = 2});
  if (!pool.ok()) {
    state.SkipWithError(pool.status().ToString().c_str());
    return;
  }
  RedisPresenceStore redis_presence(**pool);
  CountingPresence presence(redis_presence);
  // The world's presence and loads, as the service would have them.
  std::vector<Holding> holdings;
  for (const Candidate& c : w.all) {
    const std::string& id = c.profile->agent().agent_id;
    if (c.state.status == PresenceStatus::kAvailable) {
      if (!presence.SetStatus(id, PresenceStatus::kAvailable, w.now, absl::Hours(24)).ok()) {
        state.SkipWithError("presence not written");
        return;
      }
    }
    for (int i = 0; i < c.state.active_tickets; ++i) {
      holdings.push_back({id, absl::StrCat("held-", id, "-", i)});
    }
  }
  if (!presence.AddHoldings(holdings).ok() || !presence.MarkLoadsReady().ok()) {
    state.SkipWithError("loads not written");
    return;
  }
  WorldAgents agents(w);
  WorldPolicies policies(w);
  WorldTenants tenants(w);
  FakeClock clock(w.now);
  Router router(agents, presence, policies, tenants, clock,
                {.live_state_max_age = absl::Milliseconds(state.range(0))});
  RunRouter(
      state, router,
      [&](const TicketToRoute& t, const MatchDecision& d) {
        (void)presence.Release(d.agent_id, t.ticket_id);  // loads stay put
      },
      &clock);
  presence.Report(state);
}

void BM_Baseline(benchmark::State& state) { Decide(state, Mode::kBaseline); }
void BM_TenantIndex(benchmark::State& state) { Decide(state, Mode::kTenantIndex); }
void BM_CandidateIndex(benchmark::State& state) { Decide(state, Mode::kCandidateIndex); }

BENCHMARK(BM_Baseline)->Name("routing_decision/baseline")->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_TenantIndex)->Name("routing_decision/tenant_index")->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_CandidateIndex)->Name("routing_decision/candidate_index")->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_Router)->Name("routing_decision/router")->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_RouterRedis)
    ->Name("routing_decision/router_redis")
    ->ArgName("live_state_max_age_ms")
    ->Arg(0)
    ->Arg(250)
    ->Arg(1000)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace
}  // namespace sundesk::routing
