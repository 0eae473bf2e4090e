// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// orgsync_demo: two orgs kept in sync by orgsync, in one process, told as a
// story a person can follow.
//
//   orgsync_demo [--fresh] [--state-dir DIR]    (default ./orgsync-demo-state)
//
// The primary org "org-a" keeps its state in DIR/primary and the secondary
// "org-b" in DIR/secondary: each folder is one LevelDB database holding the
// org's replication state (connection, publish and subscribe maps, queue,
// sync log, record links) and its records (a RecordStore under "r/"). The
// two orgs are joined by an InProcessTransportPair that this program drives
// round by round (Org::Step on both, then the pair's Step), on a ManualClock
// that it advances itself, so retries that would take minutes happen in a
// fraction of a second.
//
// The story: connect (invitation, acceptance), publish and subscribe Account
// and Contact both ways, a bulk sync of the records org-a held before
// (chapter 2b: demo_bulk_sync.cc), live edits on both sides, an admin suspension that
// makes the queue grow and then drain, a contact whose required account never
// reached the partner (Retrying, then Failed, then repaired), a conflict
// settled by last writer wins (chapters 3 to 6: demo_live_sync.cc), users
// and metadata (chapter 7: demo_users_metadata.cc), and a record-by-record
// comparison of the two orgs. A second run reopens the folders, keeps the
// connection and runs the story again with new records (the run counter
// lives under "m/demo/" in the primary's folder). --fresh deletes
// DIR/primary and DIR/secondary first.
//
// Everything goes through the public headers in include/orgsync/, as a host
// application would use them.
//
// Exit codes: 0 every step worked and the orgs hold the same records; 1 a
// step failed or the orgs differ; 2 bad arguments or the state cannot be
// opened (e.g. another orgsync_demo holds the folder).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "demo.h"
#include "demo_table.h"
#include "fmt/core.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_queue.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/status.h"
#include "orgsync/storage.h"
#include "orgsync/sync_log.h"
#include "orgsync/transport.h"

namespace orgsync_demo {

// --- The host's schema -----------------------------------------------------

FieldDef Field(std::string name, FieldType type, uint32_t length = 0) {
  return FieldDef{.name = std::move(name), .type = type, .length = length};
}

ObjectDef WithAuditFields(ObjectDef def) {
  def.fields.push_back(Field("CreatedBy", FieldType::kUserReference));
  def.fields.push_back(Field("CreatedDate", FieldType::kDateTime));
  def.fields.push_back(Field("LastModifiedBy", FieldType::kUserReference));
  def.fields.push_back(Field("LastModifiedDate", FieldType::kDateTime));
  return def;
}

// A small CRM, the same in both orgs. A contact cannot exist without its
// account: the field is master-detail, so deleting an account deletes its
// contacts (R33), and required, which is what makes a contact whose
// account never arrived fail (R14).
absl::Status FillSchema(orgsync::Schema* schema) {
  ORGSYNC_RETURN_IF_ERROR(schema->AddObject(
      WithAuditFields({.name = "Account",
                       .fields = {Field("Name", FieldType::kText, 255),
                                  Field("Phone", FieldType::kPhone, 40),
                                  Field("City", FieldType::kText, 80)},
                       .publishable = true})));
  FieldDef account_id{.name = "AccountId",
                      .type = FieldType::kMasterDetail,
                      .required = true,
                      .lookup_target = "Account"};
  return schema->AddObject(WithAuditFields(
      {.name = "Contact",
       .fields = {Field("FirstName", FieldType::kText, 40),
                  Field("LastName", FieldType::kText, 80),
                  Field("Email", FieldType::kEmail, 80),
                  Field("Title", FieldType::kText, 80), account_id},
       .publishable = true}));
}

// --- One org as its host application sees it ------------------------------


absl::StatusOr<std::vector<Record>> AllRecords(const OrgSide& side,
                                               std::string_view object) {
  std::vector<Record> records;
  ORGSYNC_RETURN_IF_ERROR(
      side.store->Scan(object, absl::InfinitePast(), [&](const Record& record) {
        records.push_back(record);
        return true;
      }));
  return records;
}

std::string Value(const Record& record, std::string_view field) {
  auto it = record.fields.find(field);
  // A field never set and a blank one read the same to a person.
  if (it == record.fields.end() ||
      std::holds_alternative<std::monostate>(it->second)) {
    return "(blank)";
  }
  return orgsync::FormatFieldValue(it->second);
}

// The record of `object` whose key field holds `key`, if any.
absl::StatusOr<std::optional<Record>> FindByKey(const OrgSide& side,
                                                std::string_view object,
                                                std::string_view key) {
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<Record> records,
                           AllRecords(side, object));
  for (Record& record : records) {
    if (Value(record, KeyField(object)) == key) return std::move(record);
  }
  return std::nullopt;
}

