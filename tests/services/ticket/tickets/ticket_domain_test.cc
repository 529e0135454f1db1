// The ticket domain with an in-memory store and a fake clock: the state machine, every
// field's validation, who may do what, idempotency, etags and page tokens.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/api/validation.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "services/ticket/domain/ticket_rules.h"
#include "services/ticket/domain/ticket_service.h"
#include "tests/services/ticket/tickets/fake_ticket_store.h"

namespace sundesk::ticket {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using S = TicketStatus;

constexpr char kTenantA[] = "0190a000-0000-7000-8000-00000000000a";
constexpr char kTenantB[] = "0190a000-0000-7000-8000-00000000000b";

const Caller kClientA{.role = CallerRole::kClient, .tenant_id = kTenantA, .key_id = "ka"};
const Caller kClientB{.role = CallerRole::kClient, .tenant_id = kTenantB, .key_id = "kb"};
const Caller kAdmin{.role = CallerRole::kAdmin, .key_id = "admin"};
const Caller kRouting{.role = CallerRole::kService, .key_id = "routing"};
const Caller kAgent1{.role = CallerRole::kAgent, .agent_id = "agent-1", .key_id = "k-agent-1"};

// ---------------------------------------------------------------- state machine

TEST(TicketStateMachine, EveryPairOfStatuses) {
  const std::vector<std::pair<S, S>> legal = {
      {S::kNew, S::kOpen},      {S::kOpen, S::kPending}, {S::kPending, S::kOpen},
      {S::kOpen, S::kOnHold},   {S::kOnHold, S::kOpen},  {S::kOpen, S::kSolved},
      {S::kSolved, S::kClosed}, {S::kSolved, S::kOpen},
  };
  const S all[] = {S::kNew, S::kOpen, S::kPending, S::kOnHold, S::kSolved, S::kClosed};
  int legal_count = 0;
  for (S from : all) {
    for (S to : all) {
      const bool expected =
          std::find(legal.begin(), legal.end(), std::make_pair(from, to)) != legal.end();
      EXPECT_EQ(IsLegalTransition(from, to), expected) << StatusName(from) << "→" << StatusName(to);
      absl::Status s = CheckTransition(from, to);
      if (expected) {
        ++legal_count;
        EXPECT_TRUE(s.ok()) << s;
      } else {
        EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
        EXPECT_THAT(s.message(), HasSubstr(StatusName(from)));
        EXPECT_THAT(s.message(), HasSubstr(StatusName(to)));
      }
    }
  }
  EXPECT_EQ(legal_count, 8);
}

// ---------------------------------------------------------------- validation

CreateTicketInput ValidCreate() {
  return {.subject = "Printer on fire",
          .description = "Smoke everywhere",
          .requester = {.external_id = "c-1",
                        .name = "Ana",
                        .email = "ana@example.com",
                        .language = "pt-BR",
                        .time_zone = "America/Sao_Paulo"},
          .channel = Channel::kEmail,
          .priority = Priority::kHigh,
          .language = "pt-BR",
          .category = "hardware",
          .required_skills = {"printers"},
          .tags = {"fire"},
          .custom_fields = {{"plan", "gold"}}};
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

void ExpectInvalid(const CreateTicketInput& in, const std::string& field_prefix) {
  absl::Status s = ValidateCreateTicket(in, TicketLimits{});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(Message(s), StartsWith(field_prefix + ": ")) << s;
}

TEST(TicketValidation, AValidTicketPasses) {
  EXPECT_TRUE(ValidateCreateTicket(ValidCreate(), TicketLimits{}).ok());
}

TEST(TicketValidation, EachFieldIsNamed) {
  auto in = ValidCreate();
  in.subject = "";
  EXPECT_EQ(Message(ValidateCreateTicket(in, {})), "subject: must be 1–500 characters, got 0");
  in.subject = std::string(501, 'x');
  ExpectInvalid(in, "subject");
  in.subject = std::string(500, 'x');
  EXPECT_TRUE(ValidateCreateTicket(in, {}).ok());
  // 500 characters of two bytes each are still 500 characters.
  in.subject.clear();
  for (int i = 0; i < 500; ++i) in.subject += "é";
  EXPECT_TRUE(ValidateCreateTicket(in, {}).ok());
  in.subject = "bad \xC3\x28 utf8";
  ExpectInvalid(in, "subject");
  in.subject = std::string("nul\0inside", 10);
  ExpectInvalid(in, "subject");

  in = ValidCreate();
  in.description = std::string(64 * 1024 + 1, 'd');
  ExpectInvalid(in, "description");
  in.description = std::string(64 * 1024, 'd');
  EXPECT_TRUE(ValidateCreateTicket(in, {}).ok());

  in = ValidCreate();
  in.tags = std::vector<std::string>(33, "t");
  ExpectInvalid(in, "tags");
  in.tags = {"a", "b", "c", std::string(65, 'x')};
  ExpectInvalid(in, "tags[3]");
  in.tags = {""};
  ExpectInvalid(in, "tags[0]");

  in = ValidCreate();
  in.custom_fields.clear();
  for (int i = 0; i < 65; ++i) in.custom_fields[std::to_string(i)] = "v";
  ExpectInvalid(in, "custom_fields");
  in.custom_fields = {{"plan", std::string(4097, 'v')}};
  ExpectInvalid(in, "custom_fields[\"plan\"]");

  in = ValidCreate();
  in.required_skills = std::vector<std::string>(33, "s");
  ExpectInvalid(in, "required_skills");

  in = ValidCreate();
  in.priority = static_cast<Priority>(9);
  ExpectInvalid(in, "priority");
  in = ValidCreate();
  in.channel = static_cast<Channel>(9);
  ExpectInvalid(in, "channel");
  in = ValidCreate();
  in.language = "en_US";
  ExpectInvalid(in, "language");
  in = ValidCreate();
  in.category = std::string(201, 'c');
  ExpectInvalid(in, "category");
  in = ValidCreate();
  in.request_id = std::string(129, 'r');
  ExpectInvalid(in, "request_id");

  in = ValidCreate();
  in.requester.language = "not a tag";
  ExpectInvalid(in, "requester.language");
  in = ValidCreate();
  in.requester.email = "no-at-sign";
  ExpectInvalid(in, "requester.email");
  in = ValidCreate();
  in.requester.time_zone = "Mars/Olympus";
  ExpectInvalid(in, "requester.time_zone");
  in = ValidCreate();
  in.requester.name = std::string(201, 'n');
  ExpectInvalid(in, "requester.name");
  in = ValidCreate();
  in.requester.external_id = "\xFF";
  ExpectInvalid(in, "requester.external_id");
}

TEST(TicketValidation, LanguageTags) {
  for (const char* good : {"sv", "pt-BR", "zh-Hant-TW", "es-419", "sr-Latn"}) {
    auto in = ValidCreate();
    in.language = good;
    EXPECT_TRUE(ValidateCreateTicket(in, {}).ok()) << good;
  }
  for (const char* bad : {"e", "en_US", "en-", "-en", "123", "en--US", "toolongtag"}) {
    auto in = ValidCreate();
    in.language = bad;
    ExpectInvalid(in, "language");
  }
}

TEST(TicketValidation, UpdateMaskAndPageSize) {
  UpdateTicketInput in{.ticket_id = "t"};
  EXPECT_THAT(Message(ValidateUpdate(in, {})), StartsWith("update_mask: "));
  in.paths = {"status"};
  EXPECT_THAT(Message(ValidateUpdate(in, {})), StartsWith("update_mask: "));
  in.paths = {"subject"};
  EXPECT_THAT(Message(ValidateUpdate(in, {})), StartsWith("ticket.subject: "));
  in.paths = {"priority"};
  EXPECT_THAT(Message(ValidateUpdate(in, {})), StartsWith("ticket.priority: "));
  in.values.priority = Priority::kLow;
  EXPECT_TRUE(ValidateUpdate(in, {}).ok());

  EXPECT_THAT(Message(ValidateComment({.ticket_id = "t", .body = ""}, {})), StartsWith("body: "));
  EXPECT_THAT(Message(ValidateComment({.ticket_id = "t", .body = std::string(65537, 'b')}, {})),
              StartsWith("body: "));
  EXPECT_THAT(Message(ValidateTransition({.ticket_id = "t"}, {})), StartsWith("to_status: "));
  EXPECT_THAT(Message(ValidateAssign({.ticket_id = "t"}, {})), StartsWith("agent_id: "));
  EXPECT_THAT(Message(ValidateFilter({.language = "??"})), StartsWith("filter.language: "));
}

// ---------------------------------------------------------------- the domain service

class TicketServiceTest : public ::testing::Test {
 protected:
  TicketServiceTest() {
    store_.AddTenant(kTenantA, "sv");
    store_.AddTenant(kTenantB, "en");
  }

  Ticket Create(const Caller& caller = kClientA, std::string request_id = "") {
    auto in = ValidCreate();
    in.request_id = std::move(request_id);
    if (caller.role != CallerRole::kClient) in.tenant_id = kTenantA;
    auto t = service_.CreateTicket(caller, in);
    EXPECT_TRUE(t.ok()) << t.status();
    return *t;
  }

  FakeClock clock_;
  UuidV7Generator ids_{clock_, 7};
  testing::FakeTicketStore store_;
  api::PageTokenSigner page_tokens_{"0123456789abcdef0123"};
  TicketService service_{store_, clock_, ids_, page_tokens_};
};

TEST_F(TicketServiceTest, CreateTakesTheTenantFromTheKey) {
  Ticket t = Create();
  EXPECT_EQ(t.tenant_id, kTenantA);
  EXPECT_EQ(t.status, S::kNew);
  EXPECT_EQ(t.version, 1);
  ASSERT_EQ(store_.events().size(), 1u);
  EXPECT_EQ(store_.events()[0].type, "TicketCreated");

  auto in = ValidCreate();
  in.tenant_id = kTenantB;  // a CLIENT key naming another tenant
  EXPECT_EQ(service_.CreateTicket(kClientA, in).status().code(), absl::StatusCode::kNotFound);
  in.tenant_id = "";
  EXPECT_THAT(Message(service_.CreateTicket(kAdmin, in).status()), StartsWith("tenant_id: "));
}

TEST_F(TicketServiceTest, LanguageDefaultsToRequesterThenTenant) {
  auto in = ValidCreate();
  in.language = "";
  EXPECT_EQ(service_.CreateTicket(kClientA, in)->language, "pt-BR");
  in.requester.language = "";
  EXPECT_EQ(service_.CreateTicket(kClientA, in)->language, "sv");
}

TEST_F(TicketServiceTest, SameRequestIdReturnsTheFirstTicket) {
  Ticket first = Create(kClientA, "req-1");
  Ticket again = Create(kClientA, "req-1");
  EXPECT_EQ(first.ticket_id, again.ticket_id);
  EXPECT_EQ(store_.events().size(), 1u);
  // Another tenant's request_id space is its own.
  Ticket other = Create(kClientB, "req-1");
  EXPECT_NE(other.ticket_id, first.ticket_id);

  auto in = ValidCreate();
  in.request_id = "req-1";
  in.subject = "Something else";
  absl::Status s = service_.CreateTicket(kClientA, in).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(Message(s), HasSubstr("different request body"));
}

TEST_F(TicketServiceTest, IdempotencyRecordsExpire) {
  Ticket first = Create(kClientA, "req-2");
  clock_.Advance(absl::Hours(25));
  Ticket second = Create(kClientA, "req-2");
  EXPECT_NE(first.ticket_id, second.ticket_id);
}

TEST_F(TicketServiceTest, AnotherTenantsTicketIsNotFoundLikeAMissingOne) {
  Ticket t = Create();
  absl::Status other = service_.GetTicket(kClientB, t.ticket_id).status();
  absl::Status missing =
      service_.GetTicket(kClientB, "0190a000-0000-7000-8000-0000000000ff").status();
  EXPECT_EQ(other.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(other),
            absl::StrReplaceAll(Message(missing),
                                {{"0190a000-0000-7000-8000-0000000000ff", t.ticket_id}}));
  size_t events = store_.events().size();
  EXPECT_EQ(service_.TransitionTicket(kClientB, {.ticket_id = t.ticket_id, .to_status = S::kOpen})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(service_
                .UpdateTicket(
                    kClientB,
                    {.ticket_id = t.ticket_id, .values = {.subject = "x"}, .paths = {"subject"}})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(
      service_.AddComment(kClientB, {.ticket_id = t.ticket_id, .body = "hi", .is_public = true})
          .status()
          .code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(service_.ListComments(kClientB, {.ticket_id = t.ticket_id}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(service_.GetTicketHistory(kClientB, {.ticket_id = t.ticket_id}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(service_.ListTickets(kClientB, {})->tickets.empty());
  EXPECT_TRUE(service_.ListTickets(kClientB, {.filter = {.tenant_id = kTenantA}})->tickets.empty());
  EXPECT_EQ(store_.events().size(), events);
  EXPECT_EQ(service_.GetTicket(kClientA, t.ticket_id)->version, 1);
}

TEST_F(TicketServiceTest, WhoMayAssign) {
  Ticket t = Create();
  for (const Caller& c : {kClientA, kAgent1}) {
    EXPECT_EQ(
        service_.AssignTicket(c, {.ticket_id = t.ticket_id, .agent_id = "agent-1"}).status().code(),
        absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(service_.UnassignTicket(c, {.ticket_id = t.ticket_id}).status().code(),
              absl::StatusCode::kPermissionDenied);
  }
  // An agent sees only tickets assigned to it.
  EXPECT_EQ(service_.GetTicket(kAgent1, t.ticket_id).status().code(), absl::StatusCode::kNotFound);
  auto assigned = service_.AssignTicket(
      kRouting,
      {.ticket_id = t.ticket_id, .agent_id = "agent-1", .offer_id = "o-1", .routing_stage = 1});
  ASSERT_TRUE(assigned.ok()) << assigned.status();
  EXPECT_EQ(assigned->assignee_id, "agent-1");
  EXPECT_EQ(assigned->version, 2);
  EXPECT_TRUE(service_.GetTicket(kAgent1, t.ticket_id).ok());
  EXPECT_EQ(service_.ListTickets(kAgent1, {})->tickets.size(), 1u);
  // The same assignee again changes nothing.
  EXPECT_EQ(
      service_.AssignTicket(kAdmin, {.ticket_id = t.ticket_id, .agent_id = "agent-1"})->version, 2);
  auto unassigned = service_.UnassignTicket(kAdmin, {.ticket_id = t.ticket_id, .reason = "sick"});
  EXPECT_EQ(unassigned->assignee_id, "");
  EXPECT_EQ(store_.events().back().type, "TicketUnassigned");
  EXPECT_EQ(store_.events().back().previous_agent_id, "agent-1");
  // The routing service may not edit tickets.
  EXPECT_EQ(service_
                .UpdateTicket(
                    kRouting,
                    {.ticket_id = t.ticket_id, .values = {.subject = "x"}, .paths = {"subject"}})
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(TicketServiceTest, ClientsNeitherWriteNorReadInternalComments) {
  Ticket t = Create();
  EXPECT_EQ(service_.AddComment(kClientA, {.ticket_id = t.ticket_id, .body = "x"}).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(
      service_.AddComment(kAdmin, {.ticket_id = t.ticket_id, .body = "internal note"}).ok());
  ASSERT_TRUE(
      service_.AddComment(kClientA, {.ticket_id = t.ticket_id, .body = "hello", .is_public = true})
          .ok());
  auto for_client = service_.ListComments(kClientA, {.ticket_id = t.ticket_id});
  ASSERT_TRUE(for_client.ok());
  ASSERT_EQ(for_client->comments.size(), 1u);
  EXPECT_EQ(for_client->comments[0].body, "hello");
  EXPECT_EQ(for_client->comments[0].author_kind, AuthorKind::kCustomer);
  EXPECT_EQ(for_client->comments[0].author_id, "c-1");
  EXPECT_EQ(service_.ListComments(kAdmin, {.ticket_id = t.ticket_id})->comments.size(), 2u);
  // The client's history hides the internal comment too.
  auto history = service_.GetTicketHistory(kClientA, {.ticket_id = t.ticket_id});
  EXPECT_EQ(history->entries.size(), 2u);  // created + the public comment
  EXPECT_EQ(service_.GetTicketHistory(kAdmin, {.ticket_id = t.ticket_id})->entries.size(), 3u);
}

TEST_F(TicketServiceTest, FirstPublicAgentCommentOnNewOrOpenIsTheFirstResponse) {
  Ticket t = Create();
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(
      service_.AddComment(kClientA, {.ticket_id = t.ticket_id, .body = "more", .is_public = true})
          .ok());
  ASSERT_TRUE(service_.AddComment(kAdmin, {.ticket_id = t.ticket_id, .body = "note"}).ok());
  EXPECT_FALSE(service_.GetTicket(kAdmin, t.ticket_id)->first_response_time.has_value());
  clock_.Advance(absl::Minutes(1));
  const absl::Time answered = clock_.Now();
  ASSERT_TRUE(
      service_.AddComment(kAdmin, {.ticket_id = t.ticket_id, .body = "On it", .is_public = true})
          .ok());
  EXPECT_TRUE(store_.events().back().first_response);
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(
      service_.AddComment(kAdmin, {.ticket_id = t.ticket_id, .body = "Again", .is_public = true})
          .ok());
  EXPECT_FALSE(store_.events().back().first_response);
  EXPECT_EQ(service_.GetTicket(kAdmin, t.ticket_id)->first_response_time, answered);

  // Not on a PENDING ticket.
  Ticket p = Create();
  ASSERT_TRUE(
      service_.TransitionTicket(kAdmin, {.ticket_id = p.ticket_id, .to_status = S::kOpen}).ok());
  ASSERT_TRUE(
      service_.TransitionTicket(kAdmin, {.ticket_id = p.ticket_id, .to_status = S::kPending}).ok());
  ASSERT_TRUE(
      service_.AddComment(kAdmin, {.ticket_id = p.ticket_id, .body = "x", .is_public = true}).ok());
  EXPECT_FALSE(service_.GetTicket(kAdmin, p.ticket_id)->first_response_time.has_value());
}

TEST_F(TicketServiceTest, CommentsAreIdempotentByRequestId) {
  Ticket t = Create();
  auto a = service_.AddComment(
      kClientA, {.ticket_id = t.ticket_id, .request_id = "c1", .body = "hi", .is_public = true});
  auto b = service_.AddComment(
      kClientA, {.ticket_id = t.ticket_id, .request_id = "c1", .body = "hi", .is_public = true});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->comment_id, b->comment_id);
  EXPECT_EQ(service_.GetTicket(kClientA, t.ticket_id)->version, 2);
  EXPECT_EQ(
      service_
          .AddComment(
              kClientA,
              {.ticket_id = t.ticket_id, .request_id = "c1", .body = "bye", .is_public = true})
          .status()
          .code(),
      absl::StatusCode::kAlreadyExists);
}

TEST_F(TicketServiceTest, TransitionsEtagsAndSolveTime) {
  Ticket t = Create();
  auto open = service_.TransitionTicket(
      kClientA, {.ticket_id = t.ticket_id, .to_status = S::kOpen, .etag = TicketEtag(t.version)});
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_EQ(open->version, 2);
  // A stale etag is ABORTED and changes nothing.
  absl::Status stale = service_
                           .TransitionTicket(kClientA, {.ticket_id = t.ticket_id,
                                                        .to_status = S::kSolved,
                                                        .etag = TicketEtag(t.version)})
                           .status();
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(service_.GetTicket(kClientA, t.ticket_id)->status, S::kOpen);
  // An illegal move names both states.
  Ticket n = Create();
  absl::Status illegal =
      service_.TransitionTicket(kClientA, {.ticket_id = n.ticket_id, .to_status = S::kSolved})
          .status();
  EXPECT_EQ(illegal.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(illegal), HasSubstr("TICKET_STATUS_NEW to TICKET_STATUS_SOLVED"));

  auto solved =
      service_.TransitionTicket(kClientA, {.ticket_id = t.ticket_id, .to_status = S::kSolved});
  EXPECT_TRUE(solved->solve_time.has_value());
  auto reopened =
      service_.TransitionTicket(kClientA, {.ticket_id = t.ticket_id, .to_status = S::kOpen});
  EXPECT_FALSE(reopened->solve_time.has_value());
  // Moving to the current status is a no-op.
  EXPECT_EQ(service_.TransitionTicket(kClientA, {.ticket_id = t.ticket_id, .to_status = S::kOpen})
                ->version,
            reopened->version);
  ASSERT_TRUE(
      service_.TransitionTicket(kClientA, {.ticket_id = t.ticket_id, .to_status = S::kSolved})
          .ok());
  ASSERT_TRUE(
      service_.TransitionTicket(kClientA, {.ticket_id = t.ticket_id, .to_status = S::kClosed})
          .ok());
  EXPECT_EQ(service_
                .UpdateTicket(
                    kClientA,
                    {.ticket_id = t.ticket_id, .values = {.subject = "x"}, .paths = {"subject"}})
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      service_.AddComment(kClientA, {.ticket_id = t.ticket_id, .body = "x", .is_public = true})
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
}

TEST_F(TicketServiceTest, UpdateMaskLimitsWhatChanges) {
  Ticket t = Create();
  Ticket values = t;
  values.subject = "New subject";
  values.description = "ignored: not in the mask";
  values.priority = Priority::kUrgent;
  auto updated = service_.UpdateTicket(
      kClientA, {.ticket_id = t.ticket_id, .values = values, .paths = {"subject", "priority"}});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->subject, "New subject");
  EXPECT_EQ(updated->priority, Priority::kUrgent);
  EXPECT_EQ(updated->description, t.description);
  EXPECT_THAT(store_.events().back().changed_fields, ::testing::ElementsAre("subject", "priority"));
  // Nothing to change: no new version, no event.
  size_t events = store_.events().size();
  EXPECT_EQ(service_
                .UpdateTicket(kClientA,
                              {.ticket_id = t.ticket_id, .values = values, .paths = {"subject"}})
                ->version,
            updated->version);
  EXPECT_EQ(store_.events().size(), events);
  auto history = service_.GetTicketHistory(kClientA, {.ticket_id = t.ticket_id});
  ASSERT_EQ(history->entries.size(), 2u);
  const HistoryEntry& h = history->entries[1];
  EXPECT_EQ(h.action, "TicketUpdated");
  ASSERT_EQ(h.changes.size(), 2u);
  EXPECT_EQ(h.changes[1].field, "priority");
  EXPECT_EQ(h.changes[1].old_value, "\"PRIORITY_HIGH\"");
  EXPECT_EQ(h.changes[1].new_value, "\"PRIORITY_URGENT\"");
  EXPECT_EQ(h.actor.key_id, "ka");
}

TEST_F(TicketServiceTest, PageTokensAreBoundToTheQueryAndTheCaller) {
  for (int i = 0; i < 5; ++i) {
    Create();
    clock_.Advance(absl::Seconds(1));
  }
  auto page1 = service_.ListTickets(kClientA, {.page_size = 2});
  ASSERT_TRUE(page1.ok()) << page1.status();
  ASSERT_EQ(page1->tickets.size(), 2u);
  ASSERT_FALSE(page1->next_page_token.empty());
  std::vector<std::string> seen;
  for (auto& t : page1->tickets) seen.push_back(t.ticket_id);
  std::string token = page1->next_page_token;
  while (!token.empty()) {
    auto page = service_.ListTickets(kClientA, {.page_size = 2, .page_token = token});
    ASSERT_TRUE(page.ok()) << page.status();
    for (auto& t : page->tickets) seen.push_back(t.ticket_id);
    token = page->next_page_token;
  }
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 5u);

  auto with_filter = service_.ListTickets(kClientA, {.page_size = 2,
                                                     .page_token = page1->next_page_token,
                                                     .filter = {.priority = Priority::kHigh}});
  EXPECT_THAT(Message(with_filter.status()), StartsWith("page_token: "));
  auto other_order = service_.ListTickets(
      kClientA, {.page_size = 2, .page_token = page1->next_page_token, .order_by = "update_time"});
  EXPECT_THAT(Message(other_order.status()), StartsWith("page_token: "));
  auto other_tenant =
      service_.ListTickets(kClientB, {.page_size = 2, .page_token = page1->next_page_token});
  EXPECT_THAT(Message(other_tenant.status()), StartsWith("page_token: "));
  std::string tampered = page1->next_page_token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_THAT(
      Message(service_.ListTickets(kClientA, {.page_size = 2, .page_token = tampered}).status()),
      StartsWith("page_token: "));
  EXPECT_THAT(Message(service_.ListTickets(kClientA, {.order_by = "subject"}).status()),
              StartsWith("order_by: "));
}

}  // namespace
}  // namespace sundesk::ticket
