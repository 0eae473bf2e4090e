// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "fuzz_org.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace orgsync::fuzz {
namespace {

// Setup failures are bugs of the harness (or of orgsync's happy path), never
// of an input: stop at once, naming the step.
void CheckOk(const absl::Status& status, const char* step) {
  if (status.ok()) return;
  std::fprintf(stderr, "apply_fuzzer setup: %s: %s\n", step,
               status.ToString().c_str());
  std::abort();
}

FieldDef Field(std::string name, FieldType type, uint32_t length = 0) {
  return {.name = std::move(name), .type = type, .length = length};
}

FieldDef Number(std::string name, FieldType type, uint32_t precision,
                uint32_t scale) {
  return {.name = std::move(name),
          .type = type,
          .precision = precision,
          .scale = scale};
}

FieldDef Lookup(std::string name, FieldType type, std::string target) {
  return {.name = std::move(name),
          .type = type,
          .lookup_target = std::move(target)};
}

std::unique_ptr<Schema> NewFuzzSchema() {
  auto schema = std::make_unique<Schema>();
  // Account has a field of every type, the never-publishable ones included
  // (the partner may still name them), and an unsized email (orgsync's own
  // text limit applies).
  CheckOk(schema->AddObject(
              {.name = "Account",
               .fields = {Field("Name", FieldType::kText, 40),
                          Field("Notes", FieldType::kLongText, 300),
                          Number("Employees", FieldType::kNumber, 5, 0),
                          Number("Revenue", FieldType::kCurrency, 8, 2),
                          Number("Share", FieldType::kPercent, 5, 2),
                          Field("Active", FieldType::kBoolean),
                          Field("Founded", FieldType::kDate),
                          Field("Seen", FieldType::kDateTime),
                          Field("Email", FieldType::kEmail),
                          Field("Phone", FieldType::kPhone, 20),
                          {.name = "Stage",
                           .type = FieldType::kPicklist,
                           .picklist_values = {"New", "Done"}},
                          Field("Site", FieldType::kUrl, 60),
                          Lookup("ParentId", FieldType::kLookup, "Account"),
                          Field("OwnerId", FieldType::kUserReference),
                          Field("Logo", FieldType::kBinary),
                          Field("Code", FieldType::kAutoNumber),
                          Field("Secret", FieldType::kEncrypted),
                          Field("Blurb", FieldType::kRichTextArea),
                          Field("Score", FieldType::kFormula),
                          Field("Total", FieldType::kRollupSummary),
                          Field("Where", FieldType::kGeolocation)},
               .publishable = true}),
          "schema Account");
  CheckOk(
      schema->AddObject(
          {.name = "Contact",
           .fields = {Field("LastName", FieldType::kText, 20),
                      Lookup("AccountId", FieldType::kMasterDetail, "Account")},
           .publishable = true}),
      "schema Contact");
  CheckOk(schema->AddObject(
              {.name = "Invoice",
               .fields = {Lookup("AccountId", FieldType::kLookup, "Account"),
                          Number("Amount", FieldType::kCurrency, 10, 2)},
               .publishable = true}),
          "schema Invoice");
  CheckOk(
      schema->AddObject(
          {.name = "Attachment",
           // Master-detail: deleting the account takes the file.
           .fields = {Lookup("ParentId", FieldType::kMasterDetail, "Account"),
                      Field("Title", FieldType::kText, 10),
                      Field("Body", FieldType::kBinary)},
           .publishable = true,
           .is_file = true}),
      "schema Attachment");
  // Publishable, but the partner does not publish it.
  CheckOk(schema->AddObject({.name = "Lead",
                             .fields = {Field("Company", FieldType::kText, 40)},
                             .publishable = true}),
          "schema Lead");
  return schema;
}

// Lookups and cascades are FuzzSchema's: master-detail fields cascade.
std::unique_ptr<RecordStore> NewStore(Clock* clock, std::string prefix) {
  RecordStoreOptions options;
  options.schema = &FuzzSchema();
  options.clock = clock;
  options.id_prefix = std::move(prefix);
  options.user = "U1";
  absl::StatusOr<std::unique_ptr<RecordStore>> store =
      NewInMemoryRecordStore(std::move(options));
  CheckOk(store.status(), "record store");
  return *std::move(store);
}

std::unique_ptr<Org> OpenOrg(const std::string& id, RecordStore* store,
                             Storage* storage, Clock* clock) {
  absl::StatusOr<std::unique_ptr<Org>> org =
      Org::Open({.org_id = id,
                 .org_name = id,
                 .schema = &FuzzSchema(),
                 .record_store = store,
                 .max_file_bytes = kFuzzMaxFileBytes},
                storage, clock);
  CheckOk(org.status(), "Org::Open");
  return *std::move(org);
}

}  // namespace

const Schema& FuzzSchema() {
  static const Schema* const schema = NewFuzzSchema().release();
  return *schema;
}

const std::vector<std::string>& PublishedObjects() {
  static const auto* const objects = new std::vector<std::string>{
      "Account", "Contact", "Invoice", "Attachment"};
  return *objects;
}

FuzzOrgs::FuzzOrgs()
    : storage_(NewMemoryStorage()), store_(NewStore(&clock_, "S-")) {}

