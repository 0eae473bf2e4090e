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
// and Contact both ways, live edits on both sides, an admin suspension that
// makes the queue grow and then drain, a contact whose required account never
// reached the partner (Retrying, then Failed, then repaired), a conflict
// settled by last writer wins, and a record-by-record comparison of the two
// orgs. A second run reopens the folders, keeps the connection and runs the
// story again with new records (the run counter lives under "m/demo/" in the
// primary's folder). --fresh deletes DIR/primary and DIR/secondary first.
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

// --- 3. Live edits ------------------------------------------------------

absl::Status Demo::LiveEdits() {
  Heading("3. Live edits on both sides");
  ORGSYNC_ASSIGN_OR_RETURN(Record acme, Insert(primary_, "Account",
                                               {{"Name", Named("Acme Corp")},
                                                {"Phone", "555-0100"},
                                                {"City", "Lyon"}}));
  ORGSYNC_ASSIGN_OR_RETURN(Record ada,
                           Insert(primary_, "Contact",
                                  {{"FirstName", "Ada"},
                                   {"LastName", "Lovelace"},
                                   {"Email", Email("ada", "acme")},
                                   {"Title", "Engineer"},
                                   {"AccountId", Reference{acme.id}}}));
  fmt::print("On org-a, alice creates an account and a contact:\n  {}\n  {}\n",
             Describe(primary_, acme), Describe(primary_, ada));
  ORGSYNC_ASSIGN_OR_RETURN(int rounds, Settle());
  ORGSYNC_ASSIGN_OR_RETURN(
      Record acme_b, MustFindByKey(secondary_, "Account", Value(acme, "Name")));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record ada_b, MustFindByKey(secondary_, "Contact", Value(ada, "Email")));
  fmt::print(
      "{} delivery rounds later they are in org-b, with org-b's own "
      "ids and the\ncontact's account translated:\n  {}\n  {}\n",
      rounds, Describe(secondary_, acme_b), Describe(secondary_, ada_b));

  ORGSYNC_ASSIGN_OR_RETURN(Record globex, Insert(secondary_, "Account",
                                                 {{"Name", Named("Globex")},
                                                  {"Phone", "555-0200"},
                                                  {"City", "Recife"}}));
  ORGSYNC_ASSIGN_OR_RETURN(Record grace,
                           Insert(secondary_, "Contact",
                                  {{"FirstName", "Grace"},
                                   {"LastName", "Hopper"},
                                   {"Email", Email("grace", "globex")},
                                   {"Title", "Admiral"},
                                   {"AccountId", Reference{globex.id}}}));
  ORGSYNC_ASSIGN_OR_RETURN(acme_b, Update(secondary_, "Account", acme_b.id,
                                          {{"Phone", "555-0101"}}));
  fmt::print(
      "\nOn org-b, bob creates an account and a contact, and changes "
      "Acme's phone:\n  {}\n  {}\n  {}\n",
      Describe(secondary_, globex), Describe(secondary_, grace),
      Describe(secondary_, acme_b));
  ORGSYNC_ASSIGN_OR_RETURN(rounds, Settle());
  ORGSYNC_ASSIGN_OR_RETURN(
      Record globex_a,
      MustFindByKey(primary_, "Account", Value(globex, "Name")));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record grace_a,
      MustFindByKey(primary_, "Contact", Value(grace, "Email")));
  ORGSYNC_ASSIGN_OR_RETURN(acme, primary_.store->Get("Account", acme.id));
  fmt::print("{} rounds later org-a has all three changes:\n  {}\n  {}\n  {}\n",
             rounds, Describe(primary_, globex_a), Describe(primary_, grace_a),
             Describe(primary_, acme));
  if (Value(acme, "Phone") != "555-0101") {
    return Failed("bob's new phone for Acme did not reach org-a");
  }
  return SaveClock();
}

// --- 4. Suspend and resume -------------------------------------------------

