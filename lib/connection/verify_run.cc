// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "connection/verify_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace orgsync::internal {

VerifyRun::VerifyRun(uint64_t run, const VerifyOptions& options,
                     std::string connection_id, absl::Time now,
                     std::vector<proto::VerifyObject> plan)
    : options_(options) {
  report_.connection_id = std::move(connection_id);
  report_.run = run;
  report_.actor = options.actor;
  report_.started = now;
  report_.repair = options.repair;
  proto::VerifyRequest request;
  request.set_kind(proto::VERIFY_PLAN);
  for (proto::VerifyObject& object : plan) {
    *request.add_objects() = std::move(object);
  }
  Ask(std::move(request));
}

// --- What the step thread reads ---------------------------------------------

VerifyRun::ReadTask VerifyRun::NextRead() const {
  ReadTask task;
  if (!planned_ || !running() || ranges_.size() >= kMaxOpenRanges) {
    return task;
  }
  // Objects one after the other; a full window waits for answers.
  for (size_t i = 0; i < objects_.size(); ++i) {
    if (objects_[i].links_done) continue;
    task.any = true;
    task.object = i;
    task.object_name = objects_[i].wire.object();
    task.fields = objects_[i].fields;
    task.after_id = objects_[i].cursor;
    return task;
  }
  return task;
}

void VerifyRun::OnPageRead(const ReadTask& task, VerifyReader::Page page) {
  if (!running() || task.object >= objects_.size()) return;
  ObjectState& object = objects_[task.object];
  if (object.links_done || object.cursor != task.after_id) return;
  VerifyObjectReport& report = ReportOf(task.object);
  for (const std::string& id : page.unlinked) {
    ++report.unlinked_here;
    List(&report.unlinked_here_ids, id);
    AddRepair(task.object, id);
  }
  Range range;
  range.object = task.object;
  range.after_id = task.after_id;
  // The object's last range reaches to the end of the partner's ids too:
  // copies linked to ids past this org's last are in it.
  range.last_id = page.done ? "" : page.last_read;
  for (const VerifyEntry& entry : page.linked) {
    if (entry.pending) {
      ++range.pending;
    } else if (!entry.absent) {
      range.sum.Add(entry.digest);
    }
  }
  report.compared += page.linked.size();
  object.cursor = page.last_read;
  object.links_done = page.done;
  range.entries = std::move(page.linked);
  const uint64_t id = next_range_++;
  ranges_.emplace(id, std::move(range));
  unasked_.push_back(id);
  if (unasked_.size() >= kVerifyRangesPerRequest) {
    AskDigestsOfClosedRanges(/*flush=*/false);
  }
}

// --- Requests ----------------------------------------------------------------

void VerifyRun::Ask(proto::VerifyRequest request,
                    std::vector<uint64_t> ranges, size_t object) {
  const uint64_t number = next_request_++;
  request.set_run(report_.run);
  request.set_request(number);
  Outstanding& asked = outstanding_[number];
  asked.request = std::move(request);
  asked.ranges = std::move(ranges);
  asked.object = object;
}

void VerifyRun::AskDigestsOfClosedRanges(bool flush) {
  while (!unasked_.empty() &&
         (flush || unasked_.size() >= kVerifyRangesPerRequest)) {
    const size_t take = std::min(unasked_.size(), kVerifyRangesPerRequest);
    proto::VerifyRequest request;
    request.set_kind(proto::VERIFY_DIGESTS);
    std::map<size_t, uint32_t> index_of_object;
    std::vector<uint64_t> ids(unasked_.begin(), unasked_.begin() + take);
    unasked_.erase(unasked_.begin(), unasked_.begin() + take);
    for (const uint64_t id : ids) {
      const Range& range = ranges_.at(id);
      auto [it, added] = index_of_object.try_emplace(
          range.object, static_cast<uint32_t>(request.objects_size()));
      if (added) *request.add_objects() = objects_[range.object].wire;
      proto::VerifyRange* wire = request.add_ranges();
      wire->set_object(it->second);
      wire->set_after_id(range.after_id);
      wire->set_last_id(range.last_id);
    }
    Ask(std::move(request), std::move(ids));
  }
}

void VerifyRun::AskUnlinkedThere(size_t object) {
  ObjectState& state = objects_[object];
  proto::VerifyRequest request;
  request.set_kind(proto::VERIFY_UNLINKED);
  *request.add_objects() = state.wire;
  request.add_ranges()->set_after_id(state.unlinked_there_cursor);
  Ask(std::move(request), {}, object);
}