absl::StatusOr<Record> MustFindByKey(const OrgSide& side,
                                     std::string_view object,
                                     std::string_view key) {
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<Record> record,
                           FindByKey(side, object, key));
  if (!record.has_value()) {
    return Failed(fmt::format("{} has no {} \"{}\" although it should by now",
                              side.org_id, object, key));
  }
  return *std::move(record);
}

// A value as a person compares it across orgs: lookups by the key of the
// record they point at, since ids differ between the orgs.
std::string Comparable(const OrgSide& side, const FieldDef& def,
                       const Record& record) {
  const std::string shown = Value(record, def.name);
  if (!orgsync::IsLookupFieldType(def.type)) return shown;
  auto it = record.fields.find(def.name);
  const auto* ref =
      it == record.fields.end() ? nullptr : std::get_if<Reference>(&it->second);
  if (ref == nullptr) return shown;
  absl::StatusOr<Record> parent = side.store->Get(def.lookup_target, ref->id);
  if (!parent.ok())
    return fmt::format("-> {} (not in {})", ref->id, side.org_id);
  return fmt::format("-> {}", Value(*parent, KeyField(def.lookup_target)));
}

// What a lookup points at: the id, and the key of that record.
std::string LookupText(const OrgSide& side, const Record& record,
                       std::string_view field, std::string_view target) {
  auto it = record.fields.find(field);
  const auto* ref =
      it == record.fields.end() ? nullptr : std::get_if<Reference>(&it->second);
  if (ref == nullptr) return "(blank)";
  absl::StatusOr<Record> parent = side.store->Get(target, ref->id);
  if (!parent.ok()) return fmt::format("{} (not in {})", ref->id, side.org_id);
  return fmt::format("{} ({})", ref->id, Value(*parent, KeyField(target)));
}

// One line per record, as a person would glance at it.
std::string Describe(const OrgSide& side, const Record& record) {
  std::string text;
  if (record.object == "Account") {
    text = fmt::format("Account {}: {}, phone {}, {}", record.id,
                       Value(record, "Name"), Value(record, "Phone"),
                       Value(record, "City"));
  } else {
    text =
        fmt::format("Contact {}: {} {}, {}, {},\n      account {}", record.id,
                    Value(record, "FirstName"), Value(record, "LastName"),
                    Value(record, "Title"), Value(record, "Email"),
                    LookupText(side, record, "AccountId", "Account"));
  }
  if (record.deleted) text += " [deleted]";
  return text;
}

absl::StatusOr<std::vector<LogEntry>> RecordLog(const OrgSide& side,
                                                std::string_view object,
                                                std::string_view id) {
  orgsync::LogQuery query;
  query.object = std::string(object);
  query.record_id = std::string(id);
  query.newest_first = false;
  ORGSYNC_ASSIGN_OR_RETURN(
      orgsync::LogPage page,
      side.connection->sync_log()->Query(query, "", /*page_size=*/20));
  return std::move(page.entries);
}

// --- The demo --------------------------------------------------------------