absl::Status Demo::SuspendAndResume() {
  Heading("4. An admin suspends the connection on org-a");
  ORGSYNC_RETURN_IF_ERROR(primary_.connection->Suspend(primary_.admin));
  fmt::print("alice suspends org-a's side: org-a's status is now {}.\n",
             orgsync::ConnectionStatusName(primary_.connection->status()));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record acme, MustFindByKey(primary_, "Account", Named("Acme Corp")));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record ada, MustFindByKey(primary_, "Contact", Email("ada", "acme")));
  ORGSYNC_ASSIGN_OR_RETURN(Record globex,
                           MustFindByKey(primary_, "Account", Named("Globex")));
  ORGSYNC_RETURN_IF_ERROR(
      Update(primary_, "Account", acme.id, {{"City", "Osaka"}}).status());
  ORGSYNC_RETURN_IF_ERROR(
      Update(primary_, "Contact", ada.id, {{"Title", "Chief Engineer"}})
          .status());
  ORGSYNC_RETURN_IF_ERROR(
      Update(primary_, "Account", globex.id, {{"Phone", "555-0201"}}).status());
  ORGSYNC_ASSIGN_OR_RETURN(Record initech, Insert(primary_, "Account",
                                                  {{"Name", Named("Initech")},
                                                   {"Phone", "555-0300"},
                                                   {"City", "Austin"}}));
  ORGSYNC_RETURN_IF_ERROR(Insert(primary_, "Contact",
                                 {{"FirstName", "Peter"},
                                  {"LastName", "Gibbons"},
                                  {"Email", Email("peter", "initech")},
                                  {"Title", "Programmer"},
                                  {"AccountId", Reference{initech.id}}})
                              .status());
  fmt::print(
      "Meanwhile alice moves Acme to Osaka, promotes Ada, changes "
      "Globex's phone,\nand creates Initech with a contact. Each "
      "change waits in org-a's queue:\n");
  ORGSYNC_RETURN_IF_ERROR(PrintQueue(primary_));
  const uint64_t queued = primary_.connection->record_queue()->Count();
  for (int i = 0; i < 5; ++i) ORGSYNC_RETURN_IF_ERROR(Round());
  ORGSYNC_ASSIGN_OR_RETURN(
      Record acme_b, MustFindByKey(secondary_, "Account", Named("Acme Corp")));
  fmt::print(
      "\n5 delivery rounds later nothing was sent: the queue still "
      "holds {} entries,\nand org-b still has Acme in {}.\n",
      primary_.connection->record_queue()->Count(), Value(acme_b, "City"));
  if (primary_.connection->record_queue()->Count() != queued ||
      Value(acme_b, "City") != "Lyon") {
    return Failed("changes left org-a while it was suspended");
  }

  ORGSYNC_RETURN_IF_ERROR(primary_.connection->Resume(primary_.admin));
  fmt::print(
      "\nalice resumes: org-a's status is {} again (the resume "
      "queues a notice of its\nown). The queue drains, in order per "
      "record; entries left after each round:\n ",
      orgsync::ConnectionStatusName(primary_.connection->status()));
  const orgsync::RecordQueue* queue = primary_.connection->record_queue();
  std::string counts = fmt::format(" {}", queue->Count());
  for (int round = 0; Queued() > 0 || pair_.InFlight() > 0; ++round) {
    if (round == kMaxSettleRounds) return Failed("the queue never drained");
    ORGSYNC_RETURN_IF_ERROR(Round());
    counts += fmt::format(" -> {}", queue->Count());
  }
  fmt::print("{}\n", counts);
  ORGSYNC_ASSIGN_OR_RETURN(
      acme_b, MustFindByKey(secondary_, "Account", Named("Acme Corp")));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record peter_b,
      MustFindByKey(secondary_, "Contact", Email("peter", "initech")));
  fmt::print("org-b now has:\n  {}\n  {}\n", Describe(secondary_, acme_b),
             Describe(secondary_, peter_b));
  if (Value(acme_b, "City") != "Osaka") {
    return Failed("Acme's new city did not reach org-b after the resume");
  }
  return SaveClock();
}

