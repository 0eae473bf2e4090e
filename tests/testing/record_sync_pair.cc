// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/record_sync_pair.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <utility>

#include "publish/change_sink.h"
#include "wire/envelope_codec.h"

namespace orgsync::testing {
namespace {

constexpr char kConnection[] = "conn1";

class NullSink : public internal::ChangeSink {
 public:
  absl::Status Stage(absl::Span<const internal::MapNotice>, WriteBatch*) override {
    return absl::OkStatus();
  }
  void Finish(const absl::Status&) override {}
};

FieldDef Field(std::string name, FieldType type, uint32_t length = 0) {
  FieldDef def;
  def.name = std::move(name);
  def.type = type;
  def.length = length;
  if (type == FieldType::kCurrency) {
    def.precision = 18;
    def.scale = 2;
  }
  return def;
}

FieldDef Lookup(std::string name, std::string target, bool required = false,
                FieldType type = FieldType::kLookup) {
  FieldDef def = Field(std::move(name), type);
  def.lookup_target = std::move(target);
  def.required = required;
  return def;
}

ObjectDef Object(std::string name, std::vector<FieldDef> fields) {
  ObjectDef def;
  def.name = std::move(name);
  def.fields = std::move(fields);
  def.publishable = true;
  return def;
}

}  // namespace

void FillCrmSchema(Schema* schema) {
  REQUIRE(schema
              ->AddObject(Object(
                  "Account", {Field("Name", FieldType::kText, 255),
                              Field("Phone", FieldType::kPhone, 40),
                              Field("OwnerId", FieldType::kUserReference),
                              Field("AccountNumber", FieldType::kAutoNumber),
                              Field("Logo", FieldType::kBinary)}))
              .ok());
  REQUIRE(schema
              ->AddObject(Object(
                  "Contact",
                  {Field("LastName", FieldType::kText, 80),
                   Field("Email", FieldType::kEmail, 80),
                   // Deleting an account takes its contacts (R33), not
                   // its invoices.
                   Lookup("AccountId", "Account",
                          /*required=*/false, FieldType::kMasterDetail)}))
              .ok());
  REQUIRE(schema
              ->AddObject(Object("Invoice",
                                 {Field("Total", FieldType::kCurrency),
                                  Lookup("AccountId", "Account", true)}))
              .ok());
}

absl::StatusOr<Record> FlakyStore::Insert(Record r, const ApplyContext& c) {
  if (refuse_inserts > 0) {
    --refuse_inserts;
    return absl::InvalidArgumentError("FlakyStore: validation rule refused it");
  }
  if (fail_inserts_before > 0) {
    --fail_inserts_before;
    return absl::UnavailableError("FlakyStore: crashed before the insert");
  }
  absl::StatusOr<Record> inserted = target_->Insert(std::move(r), c);
  if (inserted.ok() && fail_inserts_after > 0) {
    --fail_inserts_after;
    return absl::UnavailableError("FlakyStore: crashed after the insert");
  }
  return inserted;
}

Side::Side(ReplicationRole role_in, Clock* clock_in, SideConfig config_in)
    : role(role_in), clock(clock_in), config(std::move(config_in)) {
  FillCrmSchema(&schema);
  holder = config.leveldb ? NewReopenableLevelDbStorage()
                          : NewReopenableMemoryStorage();
  storage = holder->storage();
  RecordStoreOptions options;
  options.schema = &schema;
  options.clock = clock;
  options.id_prefix = role == ReplicationRole::kPrimary ? "P-" : "S-";
  options.user = "U1";
  absl::StatusOr<std::unique_ptr<RecordStore>> made =
      NewInMemoryRecordStore(std::move(options));
  REQUIRE(made.ok());
  inner_store = *std::move(made);
  store = std::make_unique<FlakyStore>(inner_store.get());
  sink = std::make_unique<NullSink>();
  Open();
}

void Side::Open() {
  sync.reset();
  log.reset();
  queue.reset();
  subs.reset();
  publish.reset();
  auto p = internal::DurablePublishSet::Open(storage, kConnection, &schema, sink.get());
  REQUIRE(p.ok());
  publish = *std::move(p);
  auto s =
      internal::DurableSubscriptionMap::Open(storage, kConnection, &schema, sink.get());
  REQUIRE(s.ok());
  subs = *std::move(s);
  RecordQueueOptions queue_options;
  queue_options.retry.initial_delay = absl::Seconds(1);
  queue_options.retry.multiplier = 1.0;
  queue_options.retry.max_delay = absl::Seconds(1);
  queue_options.retry.jitter = 0;
  queue_options.retry.max_attempts = 8;
  auto q = internal::DurableRecordQueue::Open(storage, clock, kConnection, queue_options);
  REQUIRE(q.ok());
  queue = *std::move(q);
  auto l = internal::DurableSyncLog::Open(storage, clock, kConnection);
  REQUIRE(l.ok());
  log = *std::move(l);
  internal::RecordSyncDeps deps;
  deps.storage = storage;
  deps.clock = clock;
  deps.connection_id = kConnection;
  deps.role = role;
  deps.sync_audit_fields = config.sync_audit_fields;
  deps.owner_user_id = role == ReplicationRole::kPrimary ? "U1" : "U2";
  deps.publish_set = publish.get();
  deps.subscription_map = subs.get();
  deps.queue = queue.get();
  deps.log = log.get();
  deps.store = store.get();
  deps.schema = &schema;
  deps.resolver = config.resolver;
  const std::set<std::string> users = config.users;
  deps.user_exists = [users](std::string_view id) {
    return users.count(std::string(id)) > 0;
  };
  deps.max_file_bytes = config.max_file_bytes;
  auto r = internal::RecordSync::Create(std::move(deps));
  REQUIRE(r.ok());
  sync = *std::move(r);
}

void Side::CrashAndReopen() {
  sync.reset();
  log.reset();
  queue.reset();
  subs.reset();
  publish.reset();
  holder->Reopen();
  storage = holder->storage();
  Open();
}

Record Side::Insert(const std::string& object, FieldMap fields) {
  static_cast<ManualClock*>(clock)->Advance(absl::Milliseconds(1));
  Record record;
  record.object = object;
  record.fields = std::move(fields);
  auto inserted = inner_store->Insert(std::move(record), ApplyContext{});
  REQUIRE(inserted.ok());
  LocalChange change;
  change.kind = ChangeKind::kInsert;
  change.record = *inserted;
  auto captured = sync->Capture(change);
  REQUIRE(captured.ok());
  last_capture = *captured;
  return *inserted;
}

Record Side::Update(const std::string& object, const std::string& id,
                    FieldMap changes) {
  static_cast<ManualClock*>(clock)->Advance(absl::Milliseconds(1));
  auto updated = inner_store->Update(object, id, changes, ApplyContext{});
  REQUIRE(updated.ok());
  LocalChange change;
  change.kind = ChangeKind::kUpdate;
  change.record = *updated;
  for (const auto& [name, value] : changes) change.changed_fields.push_back(name);
  auto captured = sync->Capture(change);
  REQUIRE(captured.ok());
  last_capture = *captured;
  return *updated;
}

void Side::Delete(const std::string& object, const std::string& id) {
  static_cast<ManualClock*>(clock)->Advance(absl::Milliseconds(1));
  REQUIRE(inner_store->Delete(object, id, ApplyContext{}).ok());
  LocalChange change;
  change.kind = ChangeKind::kDelete;
  change.record = Get(object, id);
  auto captured = sync->Capture(change);
  REQUIRE(captured.ok());
  last_capture = *captured;
}

void Side::Undelete(const std::string& object, const std::string& id) {
  static_cast<ManualClock*>(clock)->Advance(absl::Milliseconds(1));
  REQUIRE(inner_store->Undelete(object, id, ApplyContext{}).ok());
  LocalChange change;
  change.kind = ChangeKind::kUndelete;
  change.record = Get(object, id);
  auto captured = sync->Capture(change);
  REQUIRE(captured.ok());
  last_capture = *captured;
}

Record Side::Get(const std::string& object, const std::string& id) {
  auto record = inner_store->Get(object, id);
  REQUIRE(record.ok());
  return *record;
}

std::optional<std::string> Side::PartnerIdOf(const std::string& object,
                                             const std::string& id) {
  auto link = sync->links().FindByLocal(object, id);
  REQUIRE(link.ok());
  if (!link->has_value() || (*link)->reserved()) return std::nullopt;
  return (*link)->partner_id();
}

std::optional<std::string> Side::LocalIdOf(const std::string& object,
                                           const std::string& partner_id) {
  auto link = sync->links().FindByPartner(object, partner_id);
  REQUIRE(link.ok());
  if (!link->has_value() || (*link)->reserved()) return std::nullopt;
  return (*link)->local_id();
}

std::vector<LogEntry> Side::Log() {
  LogQuery query;
  query.newest_first = false;
  auto page = log->Query(query, "", 1000);
  REQUIRE(page.ok());
  return page->entries;
}

std::vector<LogEntry> Side::LogWith(SyncErrorCode code) {
  std::vector<LogEntry> out;
  for (const LogEntry& entry : Log()) {
    if (entry.error == code) out.push_back(entry);
  }
  return out;
}

std::vector<Record> Side::All(const std::string& object) {
  std::vector<Record> out;
  REQUIRE(inner_store
              ->Scan(object, absl::InfinitePast(),
                     [&](const Record& r) {
                       out.push_back(r);
                       return true;
                     })
              .ok());
  return out;
}

Pair::Pair(SideConfig primary_config, SideConfig secondary_config) {
  primary = std::make_unique<Side>(ReplicationRole::kPrimary, &clock,
                                   std::move(primary_config));
  secondary = std::make_unique<Side>(ReplicationRole::kSecondary, &clock,
                                     std::move(secondary_config));
}

void Pair::Flow(Side& from, Side& to, const std::vector<std::string>& objects) {
  REQUIRE(from.publish->PublishObjects(objects).ok());
  for (const std::string& object : objects) {
    internal::PartnerMapUpdate update;
    update.action = QueueAction::kTypeMapUpdate;
    update.object = object;
    update.publication = from.publish->Publication(object);
    REQUIRE(to.subs->ApplyPartnerUpdate(update).ok());
  }
  for (const std::string& object : objects) {
    REQUIRE(to.subs->Subscribe(object).ok());
    REQUIRE(from.publish->SetPartnerSubscribed(object, true).ok());
  }
}

std::vector<proto::ItemResult> Pair::Round(Side& from, Side& to,
                                           const DeliveryFaults& faults) {
  ++round_;
  // As the connection does at each step and received envelope: links the
  // host's undeletes asked to sever (R34) go first.
  for (Side* side : {&from, &to}) {
    internal::RecordSync::PendingLogs logs;
    REQUIRE(side->sync->SeverRequestedLinks(&logs).ok());
    for (auto& [pending, status] : logs) {
      side->log->FinishAppend(std::move(pending), status);
    }
  }
  auto ready = from.queue->Ready(clock.Now(), 1000);
  REQUIRE(ready.ok());
  std::vector<std::pair<QueueEntry, proto::RecordChange>> sends;
  for (const QueueEntry& entry : *ready) {
    auto out = from.sync->PrepareSend(entry);
    REQUIRE(out.ok());
    if (out->kind == internal::OutgoingChange::Kind::kSkip) {
      REQUIRE(from.queue->Acknowledge(entry.sequence).ok());
    } else if (out->kind == internal::OutgoingChange::Kind::kSend) {
      proto::RecordChange change = out->change;
      if (!out->serialized.empty()) {
        // Sent as queued: what the partner parses (and the rules below
        // check) is the payload with the send's fields appended.
        REQUIRE(change.ParseFromString(out->serialized));
      }
      sends.emplace_back(entry, change);
      (&from == primary.get() ? sent_by_primary : sent_by_secondary)
          .push_back(std::move(change));
    }
  }
  if (!sends.empty()) {
    // What PrepareSend builds must pass the wire's own rules.
    proto::Envelope envelope;
    envelope.set_protocol_version(1);
    envelope.set_connection_id(kConnection);
    envelope.set_sender_org_id("org");
    envelope.set_message_id(static_cast<uint64_t>(round_));
    for (const auto& send : sends) {
      *envelope.mutable_changes()->add_changes() = send.second;
    }
    const absl::Status valid = wire::ValidateEnvelope(envelope);
    INFO(valid.ToString());
    CHECK(valid.ok());
  }
  std::mt19937 random(faults.seed + static_cast<uint32_t>(round_));
  if (faults.shuffle) {
    // A random order that keeps each record's changes in sequence order.
    std::vector<size_t> order(sends.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), random);
    std::map<RecordRef, std::vector<size_t>> slots;
    for (size_t i = 0; i < order.size(); ++i) {
      slots[sends[order[i]].first.record].push_back(order[i]);
    }
    std::map<RecordRef, size_t> next;
    std::vector<std::pair<QueueEntry, proto::RecordChange>> shuffled;
    for (size_t i = 0; i < order.size(); ++i) {
      const RecordRef& ref = sends[order[i]].first.record;
      std::vector<size_t>& mine = slots[ref];
      std::sort(mine.begin(), mine.end());
      shuffled.push_back(sends[mine[next[ref]++]]);
    }
    sends = std::move(shuffled);
  }
  std::vector<proto::ItemResult> results;
  for (const auto& [entry, change] : sends) {
    results.push_back(to.sync->Apply(change));
  }
  if (faults.duplicate) {
    std::vector<size_t> order(sends.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), random);
    for (size_t i : order) {
      const proto::ItemResult again = to.sync->Apply(sends[i].second);
      if (results[i].outcome() == proto::APPLIED ||
          results[i].outcome() == proto::DUPLICATE) {
        CHECK(again.outcome() == proto::DUPLICATE);
      }
    }
  }
  // Rounds alternate directions: lose each direction's acks every other time.
  if (faults.lose_acks && round_ % 4 < 2) return results;
  for (size_t i = 0; i < sends.size(); ++i) {
    const QueueEntry& entry = sends[i].first;
    const proto::ItemResult& result = results[i];
    if (result.outcome() == proto::APPLIED ||
        result.outcome() == proto::DUPLICATE) {
      WriteBatch batch;
      const uint64_t version = internal::RecordSync::QueuedVersionOf(entry);
      REQUIRE(from.sync->OnResult(entry, version, result, &batch).ok());
      const uint64_t sequence = entry.sequence;
      auto pending = from.queue->PrepareAcknowledge(
          absl::MakeConstSpan(&sequence, 1), &batch);
      REQUIRE(pending.ok());
      const absl::Status written =
          from.storage->Write(batch, WriteOptions{.sync = true});
      from.queue->FinishAcknowledge(*std::move(pending), written);
      REQUIRE(written.ok());
      continue;
    }
    const bool retryable = result.outcome() == proto::RETRYABLE_FAILURE;
    const auto code = static_cast<SyncErrorCode>(result.error());
    auto failed = from.queue->MarkFailed(
        entry.sequence, QueueError{code, result.description()}, retryable);
    REQUIRE(failed.ok());
    if (!retryable || failed->exhausted) {
      REQUIRE(from.log
                  ->Append(internal::NewLogEntry{.record = entry.record,
                                       .action = entry.action,
                                       .status = LogStatus::kFailed,
                                       .error = code,
                                       .description = result.description(),
                                       .details = {},
                                       .queue_sequence = entry.sequence,
                                       .attempts = failed->entry.attempts})
                  .ok());
    }
  }
  return results;
}

void Pair::Drain(const DeliveryFaults& faults, int max_rounds) {
  for (int i = 0; i < max_rounds; ++i) {
    Round(*primary, *secondary, faults);
    Round(*secondary, *primary, faults);
    if (primary->queue->Count() == 0 && secondary->queue->Count() == 0) return;
    clock.Advance(absl::Seconds(2));
  }
}

}  // namespace orgsync::testing