absl::Status Demo::OpenSide(OrgSide& side) {
  ORGSYNC_RETURN_IF_ERROR(FillSchema(&side.schema));
  // The custom fields the org's metadata holds join the schema.
  ORGSYNC_ASSIGN_OR_RETURN(
      side.metadata, HostMetadata::Open(side.storage.get(), &side.schema));
  ORGSYNC_ASSIGN_OR_RETURN(side.users,
                           orgsync::OpenStorageUserDirectory(side.storage.get()));
  orgsync::RecordStoreOptions store_options;
  // The store's lookups and cascades are the schema's.
  store_options.schema = &side.schema;
  store_options.clock = clock_.get();
  store_options.id_prefix = side.id_prefix;
  store_options.user = side.admin;
  // The records live in the org's own LevelDB: a received envelope's
  // writes then become durable with the org's one sync of that envelope.
  store_options.shares_org_storage = true;
  ORGSYNC_ASSIGN_OR_RETURN(
      side.store, orgsync::OpenStorageRecordStore(side.storage.get(),
                                                  std::move(store_options)));
  orgsync::OrgOptions org_options;
  org_options.org_id = side.org_id;
  org_options.org_name =
      side.org_id == "org-a" ? "Org A (primary)" : "Org B (secondary)";
  org_options.schema = &side.schema;
  // A short retry schedule, so that Retrying -> Failed takes seconds of
  // demo time: attempts at t, t+2s and t+6s, then the change is given up.
  org_options.queue.retry = {.initial_delay = absl::Seconds(2),
                             .multiplier = 2.0,
                             .max_delay = absl::Seconds(8),
                             .jitter = 0.0,
                             .max_attempts = 3};
  // Envelopes of 100 changes, 200 in flight: a bulk sync of a thousand
  // records takes a handful of rounds, so its progress shows (2b).
  org_options.delivery.max_changes_per_envelope = 100;
  org_options.delivery.max_in_flight = 200;
  org_options.record_store = side.store.get();
  org_options.user_directory = side.users.get();
  org_options.metadata_store = side.metadata.get();
  ORGSYNC_ASSIGN_OR_RETURN(
      side.org,
      orgsync::Org::Open(org_options, side.storage.get(), clock_.get()));
  return absl::OkStatus();
}

// --fresh: deletes one of the demo's two folders, but only if it is a
// LevelDB database that no one has open (a damaged one goes too: that is
// what --fresh is for). DIR itself and anything else in it stay.
absl::Status Wipe(const std::string& folder) {
  std::error_code error;
  if (!std::filesystem::exists(folder, error)) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<orgsync::Storage>> probe =
      orgsync::OpenLevelDbStorage(folder, {.create_if_missing = false});
  if (absl::IsFailedPrecondition(probe.status()) ||
      absl::IsNotFound(probe.status())) {
    return absl::FailedPreconditionError(fmt::format(
        "--fresh: not deleting {}: {}", folder, probe.status().ToString()));
  }
  if (probe.ok()) probe->reset();  // releases the folder's lock
  std::filesystem::remove_all(folder, error);
  if (error) {
    return absl::FailedPreconditionError(
        fmt::format("--fresh: cannot delete {}: {}", folder, error.message()));
  }
  return absl::OkStatus();
}