FuzzOrgs::~FuzzOrgs() {
  // The org detaches from the pair's endpoint; it goes first.
  org_.reset();
  pair_.a()->SetHandler(nullptr);
}

std::unique_ptr<FuzzOrgs> FuzzOrgs::Create() {
  std::unique_ptr<FuzzOrgs> w(new FuzzOrgs());

  // The bystanders: org-b's host writes them before the connection exists
  // and never captures them. One of each object, children of the first
  // Account, and a deleted Account (a target for an undelete).
  auto put = [&](std::string object, FieldMap fields) -> std::string {
    absl::StatusOr<Record> inserted = w->store_->Insert(
        {.object = std::move(object), .fields = std::move(fields)},
        ApplyContext{});
    CheckOk(inserted.status(), "bystander insert");
    return inserted->id;
  };
  const std::string account =
      put("Account", {{"Name", std::string("Bystander")},
                      {"Employees", int64_t{12}},
                      {"Active", true},
                      {"Stage", std::string("New")}});
  put("Contact",
      {{"LastName", std::string("Kept")}, {"AccountId", Reference{account}}});
  put("Invoice", {{"AccountId", Reference{account}}, {"Amount", 10.5}});
  put("Attachment",
      {{"ParentId", Reference{account}}, {"Body", Binary{"abc"}}});
  const std::string gone = put("Account", {{"Name", std::string("Gone")}});
  CheckOk(w->store_->Delete("Account", gone, ApplyContext{}).status(),
          "bystander delete");
  for (const std::string& object : PublishedObjects()) {
    CheckOk(w->store_->Scan(object, absl::InfinitePast(),
                            [&](const Record& record) {
                              w->bystanders_.push_back(record);
                              return true;
                            }),
            "bystander scan");
  }

  // The partner, for the handshake and publish/subscribe only.
  std::unique_ptr<MemoryStorage> partner_storage = NewMemoryStorage();
  std::unique_ptr<RecordStore> partner_store = NewStore(&w->clock_, "P-");
  std::unique_ptr<Org> partner = OpenOrg(kPartnerOrgId, partner_store.get(),
                                         partner_storage.get(), &w->clock_);
  w->org_ = OpenOrg("org-b", w->store_.get(), w->storage_.get(), &w->clock_);

  InvitationOptions options;
  options.connection_id = kConnectionId;
  options.sync = {.sync_feeds_and_audit_fields = true};  // Active at once
  options.owner = "alice@a";
  options.contact = "bob@b";
  absl::StatusOr<Invitation> invitation =
      partner->CreateInvitation(options, "alice@a");
  CheckOk(invitation.status(), "CreateInvitation");
  absl::StatusOr<Connection*> p = partner->GetConnection(kConnectionId);
  CheckOk(p.status(), "GetConnection");
  CheckOk((*p)->AttachTransport(w->pair_.a()), "AttachTransport");
  absl::StatusOr<Connection*> s = w->org_->AcceptInvitation(
      kConnectionId, invitation->secret_hex, w->pair_.b(), "bob@b");
  CheckOk(s.status(), "AcceptInvitation");
  w->connection_ = *s;

  // Until both queues are empty and nothing is in flight.
  auto settle = [&](const char* step) {
    for (int round = 0; round < 200; ++round) {
      if ((*p)->record_queue()->Count() == 0 &&
          w->connection_->record_queue()->Count() == 0 &&
          w->pair_.InFlight() == 0) {
        return;
      }
      CheckOk(partner->Step().status(), step);
      CheckOk(w->org_->Step().status(), step);
      w->pair_.Step();
      w->clock_.Advance(absl::Seconds(1));
    }
    CheckOk(absl::DeadlineExceededError("does not settle"), step);
  };
  settle("handshake");
  if (!(*p)->accepted() || !w->connection_->accepted()) {
    CheckOk(absl::InternalError("not accepted"), "handshake");
  }
  CheckOk((*p)->publish_set()->PublishObjects(PublishedObjects()),
          "PublishObjects");
  settle("publish");
  for (const std::string& object : PublishedObjects()) {
    CheckOk(w->connection_->subscription_map()->Subscribe(object), "Subscribe");
  }
  settle("subscribe");
  if (w->connection_->status() != ConnectionStatus::kActive) {
    CheckOk(absl::InternalError("org-b's connection is not Active"), "setup");
  }

  // The partner lets go of its endpoint; the fuzzer speaks for it.
  CheckOk((*p)->AttachTransport(nullptr), "detach the partner");
  w->pair_.a()->SetHandler(&w->inbox_);
  return w;
}

std::vector<std::string> FuzzOrgs::Exchange(std::string bytes) {
  CheckOk(pair_.a()->Send(std::move(bytes)), "Send");
  pair_.RunUntilIdle();
  // A step lets org-b do whatever it does with time (retries, reports);
  // Step failing on memory storage would be a bug, reported as such.
  const absl::StatusOr<size_t> stepped = org_->Step();
  if (!stepped.ok()) {
    std::fprintf(stderr, "apply_fuzzer: org-b's Step failed: %s\n",
                 stepped.status().ToString().c_str());
    std::abort();
  }
  pair_.RunUntilIdle();
  return std::exchange(inbox_.messages, {});
}

}  // namespace orgsync::fuzz