std::vector<proto::VerifyRequest> VerifyRun::TakeRequests(
    absl::Time now, absl::Duration timeout) {
  std::vector<proto::VerifyRequest> out;
  if (!running()) return out;
  AskDigestsOfClosedRanges(/*flush=*/true);
  for (auto& [number, asked] : outstanding_) {
    if (asked.attempts > 0 && now - asked.sent < timeout) continue;
    if (asked.attempts >= kMaxVerifyAttempts) {
      Fail(fmt::format("the partner did not answer request {} ({}) after {} "
                       "sends",
                       number, proto::VerifyRequestKind_Name(
                                   asked.request.kind()),
                       asked.attempts),
           now);
      return {};
    }
    ++asked.attempts;
    asked.sent = now;
    out.push_back(asked.request);
  }
  return out;
}

void VerifyRun::NoteSent(uint64_t request, uint64_t message_id,
                         size_t bytes) {
  report_.bytes_sent += bytes;
  auto it = outstanding_.find(request);
  if (it != outstanding_.end()) it->second.message_ids.push_back(message_id);
}

bool VerifyRun::Carried(uint64_t message_id) const {
  for (const auto& [number, asked] : outstanding_) {
    if (std::find(asked.message_ids.begin(), asked.message_ids.end(),
                  message_id) != asked.message_ids.end()) {
      return true;
    }
  }
  return false;
}

// --- Answers -------------------------------------------------------------------

void VerifyRun::OnAnswer(const proto::VerifyAnswer& answer, size_t bytes,
                         absl::Time now) {
  if (!running() || answer.run() != report_.run) return;
  auto it = outstanding_.find(answer.request());
  if (it == outstanding_.end()) return;  // late, or answered twice
  const Outstanding asked = std::move(it->second);
  outstanding_.erase(it);
  report_.bytes_received += bytes;
  if (!answer.error().empty()) {
    Fail(fmt::format("the partner could not answer: {}", answer.error()),
         now);
    return;
  }
  switch (asked.request.kind()) {
    case proto::VERIFY_PLAN:
      OnPlan(answer, now);
      break;
    case proto::VERIFY_DIGESTS:
      OnDigests(asked, answer, now);
      break;
    case proto::VERIFY_LISTING:
      OnListing(asked, answer);
      break;
    case proto::VERIFY_UNLINKED:
      OnUnlinkedThere(asked, answer, now);
      break;
    default:
      break;
  }
  if (running() && compared() && !options_.repair) Complete(now);
}

void VerifyRun::OnPlan(const proto::VerifyAnswer& answer, absl::Time now) {
  for (const proto::VerifyObject& object : answer.objects()) {
    if (!object.refusal().empty()) {
      if (!options_.objects.empty()) {
        Fail(fmt::format("the partner cannot compare {}: {}", object.object(),
                         object.refusal()),
             now);
        return;
      }
      continue;  // an object flowing one way only as the partner sees it
    }
    ObjectState state;
    state.wire = object;
    VerifyObjectReport report;
    report.object = object.object();
    report.partner_object = object.responder_object();
    for (const proto::VerifyFieldPair& pair : object.fields()) {
      state.fields.push_back(VerifyField{.local_name = pair.initiator_field(),
                                         .initiator_name =
                                             pair.initiator_field()});
      report.fields.push_back(pair.initiator_field());
    }
    objects_.push_back(std::move(state));
    report_.objects.push_back(std::move(report));
  }
  planned_ = true;
  for (size_t i = 0; i < objects_.size(); ++i) AskUnlinkedThere(i);
}

void VerifyRun::OnDigests(const Outstanding& asked,
                          const proto::VerifyAnswer& answer, absl::Time now) {
  if (static_cast<size_t>(answer.summaries_size()) != asked.ranges.size()) {
    Fail(fmt::format("the partner answered {} range digests for {} ranges",
                     answer.summaries_size(), asked.ranges.size()),
         now);
    return;
  }
  for (size_t i = 0; i < asked.ranges.size(); ++i) {
    auto it = ranges_.find(asked.ranges[i]);
    if (it == ranges_.end()) continue;
    const Range& range = it->second;
    const proto::VerifySummary& theirs = answer.summaries(static_cast<int>(i));
    if (theirs.count() == range.sum.count() &&
        theirs.digest() == range.sum.Bytes()) {
      Settle(range, range.sum.count(),
             std::max<uint64_t>(range.pending, theirs.pending()));
      ranges_.erase(it);
      continue;
    }
    // Different: compare record by record.
    proto::VerifyRequest request;
    request.set_kind(proto::VERIFY_LISTING);
    *request.add_objects() = objects_[range.object].wire;
    proto::VerifyRange* wire = request.add_ranges();
    wire->set_after_id(range.after_id);
    wire->set_last_id(range.last_id);
    Ask(std::move(request), {asked.ranges[i]});
  }
}