absl::Status Demo::Open() {
  const std::filesystem::path dir =
      std::filesystem::absolute(options_.state_dir).lexically_normal();
  primary_.folder = (dir / "primary").string();
  secondary_.folder = (dir / "secondary").string();
  if (options_.fresh) {
    for (const std::string& folder : {primary_.folder, secondary_.folder}) {
      ORGSYNC_RETURN_IF_ERROR(Wipe(folder));
    }
  }
  ORGSYNC_ASSIGN_OR_RETURN(primary_.storage,
                           orgsync::OpenLevelDbStorage(primary_.folder));
  ORGSYNC_ASSIGN_OR_RETURN(secondary_.storage,
                           orgsync::OpenLevelDbStorage(secondary_.folder));

  int previous_runs = 0;
  absl::StatusOr<std::string> runs = primary_.storage->Get(kRunCounterKey);
  if (runs.ok()) {
    if (!absl::SimpleAtoi(*runs, &previous_runs) || previous_runs < 0) {
      return absl::DataLossError(fmt::format(
          "the run counter in {} is damaged: \"{}\"", primary_.folder, *runs));
    }
  } else if (!absl::IsNotFound(runs.status())) {
    return runs.status();
  }
  // The demo clock starts at the wall clock, but never before the time the
  // previous run reached: orgsync relies on time never running backwards
  // (log order, last-writer-wins stamps), and a run moves its clock ahead
  // of the wall clock.
  absl::Time start = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  absl::StatusOr<std::string> saved = primary_.storage->Get(kClockKey);
  if (saved.ok()) {
    int64_t micros = 0;
    if (!absl::SimpleAtoi(*saved, &micros)) {
      return absl::DataLossError(fmt::format(
          "the saved clock in {} is damaged: \"{}\"", primary_.folder, *saved));
    }
    start = std::max(start, absl::FromUnixMicros(micros) + absl::Seconds(1));
  } else if (!absl::IsNotFound(saved.status())) {
    return saved.status();
  }
  clock_ = std::make_unique<orgsync::ManualClock>(start);

  run_ = previous_runs + 1;
  ORGSYNC_RETURN_IF_ERROR(primary_.storage->Put(
      kRunCounterKey, std::to_string(run_), {.sync = true}));
  ORGSYNC_RETURN_IF_ERROR(OpenSide(primary_));
  ORGSYNC_RETURN_IF_ERROR(OpenSide(secondary_));
  // org-a's users have the profile "Standard"; org-b gets it through
  // metadata sync (R74) before the users arrive (R72).
  ORGSYNC_RETURN_IF_ERROR(primary_.metadata->Upsert(
      {.type = orgsync::MetadataType::kProfile,
       .name = "Standard",
       .body = "<Profile license=\"Standard\"/>"},
      {}));

  if (previous_runs == 0) {
    fmt::print(
        "Started fresh in {}: org-a (primary) keeps its state in {},\n"
        "org-b (secondary) in {}. This is run 1.\n",
        dir.string(), primary_.folder, secondary_.folder);
  } else {
    fmt::print(
        "Reopened the existing state in {}: the demo ran there {} "
        "time{}\nbefore, this is run {}.\n",
        dir.string(), previous_runs, previous_runs == 1 ? "" : "s", run_);
    for (const OrgSide* side : {&primary_, &secondary_}) {
      size_t count = 0;
      for (std::string_view object : kObjects) {
        ORGSYNC_ASSIGN_OR_RETURN(std::vector<Record> records,
                                 AllRecords(*side, object));
        count += records.size();
      }
      fmt::print("  {} holds {} records from earlier runs ({}).\n",
                 side->org_id, count, side->folder);
    }
  }
  fmt::print(
      "The demo clock starts at {} UTC and moves {}s per delivery "
      "round.\n",
      absl::FormatTime("%Y-%m-%d %H:%M:%S", start, absl::UTCTimeZone()),
      absl::ToInt64Seconds(kRoundTime));
  return absl::OkStatus();
}

absl::Status Demo::SaveClock() {
  return primary_.storage->Put(
      kClockKey, std::to_string(absl::ToUnixMicros(clock_->Now())),
      {.sync = true});
}

// Prints each new log entry as it is written: the seed's log triggers (R54).
absl::Status Demo::WatchLog(OrgSide& side) {
  const std::string org = side.org_id;
  return side.connection->sync_log()
      ->AddObserver([this, org](const LogEntry& entry) {
        if (!live_log_) return;
        fmt::print("    [{} log trigger] event #{} {} {} {} {}\n", org,
                   entry.event, orgsync::LogStatusName(entry.status),
                   orgsync::SyncErrorCodeName(entry.error), entry.record.object,
                   entry.record.id);
      })
      .status();
}

absl::Status Demo::Capture(OrgSide& side, ChangeKind kind, const Record& record,
                           std::vector<std::string> fields) {
  orgsync::LocalChange change;
  change.kind = kind;
  change.record = record;
  change.changed_fields = std::move(fields);
  ORGSYNC_ASSIGN_OR_RETURN(orgsync::CaptureResult result,
                           side.connection->Capture(change));
  if (!result.captured) {
    return Failed(fmt::format("{} did not capture its change of {} {}: {}",
                              side.org_id, record.object, record.id,
                              result.reason));
  }
  return absl::OkStatus();
}

absl::StatusOr<Record> Demo::Insert(OrgSide& side, std::string object,
                                    FieldMap fields) {
  clock_->Advance(kThinkTime);
  Record record;
  record.object = std::move(object);
  record.fields = std::move(fields);
  ORGSYNC_ASSIGN_OR_RETURN(Record stored,
                           side.store->Insert(std::move(record), {}));
  ORGSYNC_RETURN_IF_ERROR(Capture(side, ChangeKind::kInsert, stored));
  return stored;
}

absl::StatusOr<Record> Demo::Update(OrgSide& side, std::string_view object,
                                    std::string_view id,
                                    const FieldMap& changes) {
  clock_->Advance(kThinkTime);
  ORGSYNC_ASSIGN_OR_RETURN(Record stored,
                           side.store->Update(object, id, changes, {}));
  std::vector<std::string> fields;
  for (const auto& [name, value] : changes) fields.push_back(name);
  ORGSYNC_RETURN_IF_ERROR(
      Capture(side, ChangeKind::kUpdate, stored, std::move(fields)));
  return stored;
}