// --- 5. A change that fails ------------------------------------------------

absl::Status Demo::MissingParent() {
  Heading("5. A contact whose account never reached org-b");
  // A host bug: the account is written to the store but never captured.
  clock_->Advance(kThinkTime);
  Record hidden;
  hidden.object = "Account";
  hidden.fields = {{"Name", Named("Hidden Industries")},
                   {"Phone", "555-0400"},
                   {"City", "Oslo"}};
  ORGSYNC_ASSIGN_OR_RETURN(hidden, primary_.store->Insert(hidden, {}));
  fmt::print(
      "org-a's host writes an account but forgets to capture it:\n"
      "  {}\nthen creates a contact under it, captured as usual:\n",
      Describe(primary_, hidden));
  ORGSYNC_ASSIGN_OR_RETURN(Record hank,
                           Insert(primary_, "Contact",
                                  {{"FirstName", "Hank"},
                                   {"LastName", "Hill"},
                                   {"Email", Email("hank", "hidden")},
                                   {"Title", "Buyer"},
                                   {"AccountId", Reference{hidden.id}}}));
  fmt::print(
      "  {}\norg-b cannot insert it: AccountId is required and its "
      "account is not there.\n",
      Describe(primary_, hank));

  live_log_ = true;
  bool queue_shown = false;
  for (int round = 0; Queued() > 0 || pair_.InFlight() > 0; ++round) {
    if (round == kMaxSettleRounds) return Failed("the contact never failed");
    ORGSYNC_RETURN_IF_ERROR(Round());
    ORGSYNC_ASSIGN_OR_RETURN(
        std::vector<uint64_t> pending,
        primary_.connection->record_queue()->PendingSequences(
            {"Contact", hank.id}));
    if (!queue_shown && !pending.empty()) {
      ORGSYNC_ASSIGN_OR_RETURN(
          orgsync::QueueEntry entry,
          primary_.connection->record_queue()->Get(pending.front()));
      if (entry.attempts > 0) {
        fmt::print(
            "  The first attempt failed; the change stays queued for "
            "a retry:\n");
        ORGSYNC_RETURN_IF_ERROR(PrintQueue(primary_));
        queue_shown = true;
      }
    }
  }
  live_log_ = false;

  orgsync::LogQuery query;
  query.object = "Contact";
  query.record_id = hank.id;
  query.newest_first = false;
  ORGSYNC_ASSIGN_OR_RETURN(
      orgsync::LogPage page,
      primary_.connection->sync_log()->Query(query, "", /*page_size=*/20));
  fmt::print(
      "\nAfter its last retry the change left the queue; the sync "
      "log tells why:\n");
  PrintLog(primary_, page.entries);
  std::vector<LogStatus> statuses;
  for (const LogEntry& entry : page.entries) statuses.push_back(entry.status);
  if (statuses !=
      std::vector<LogStatus>{LogStatus::kRetrying, LogStatus::kFailed}) {
    return Failed(
        "the sync log does not show Retrying then Failed for the "
        "contact");
  }

  // The repair: capture the forgotten account, then save the contact again;
  // a record that failed is queued again the next time it changes (R55).
  ORGSYNC_RETURN_IF_ERROR(Capture(primary_, ChangeKind::kInsert, hidden));
  ORGSYNC_RETURN_IF_ERROR(
      Update(primary_, "Contact", hank.id, {{"Title", "Head Buyer"}}).status());
  fmt::print(
      "\nThe host fixes its bug: it captures the account now, and "
      "alice edits the contact,\nwhich queues it again (R55).\n");
  ORGSYNC_ASSIGN_OR_RETURN(int rounds, Settle());
  ORGSYNC_ASSIGN_OR_RETURN(
      Record hidden_b,
      MustFindByKey(secondary_, "Account", Named("Hidden Industries")));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record hank_b,
      MustFindByKey(secondary_, "Contact", Email("hank", "hidden")));
  fmt::print("{} rounds later both are in org-b:\n  {}\n  {}\n", rounds,
             Describe(secondary_, hidden_b), Describe(secondary_, hank_b));
  return SaveClock();
}