void VerifyRun::OnListing(const Outstanding& asked,
                          const proto::VerifyAnswer& answer) {
  auto it = ranges_.find(asked.ranges.front());
  if (it == ranges_.end()) return;
  const Range& range = it->second;
  std::map<std::string, const proto::VerifyListedRecord*> theirs;
  for (const proto::VerifyListedRecord& record : answer.records()) {
    theirs[record.initiator_id()] = &record;
  }
  VerifyObjectReport& report = ReportOf(range.object);
  uint64_t matched = 0;
  uint64_t pending = 0;
  for (const VerifyEntry& mine : range.entries) {
    auto found = theirs.find(mine.initiator_id);
    const proto::VerifyListedRecord* copy =
        found == theirs.end() ? nullptr : found->second;
    if (found != theirs.end()) theirs.erase(found);
    const VerifiedRecord ids{.local_id = mine.initiator_id,
                             .partner_id = mine.responder_id};
    if (mine.pending || (copy != nullptr && copy->pending())) {
      ++pending;
    } else if (copy == nullptr || copy->absent()) {
      if (mine.absent) continue;  // gone on both sides
      ++report.only_here;
      List(&report.only_here_records, ids);
      AddRepair(range.object, mine.initiator_id);
    } else if (mine.absent) {
      ++report.only_there;
      List(&report.only_there_records,
           VerifiedRecord{.partner_id = copy->responder_id()});
    } else if (copy->digest() == mine.digest) {
      ++matched;
    } else {
      ++report.differing;
      List(&report.differing_records, ids);
      AddRepair(range.object, mine.initiator_id);
    }
  }
  // Copies linked to ids this org does not hold in the range.
  for (const auto& [id, copy] : theirs) {
    if (copy->pending()) {
      ++pending;
    } else if (!copy->absent()) {
      ++report.only_there;
      List(&report.only_there_records,
           VerifiedRecord{.partner_id = copy->responder_id()});
    }
  }
  Settle(range, matched, pending);
  ranges_.erase(it);
}

void VerifyRun::OnUnlinkedThere(const Outstanding& asked,
                                const proto::VerifyAnswer& answer,
                                absl::Time now) {
  const size_t object = asked.object;
  if (object >= objects_.size()) return;
  ObjectState& state = objects_[object];
  VerifyObjectReport& report = ReportOf(object);
  for (const std::string& id : answer.unlinked_ids()) {
    ++report.unlinked_there;
    List(&report.unlinked_there_ids, id);
  }
  if (answer.done()) {
    state.unlinked_there_done = true;
    return;
  }
  if (answer.next_after_id().empty() ||
      (!state.unlinked_there_cursor.empty() &&
       answer.next_after_id() <= state.unlinked_there_cursor)) {
    Fail(fmt::format("the partner's list of unlinked {} records does not "
                     "move on (after \"{}\")",
                     state.wire.object(), state.unlinked_there_cursor),
         now);
    return;
  }
  state.unlinked_there_cursor = answer.next_after_id();
  AskUnlinkedThere(object);
}

void VerifyRun::Settle(const Range& range, uint64_t matched,
                       uint64_t pending) {
  VerifyObjectReport& report = ReportOf(range.object);
  report.matched += matched;
  report.pending += pending;
}

// --- The end ---------------------------------------------------------------------

bool VerifyRun::compared() const {
  if (!planned_ || !outstanding_.empty() || !ranges_.empty() ||
      !unasked_.empty()) {
    return false;
  }
  return std::all_of(objects_.begin(), objects_.end(),
                     [](const ObjectState& object) {
                       return object.links_done &&
                              object.unlinked_there_done;
                     });
}

void VerifyRun::AddRepair(size_t object, const std::string& local_id) {
  if (options_.repair) objects_[object].repairs.push_back(local_id);
}

std::vector<std::string> VerifyRun::TakeRepairs(std::string* object) {
  constexpr size_t kRepairBatch = 500;
  for (ObjectState& state : objects_) {
    if (state.repairs.empty()) continue;
    *object = state.wire.object();
    const size_t take = std::min(state.repairs.size(), kRepairBatch);
    std::vector<std::string> ids(state.repairs.begin(),
                                 state.repairs.begin() + take);
    state.repairs.erase(state.repairs.begin(), state.repairs.begin() + take);
    return ids;
  }
  return {};
}

void VerifyRun::Complete(absl::Time now) {
  report_.state = VerifyState::kCompleted;
  report_.finished = now;
  for (VerifyObjectReport& object : report_.objects) object.done = true;
}

void VerifyRun::Fail(std::string error, absl::Time now) {
  if (!running()) return;
  report_.state = VerifyState::kFailed;
  report_.error = std::move(error);
  report_.finished = now;
  ranges_.clear();
  unasked_.clear();
  outstanding_.clear();
}

template <typename T>
void VerifyRun::List(std::vector<T>* list, T item) const {
  if (list->size() < std::max<uint64_t>(options_.max_listed, 1)) {
    list->push_back(std::move(item));
  }
}

}  // namespace orgsync::internal