absl::Status Demo::Round() {
  ORGSYNC_RETURN_IF_ERROR(primary_.org->Step().status());
  ORGSYNC_RETURN_IF_ERROR(secondary_.org->Step().status());
  pair_.Step();
  clock_->Advance(kRoundTime);
  return absl::OkStatus();
}

uint64_t Demo::Queued() const {
  return primary_.connection->record_queue()->Count() +
         secondary_.connection->record_queue()->Count();
}

absl::StatusOr<int> Demo::Settle() {
  for (int round = 0;; ++round) {
    // idle(): nothing queued or in flight, and no metadata run due (R74).
    if (primary_.connection->idle() && secondary_.connection->idle() &&
        pair_.InFlight() == 0) {
      return round;
    }
    if (round == kMaxSettleRounds) {
      return absl::DeadlineExceededError(fmt::format(
          "the orgs did not settle in {} rounds: {} entries still queued",
          kMaxSettleRounds, Queued()));
    }
    ORGSYNC_RETURN_IF_ERROR(Round());
  }
}

absl::Status Demo::PrintQueue(const OrgSide& side) const {
  ORGSYNC_ASSIGN_OR_RETURN(
      orgsync::QueuePage page,
      side.connection->record_queue()->List("", /*page_size=*/50));
  const bool retrying = std::any_of(
      page.entries.begin(), page.entries.end(),
      [](const orgsync::QueueEntry& entry) { return entry.attempts > 0; });
  std::vector<Table::Column> columns = {{"sequence", true},
                                        {"action"},
                                        {"object"},
                                        {"record"},
                                        {"attempts", true}};
  if (retrying) columns.push_back({"next retry"});
  Table table(std::move(columns));
  for (const orgsync::QueueEntry& entry : page.entries) {
    table.AddRow({std::to_string(entry.sequence),
                  std::string(orgsync::QueueActionName(entry.action)),
                  entry.record.object.empty() ? "-" : entry.record.object,
                  entry.record.id.empty() ? "-" : entry.record.id,
                  std::to_string(entry.attempts), TimeOfDay(entry.next_retry)});
  }
  const uint64_t count = side.connection->record_queue()->Count();
  fmt::print("  {}'s record queue ({} {}):\n", side.org_id, count,
             count == 1 ? "entry" : "entries");
  table.Print();
  if (!page.next_page_token.empty()) fmt::print("   ... and more\n");
  return absl::OkStatus();
}

void Demo::PrintLog(const OrgSide& side, const std::vector<LogEntry>& log) {
  Table table({{"event #", true},
               {"time"},
               {"status"},
               {"action"},
               {"object"},
               {"record"},
               {"error code"},
               {"message", false, 50}});
  for (const LogEntry& entry : log) {
    table.AddRow({std::to_string(entry.event), TimeOfDay(entry.time),
                  std::string(orgsync::LogStatusName(entry.status)),
                  std::string(orgsync::QueueActionName(entry.action)),
                  entry.record.object, entry.record.id,
                  std::string(orgsync::SyncErrorCodeName(entry.error)),
                  entry.description});
  }
  fmt::print("  {}'s sync log:\n", side.org_id);
  table.Print();
}

absl::Status Demo::Run() {
  ORGSYNC_RETURN_IF_ERROR(Connect());
  ORGSYNC_RETURN_IF_ERROR(WatchLog(primary_));
  ORGSYNC_RETURN_IF_ERROR(WatchLog(secondary_));
  ORGSYNC_RETURN_IF_ERROR(PublishAndSubscribe());
  ORGSYNC_RETURN_IF_ERROR(BulkSync());
  ORGSYNC_RETURN_IF_ERROR(LiveEdits());
  ORGSYNC_RETURN_IF_ERROR(SuspendAndResume());
  ORGSYNC_RETURN_IF_ERROR(MissingParent());
  ORGSYNC_RETURN_IF_ERROR(Conflict());
  ORGSYNC_RETURN_IF_ERROR(UsersAndMetadata());
  ORGSYNC_RETURN_IF_ERROR(SaveClock());
  return CompareOrgs();
}