// --- 6. A conflict ---------------------------------------------------------

absl::Status Demo::Conflict() {
  Heading("6. Both orgs change the same field while suspended");
  const absl::Time since = clock_->Now();
  ORGSYNC_RETURN_IF_ERROR(primary_.connection->Suspend(primary_.admin));
  ORGSYNC_RETURN_IF_ERROR(secondary_.connection->Suspend(secondary_.admin));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record acme_a, MustFindByKey(primary_, "Account", Named("Acme Corp")));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record acme_b, MustFindByKey(secondary_, "Account", Named("Acme Corp")));
  fmt::print(
      "alice and bob each suspend their side (both directions, as the seed "
      "recommends).\nAcme's phone is {} in "
      "both orgs.\n",
      Value(acme_a, "Phone"));
  ORGSYNC_ASSIGN_OR_RETURN(
      acme_a, Update(primary_, "Account", acme_a.id, {{"Phone", "555-0111"}}));
  ORGSYNC_ASSIGN_OR_RETURN(acme_b, Update(secondary_, "Account", acme_b.id,
                                          {{"Phone", "555-0122"}}));
  fmt::print(
      "  at {} alice (org-a) sets it to {}\n  at {} bob (org-b) sets "
      "it to {}\n",
      TimeOfDay(acme_a.audit.last_modified_date), Value(acme_a, "Phone"),
      TimeOfDay(acme_b.audit.last_modified_date), Value(acme_b, "Phone"));
  ORGSYNC_RETURN_IF_ERROR(primary_.connection->Resume(primary_.admin));
  ORGSYNC_RETURN_IF_ERROR(secondary_.connection->Resume(secondary_.admin));
  fmt::print(
      "Both resume; each org gets the other's change and sees the "
      "conflict.\n");
  live_log_ = true;
  ORGSYNC_ASSIGN_OR_RETURN(int rounds, Settle());
  live_log_ = false;
  ORGSYNC_ASSIGN_OR_RETURN(acme_a, primary_.store->Get("Account", acme_a.id));
  ORGSYNC_ASSIGN_OR_RETURN(acme_b, secondary_.store->Get("Account", acme_b.id));
  fmt::print(
      "{} rounds later Acme's phone is {} in org-a and {} in org-b: "
      "the last writer (bob) wins.\n",
      rounds, Value(acme_a, "Phone"), Value(acme_b, "Phone"));
  if (Value(acme_a, "Phone") != "555-0122" ||
      Value(acme_b, "Phone") != "555-0122") {
    return Failed("the orgs did not both keep the last writer's phone");
  }

  size_t conflicts = 0;
  for (const OrgSide* side : {&primary_, &secondary_}) {
    orgsync::LogQuery query;
    query.since = since;
    query.status = LogStatus::kInfo;
    query.newest_first = false;
    ORGSYNC_ASSIGN_OR_RETURN(
        orgsync::LogPage page,
        side->connection->sync_log()->Query(query, "", /*page_size=*/20));
    std::vector<LogEntry> found;
    for (LogEntry& entry : page.entries) {
      if (entry.error == SyncErrorCode::kConflict) {
        found.push_back(std::move(entry));
      }
    }
    if (found.empty()) continue;
    conflicts += found.size();
    fmt::print("\n");
    PrintLog(*side, found);
    for (const LogEntry& entry : found) {
      std::string details;
      for (const orgsync::LogDetail& detail : entry.details) {
        details += fmt::format("{}{} = {}", details.empty() ? "" : ", ",
                               detail.key, detail.value);
      }
      fmt::print("  event #{} details: {}\n", entry.event, details);
    }
  }
  if (conflicts == 0) {
    return Failed("neither sync log has a CONFLICT entry for Acme's phone");
  }
  return SaveClock();
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