// --- 1. The connection -----------------------------------------------------

absl::Status Demo::Connect() {
  Heading("1. The connection");
  Connection* existing = nullptr;
  for (Connection* c : primary_.org->Connections()) {
    if (c->status() != ConnectionStatus::kDeactivated) existing = c;
  }
  if (existing == nullptr) {
    orgsync::InvitationOptions invitation_options;
    invitation_options.sync = {.sync_feeds_and_audit_fields = true,
                               .sync_metadata = true,
                               .sync_users = true};
    invitation_options.owner = primary_.admin;
    invitation_options.contact = secondary_.admin;
    ORGSYNC_ASSIGN_OR_RETURN(
        orgsync::Invitation invitation,
        primary_.org->CreateInvitation(invitation_options, primary_.admin));
    ORGSYNC_ASSIGN_OR_RETURN(
        primary_.connection,
        primary_.org->GetConnection(invitation.connection_id));
    ORGSYNC_RETURN_IF_ERROR(primary_.connection->AttachTransport(pair_.a()));
    fmt::print(
        "{} on org-a created invitation {}\n"
        "(type Replication, sync feeds and audit fields, metadata and users "
        "on). Its secret "
        "({}...) goes to\norg-b's admin out of band. org-a sees the "
        "connection as {}.\n",
        primary_.admin, invitation.connection_id,
        invitation.secret_hex.substr(0, 8),
        orgsync::ConnectionStatusName(primary_.connection->status()));
    ORGSYNC_ASSIGN_OR_RETURN(
        secondary_.connection,
        secondary_.org->AcceptInvitation(invitation.connection_id,
                                         invitation.secret_hex, pair_.b(),
                                         secondary_.admin));
    fmt::print("{} on org-b accepted it with the secret.\n", secondary_.admin);
    if (!pair_.RunUntilIdle()) return Failed("the handshake never ended");
    ORGSYNC_RETURN_IF_ERROR(secondary_.connection->acceptance_status());
    fmt::print("The handshake went through: the invitation was accepted.\n");
    // R2: the initial metadata sync, then the copy of the users.
    fmt::print("  Both sides show {}: org-a pushes its metadata.\n",
               orgsync::ConnectionStatusName(primary_.connection->status()));
    ORGSYNC_RETURN_IF_ERROR(Settle().status());
    for (const OrgSide* side : {&primary_, &secondary_}) {
      ORGSYNC_ASSIGN_OR_RETURN(std::vector<orgsync::HistoryEntry> history,
                               side->connection->History());
      for (const orgsync::HistoryEntry& entry : history) {
        if (entry.event == orgsync::HistoryEvent::kMetadataSyncCompleted ||
            entry.event == orgsync::HistoryEvent::kUserSyncCompleted) {
          fmt::print("  {} history: {}{}{}\n", side->org_id,
                     orgsync::HistoryEventName(entry.event),
                     entry.detail.empty() ? "" : ": ", entry.detail);
        }
      }
    }
  } else {
    const std::string& id = existing->id();
    primary_.connection = existing;
    absl::StatusOr<Connection*> partner = secondary_.org->GetConnection(id);
    if (!partner.ok()) {
      return absl::FailedPreconditionError(fmt::format(
          "org-a has connection {} but org-b does not know it ({}): the two "
          "folders do not belong together; run with --fresh",
          id, partner.status().ToString()));
    }
    secondary_.connection = *partner;
    ORGSYNC_RETURN_IF_ERROR(primary_.connection->AttachTransport(pair_.a()));
    ORGSYNC_RETURN_IF_ERROR(secondary_.connection->AttachTransport(pair_.b()));
    fmt::print(
        "Connection {} from an earlier run is still there, so there is "
        "no new invitation.\n",
        id);
    // A run interrupted while an admin had suspended a side left it so.
    for (OrgSide* side : {&primary_, &secondary_}) {
      if (side->connection->Info().admin_suspended) {
        ORGSYNC_RETURN_IF_ERROR(side->connection->Resume(side->admin));
        fmt::print(
            "{}'s side was left suspended by an interrupted run; {} "
            "resumed it.\n",
            side->org_id, side->admin);
      }
    }
    // State left by a demo from before user and metadata sync: the primary
    // turns them on, which copies all of both at once (R73).
    const orgsync::SyncOptions sync = primary_.connection->Info().sync;
    if (!sync.sync_metadata || !sync.sync_users) {
      orgsync::SyncOptions on = sync;
      on.sync_metadata = on.sync_users = true;
      ORGSYNC_RETURN_IF_ERROR(
          primary_.connection->UpdateSyncOptions(on, primary_.admin));
      fmt::print("{} turned sync metadata and sync users on.\n",
                 primary_.admin);
    }
    ORGSYNC_RETURN_IF_ERROR(Settle().status());
  }
  for (const OrgSide* side : {&primary_, &secondary_}) {
    const orgsync::ConnectionInfo info = side->connection->Info();
    fmt::print("  {} sees connection {}: role {}, status {}, partner {}.\n",
               side->org_id, info.connection_id,
               orgsync::ReplicationRoleName(info.role),
               orgsync::ConnectionStatusName(info.status), info.partner_org_id);
    if (info.status != ConnectionStatus::kActive) {
      return Failed(fmt::format("{}'s side of the connection is {}, not Active",
                                side->org_id,
                                orgsync::ConnectionStatusName(info.status)));
    }
  }
  return SaveClock();
}

// --- 2. Publish and subscribe ----------------------------------------------

absl::Status Demo::PublishAndSubscribe() {
  Heading("2. Publish and subscribe, both ways");
  const std::vector<std::string> objects(kObjects.begin(), kObjects.end());
  for (auto [from, to] :
       {std::pair{&primary_, &secondary_}, std::pair{&secondary_, &primary_}}) {
    bool already = true;
    for (const std::string& object : objects) {
      already = already &&
                from->connection->publish_set()->IsPartnerSubscribed(object) &&
                to->connection->subscription_map()->IsSubscribed(object);
    }
    if (already) {
      fmt::print(
          "{} already publishes Account and Contact and {} subscribes "
          "to them (set up in an earlier run).\n",
          from->org_id, to->org_id);
      continue;
    }
    // Together, so that Contact.AccountId is published with Contact (R13).
    ORGSYNC_RETURN_IF_ERROR(
        from->connection->publish_set()->PublishObjects(objects));
    ORGSYNC_RETURN_IF_ERROR(Settle().status());
    fmt::print("{} publishes Account and Contact (all their fields).\n",
               from->org_id);
    for (const std::string& object : objects) {
      ORGSYNC_RETURN_IF_ERROR(
          to->connection->subscription_map()->Subscribe(object));
    }
    ORGSYNC_RETURN_IF_ERROR(Settle().status());
    for (const std::string& object : objects) {
      if (!from->connection->publish_set()->IsPartnerSubscribed(object)) {
        return Failed(fmt::format("{} never heard that {} subscribed to {}",
                                  from->org_id, to->org_id, object));
      }
    }
    fmt::print(
        "{} subscribes to them; each field maps to the field of the "
        "same name.\n",
        to->org_id);
  }
  for (std::string_view object : kObjects) {
    std::string fields;
    for (const auto& mapping :
         secondary_.connection->subscription_map()->FieldMappings(object)) {
      fields += fmt::format(" {}", mapping.partner_field);
    }
    fmt::print("  {} syncs two-way, fields:{}\n", object, fields);
  }
  return absl::OkStatus();
}

// --- 8. The comparison -----------------------------------------------------

absl::Status Demo::CompareOrgs() {
  Heading("8. Record by record: are the two orgs the same?");
  Table table(
      {{"object"}, {"record"}, {"org-a id"}, {"org-b id"}, {"fields equal?"}});
  std::vector<std::string> differences;
  size_t rows = 0;
  size_t equal = 0;
  for (std::string_view object : kObjects) {
    std::shared_ptr<const ObjectDef> def = primary_.schema.FindObject(object);
    if (def == nullptr)
      return Failed(fmt::format("no {} in the schema", object));
    ORGSYNC_ASSIGN_OR_RETURN(std::vector<Record> a,
                             AllRecords(primary_, object));
    ORGSYNC_ASSIGN_OR_RETURN(std::vector<Record> b,
                             AllRecords(secondary_, object));
    std::map<std::string, const Record*> b_by_key;
    for (const Record& record : b) {
      b_by_key[Value(record, KeyField(object))] = &record;
    }
    auto add_row = [&](const Record* in_a, const Record* in_b) {
      ++rows;
      const Record& any = in_a != nullptr ? *in_a : *in_b;
      const std::string key = Value(any, KeyField(object));
      bool same =
          in_a != nullptr && in_b != nullptr && in_a->deleted == in_b->deleted;
      if (in_a == nullptr || in_b == nullptr) {
        differences.push_back(fmt::format("{} \"{}\" is only in {}", object,
                                          key,
                                          in_a != nullptr ? "org-a" : "org-b"));
      } else {
        for (const FieldDef& field : def->fields) {
          if (orgsync::IsAuditFieldName(field.name)) continue;
          const std::string va = Comparable(primary_, field, *in_a);
          const std::string vb = Comparable(secondary_, field, *in_b);
          if (va != vb) {
            same = false;
            differences.push_back(
                fmt::format("{} \"{}\" {}: org-a {}, org-b {}", object, key,
                            field.name, va, vb));
          }
        }
      }
      if (same) ++equal;
      table.AddRow(
          {std::string(object), key, in_a != nullptr ? in_a->id : "(missing)",
           in_b != nullptr ? in_b->id : "(missing)", same ? "yes" : "no"});
    };
    for (const Record& record : a) {
      auto it = b_by_key.find(Value(record, KeyField(object)));
      if (it == b_by_key.end()) {
        add_row(&record, nullptr);
      } else {
        add_row(&record, it->second);
        b_by_key.erase(it);
      }
    }
    for (const auto& [key, record] : b_by_key) add_row(nullptr, record);
  }
  table.Print();
  fmt::print(
      "(Compared: every field but the audit fields, which each org "
      "stamps itself; lookups\nby the key of the record they point "
      "at; and the deleted flag.)\n\n");
  if (!differences.empty()) {
    for (const std::string& difference : differences) {
      fmt::print("  differs: {}\n", difference);
    }
    return Failed(fmt::format("the two orgs differ in {} of {} records",
                              rows - equal, rows));
  }
  fmt::print("The two orgs hold the same {} records.\n", rows);
  return absl::OkStatus();
}

void PrintUsage(std::FILE* out) {
  fmt::print(out,
             "usage: orgsync_demo [--fresh] [--state-dir DIR]\n"
             "  Runs two orgs kept in sync by orgsync, keeping their state in\n"
             "  DIR/primary and DIR/secondary (default DIR: {}).\n"
             "  --fresh deletes those two folders first.\n",
             kDefaultStateDir);
}

int Main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    constexpr std::string_view kStateDir = "--state-dir";
    if (arg == "--help" || arg == "-h") {
      PrintUsage(stdout);
      return 0;
    }
    if (arg == "--fresh") {
      options.fresh = true;
    } else if (arg == kStateDir) {
      if (i + 1 >= argc) {
        PrintUsage(stderr);
        fmt::print(stderr, "orgsync_demo: --state-dir needs a folder\n");
        return kExitCannotStart;
      }
      options.state_dir = argv[++i];
    } else if (arg.substr(0, kStateDir.size() + 1) == "--state-dir=") {
      options.state_dir = std::string(arg.substr(kStateDir.size() + 1));
    } else {
      PrintUsage(stderr);
      fmt::print(stderr, "orgsync_demo: unknown argument \"{}\"\n", arg);
      return kExitCannotStart;
    }
  }
  if (options.state_dir.empty()) {
    fmt::print(stderr, "orgsync_demo: the state folder must not be empty\n");
    return kExitCannotStart;
  }

  Demo demo(std::move(options));
  if (absl::Status status = demo.Open(); !status.ok()) {
    // The code tells a folder in use (FAILED_PRECONDITION) from a damaged
    // one (DATA_LOSS).
    fmt::print(stderr, "orgsync_demo: cannot open the state: {}\n",
               status.ToString());
    return kExitCannotStart;
  }
  if (absl::Status status = demo.Run(); !status.ok()) {
    std::fflush(stdout);
    fmt::print(stderr, "orgsync_demo: a step failed: {}\n", status.ToString());
    return kExitFailed;
  }
  fmt::print("Demo finished: every step worked.\n");
  return 0;
}

}  // namespace orgsync_demo

int main(int argc, char** argv) { return orgsync_demo::Main(argc, argv); }
