// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "engine/record_links.h"

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include <string_view>
#include <vector>

#include "testing/storage_testing.h"

namespace orgsync::internal::record_links_test {
namespace {

proto::FieldStamp Stamp(int64_t micros, bool primary, uint64_t version,
                        uint64_t sequence) {
  proto::FieldStamp stamp;
  stamp.set_micros(micros);
  stamp.set_from_primary(primary);
  stamp.set_version(version);
  stamp.set_sequence(sequence);
  return stamp;
}

TEST_CASE(
    "Design rule 3: record links map partner ids to local ids both "
    "ways and survive a reopen",
    "[recsync]") {
  for (const auto& factory : testing::ReopenableStorageFactories()) {
    auto storage = factory();
    SECTION(storage->name()) {
      {
        RecordLinks links(storage->storage(), "c1");
        proto::RecordLink link;
        link.set_local_id("S-1");
        link.set_partner_id("P-7");
        link.set_last_applied_sequence(3);
        WriteBatch batch;
        links.Create("Account", link, &batch);
        testing::RequireOk(
            storage->storage()->Write(batch, WriteOptions{.sync = true}));
      }
      storage->Reopen();
      RecordLinks links(storage->storage(), "c1");
      auto by_partner = links.FindByPartner("Account", "P-7");
      REQUIRE(by_partner.ok());
      REQUIRE(by_partner->has_value());
      CHECK((*by_partner)->local_id() == "S-1");
      CHECK((*by_partner)->last_applied_sequence() == 3);
      auto by_local = links.FindByLocal("Account", "S-1");
      REQUIRE(by_local.ok());
      REQUIRE(by_local->has_value());
      CHECK((*by_local)->partner_id() == "P-7");
      // Scoped by object and connection.
      CHECK_FALSE(links.FindByPartner("Contact", "P-7")->has_value());
      CHECK_FALSE(RecordLinks(storage->storage(), "c2")
                      .FindByPartner("Account", "P-7")
                      ->has_value());
      auto all = links.List("Account");
      REQUIRE(all.ok());
      CHECK(all->size() == 1);

      // Issue 8.7: the record's stamps go with its link; those of a
      // record whose id extends this one's stay.
      {
        WriteBatch stamps;
        links.PutCaptureStamp("Account", "S-1", "Name", Stamp(1, true, 1, 1),
                              &stamps);
        proto::StepStamps stepped;
        (*stepped.mutable_fields())["Name"] = Stamp(2, false, 1, 1);
        (*stepped.mutable_fields())["$deleted"] = Stamp(2, true, 2, 2);
        links.PutStepStamps("Account", "S-1", stepped, &stamps);
        links.PutCaptureStamp("Account", "S-10", "Name", Stamp(3, true, 1, 3),
                              &stamps);
        testing::RequireOk(
            storage->storage()->Write(stamps, WriteOptions{.sync = true}));
      }
      WriteBatch remove;
      testing::RequireOk(links.Remove("Account", **by_local, &remove));
      testing::RequireOk(
          storage->storage()->Write(remove, WriteOptions{.sync = true}));
      CHECK_FALSE(links.FindByPartner("Account", "P-7")->has_value());
      CHECK_FALSE(links.FindByLocal("Account", "S-1")->has_value());
      CHECK_FALSE(links.GetStamp("Account", "S-1", "Name")->has_value());
      CHECK_FALSE(links.GetStamp("Account", "S-1", "$deleted")->has_value());
      CHECK(links.GetStamp("Account", "S-10", "Name")->has_value());
      for (const auto& [key, value] : testing::Dump(storage->storage())) {
        CHECK_FALSE(key.starts_with("k/c1/l/"));
        CHECK_FALSE(key.starts_with("k/c1/p/"));
        CHECK_FALSE(
            key.starts_with(std::string_view("k/c1/f/Account\0S-1\0", 19)));
        CHECK(key != std::string_view("k/c1/s/Account\0S-1", 18));
      }
    }
  }
}

// The link as Find* return it, or a failed REQUIRE.
proto::RecordLink Found(
    const absl::StatusOr<std::optional<proto::RecordLink>>& found) {
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  return **found;
}

std::string LinkKey(std::string_view tag, std::string_view id) {
  std::string key = "k/c1/";
  key.append(tag).append("/Account");
  key.push_back('\0');
  key.append(id);
  return key;
}

TEST_CASE(
    "Design rule 3, issue 10: a link is whole under the id its side looks "
    "it up by and a stub under the other, which lookups follow -- a change "
    "writes one value",
    "[recsync]") {
  auto storage = NewMemoryStorage();
  RecordLinks links(storage.get(), "c1");
  auto write = [&](const WriteBatch& batch) {
    testing::RequireOk(storage->Write(batch, WriteOptions{.sync = true}));
  };

  // A received insert's link lives under the partner's id.
  proto::RecordLink received = RecordLinks::NewLink("S-1", "P-1");
  CHECK(received.home() == proto::LINK_HOME_PARTNER);
  {
    WriteBatch batch;
    links.Create("Account", received, &batch);
    CHECK(batch.Count() == 2);
    write(batch);
  }
  // An acknowledged send's link lives under the local id.
  proto::RecordLink sent;
  sent.set_local_id("S-2");
  sent.set_partner_id("P-2");
  sent.set_home(proto::LINK_HOME_LOCAL);
  {
    WriteBatch batch;
    links.Create("Account", sent, &batch);
    write(batch);
  }
  std::map<std::string, std::string> stored = testing::Dump(storage.get());
  proto::RecordLink stub;
  REQUIRE(stub.ParseFromString(stored.at(LinkKey("l", "S-1"))));
  CHECK(stub.stub());
  CHECK(stub.partner_id() == "P-1");
  CHECK_FALSE(stub.has_step_stamps());
  REQUIRE(stub.ParseFromString(stored.at(LinkKey("p", "P-2"))));
  CHECK(stub.stub());
  CHECK(stub.local_id() == "S-2");

  CHECK_FALSE(links.PartnerIdOf("Account", "S-3")->has_value());
  CHECK_FALSE(links.PartnerIdOf("Contact", "S-1")->has_value());

  // Either lookup finds the whole link, and a change of it is one write.
  for (auto* link : {&received, &sent}) {
    proto::RecordLink by_local =
        Found(links.FindByLocal("Account", link->local_id()));
    proto::RecordLink by_partner =
        Found(links.FindByPartner("Account", link->partner_id()));
    CHECK_FALSE(by_local.stub());
    CHECK(by_local.SerializeAsString() == by_partner.SerializeAsString());
    // The partner's id from one read of the local key, stub or whole.
    absl::StatusOr<std::optional<std::string>> partner_id =
        links.PartnerIdOf("Account", link->local_id());
    testing::RequireOk(partner_id.status());
    CHECK(partner_id->value_or("<none>") == link->partner_id());
    by_local.set_last_applied_sequence(9);
    WriteBatch change;
    links.Put("Account", by_local, &change);
    CHECK(change.Count() == 1);
    write(change);
    CHECK(Found(links.FindByPartner("Account", link->partner_id()))
              .last_applied_sequence() == 9);
    CHECK(Found(links.FindByLocal("Account", link->local_id()))
              .last_applied_sequence() == 9);
  }
  auto all = links.List("Account");
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  for (const proto::RecordLink& link : *all) {
    CHECK_FALSE(link.stub());
    CHECK(link.last_applied_sequence() == 9);
  }

  // A link written before homes is whole under both keys; its next change
  // gives it a home, so the other key cannot keep the old value.
  proto::RecordLink old;
  old.set_local_id("S-3");
  old.set_partner_id("P-3");
  old.set_last_applied_sequence(1);
  {
    WriteBatch batch;
    batch.Put(LinkKey("l", "S-3"), old.SerializeAsString());
    batch.Put(LinkKey("p", "P-3"), old.SerializeAsString());
    write(batch);
  }
  proto::RecordLink found = Found(links.FindByPartner("Account", "P-3"));
  CHECK(found.home() == proto::LINK_HOME_BOTH);
  found.set_last_applied_sequence(2);
  {
    WriteBatch change;
    links.Put("Account", found, &change);
    write(change);
  }
  CHECK(Found(links.FindByPartner("Account", "P-3")).last_applied_sequence() ==
        2);
  CHECK(Found(links.FindByLocal("Account", "S-3")).home() ==
        proto::LINK_HOME_LOCAL);
  // The receiving side gives such a link the home it looks it up by.
  old.set_local_id("S-7");
  old.set_partner_id("P-7");
  {
    WriteBatch batch;
    batch.Put(LinkKey("l", "S-7"), old.SerializeAsString());
    batch.Put(LinkKey("p", "P-7"), old.SerializeAsString());
    write(batch);
    WriteBatch change;
    links.Put("Account", Found(links.FindByPartner("Account", "P-7")),
              &change, proto::LINK_HOME_PARTNER);
    write(change);
  }
  stored = testing::Dump(storage.get());
  REQUIRE(stub.ParseFromString(stored.at(LinkKey("l", "S-7"))));
  CHECK(stub.stub());
  CHECK(Found(links.FindByLocal("Account", "S-7")).home() ==
        proto::LINK_HOME_PARTNER);

  // Removal takes both keys, whichever is the home.
  for (const auto& [local, partner] :
       {std::pair{"S-1", "P-1"}, std::pair{"S-2", "P-2"}}) {
    WriteBatch remove;
    testing::RequireOk(links.Remove(
        "Account", Found(links.FindByLocal("Account", local)), &remove));
    write(remove);
    CHECK_FALSE(links.FindByLocal("Account", local)->has_value());
    CHECK_FALSE(links.FindByPartner("Account", partner)->has_value());
  }

  // A stub whose link is gone, or whose key holds another link, is damage.
  {
    WriteBatch damage;
    proto::RecordLink dangling;
    dangling.set_local_id("S-4");
    dangling.set_partner_id("P-9");  // nothing is stored under P-9
    dangling.set_stub(true);
    damage.Put(LinkKey("l", "S-4"), dangling.SerializeAsString());
    proto::RecordLink crossed = dangling;
    crossed.set_local_id("S-5");
    crossed.set_partner_id("P-4");
    damage.Put(LinkKey("l", "S-5"), crossed.SerializeAsString());
    proto::RecordLink other = RecordLinks::NewLink("S-6", "P-4");
    damage.Put(LinkKey("p", "P-4"), other.SerializeAsString());
    write(damage);
  }
  CHECK(absl::IsDataLoss(links.FindByLocal("Account", "S-4").status()));
  CHECK(absl::IsDataLoss(links.FindByLocal("Account", "S-5").status()));
}

TEST_CASE(
    "R34: sever requests are kept durably until the step thread "
    "deletes them, listed in key order and bounded",
    "[recsync]") {
  for (const auto& factory : testing::ReopenableStorageFactories()) {
    auto storage = factory();
    SECTION(storage->name()) {
      {
        RecordLinks links(storage->storage(), "c1");
        WriteBatch batch;
        links.PutSeverRequest({"Contact", "S-2"}, &batch);
        links.PutSeverRequest({"Account", "S-1"}, &batch);
        links.PutSeverRequest({"Account", "S-3"}, &batch);
        testing::RequireOk(
            storage->storage()->Write(batch, WriteOptions{.sync = true}));
      }
      storage->Reopen();
      RecordLinks links(storage->storage(), "c1");
      auto all = links.ListSeverRequests(10);
      testing::RequireOk(all.status());
      CHECK(*all == std::vector<RecordRef>{{"Account", "S-1"},
                                           {"Account", "S-3"},
                                           {"Contact", "S-2"}});
      CHECK(links.ListSeverRequests(2)->size() == 2);
      CHECK(
          RecordLinks(storage->storage(), "c2").ListSeverRequests(10)->empty());
      WriteBatch done;
      links.DeleteSeverRequest({"Account", "S-3"}, &done);
      testing::RequireOk(
          storage->storage()->Write(done, WriteOptions{.sync = true}));
      CHECK(*links.ListSeverRequests(10) ==
            std::vector<RecordRef>{{"Account", "S-1"}, {"Contact", "S-2"}});
    }
  }
}

TEST_CASE(
    "Conflicts: field stamps order by time, then primary over "
    "secondary, then version and sequence",
    "[recsync]") {
  CHECK(StampLess(Stamp(1, true, 9, 9), Stamp(2, false, 1, 1)));
  CHECK(StampLess(Stamp(5, false, 9, 9), Stamp(5, true, 1, 1)));
  CHECK(StampLess(Stamp(5, true, 1, 9), Stamp(5, true, 2, 1)));
  CHECK(StampLess(Stamp(5, true, 2, 1), Stamp(5, true, 2, 2)));
  CHECK_FALSE(StampLess(Stamp(5, true, 2, 2), Stamp(5, true, 2, 2)));
}

TEST_CASE("Conflicts: stamps are kept per record and field", "[recsync]") {
  auto storage = NewMemoryStorage();
  RecordLinks links(storage.get(), "c1");
  CHECK_FALSE(links.GetStamp("Account", "P-1", "Name")->has_value());
  WriteBatch batch;
  links.PutCaptureStamp("Account", "P-1", "Name", Stamp(3, true, 1, 4),
                        &batch);
  testing::RequireOk(storage->Write(batch, WriteOptions{.sync = true}));
  auto stamp = links.GetStamp("Account", "P-1", "Name");
  REQUIRE(stamp.ok());
  REQUIRE(stamp->has_value());
  CHECK((*stamp)->sequence() == 4);
  CHECK_FALSE(links.GetStamp("Account", "P-1", "Phone")->has_value());
  CHECK_FALSE(links.GetStamp("Account", "P-10", "Name")->has_value());
}

TEST_CASE(
    "Design rule 9: a stamp read is the newer of the capture's and the "
    "step thread's, so neither writer puts back an older stamp over "
    "the other's",
    "[recsync]") {
  auto storage = NewMemoryStorage();
  RecordLinks links(storage.get(), "c1");
  auto capture = [&](const proto::FieldStamp& stamp) {
    WriteBatch batch;
    links.PutCaptureStamp("Account", "S-1", "Phone", stamp, &batch);
    testing::RequireOk(storage->Write(batch, WriteOptions{.sync = true}));
  };
  auto step = [&](const proto::FieldStamp& stamp) {
    auto stamps = links.GetStepStamps("Account", "S-1");
    testing::RequireOk(stamps.status());
    (*stamps->mutable_fields())["Phone"] = stamp;
    WriteBatch batch;
    links.PutStepStamps("Account", "S-1", *stamps, &batch);
    testing::RequireOk(storage->Write(batch, WriteOptions{.sync = true}));
  };
  // A host write captured (micros 20) while apply was between its store
  // write and its stamp commit; apply then commits the partner's older
  // stamp (micros 10).
  capture(Stamp(20, false, 3, 7));
  step(Stamp(10, true, 2, 5));
  auto stamp = links.GetStamp("Account", "S-1", "Phone");
  testing::RequireOk(stamp.status());
  REQUIRE(stamp->has_value());
  CHECK((*stamp)->micros() == 20);
  CHECK((*stamp)->sequence() == 7);
  // And the other way round: the step thread's newer stamp wins over an
  // older capture's.
  step(Stamp(30, true, 4, 9));
  stamp = links.GetStamp("Account", "S-1", "Phone");
  testing::RequireOk(stamp.status());
  REQUIRE(stamp->has_value());
  CHECK((*stamp)->micros() == 30);
}

// Stages what `stage` puts in a batch and writes it, synced.
void Commit(Storage& storage, const std::function<void(WriteBatch*)>& stage) {
  WriteBatch batch;
  stage(&batch);
  testing::RequireOk(storage.Write(batch, WriteOptions{.sync = true}));
}

TEST_CASE(
    "Design rule 9: a capture stamp written after an object was first read "
    "without any is found, and one written before this process is found",
    "[recsync]") {
  auto storage = NewMemoryStorage();
  {
    RecordLinks links(storage.get(), "c1");
    // Nothing captured for Account yet: no stamp, and none looked up again.
    CHECK_FALSE(links.GetStamp("Account", "S-1", "Name")->has_value());
    Commit(*storage, [&](WriteBatch* batch) {
      links.PutCaptureStamp("Account", "S-1", "Name", Stamp(7, false, 1, 3),
                            batch);
    });
    auto stamp = links.GetStamp("Account", "S-1", "Name");
    testing::RequireOk(stamp.status());
    REQUIRE(stamp->has_value());
    CHECK((*stamp)->micros() == 7);
  }
  // A new process finds what captures stored before it.
  RecordLinks reopened(storage.get(), "c1");
  auto stamp = reopened.GetStamp("Account", "S-1", "Name");
  testing::RequireOk(stamp.status());
  REQUIRE(stamp->has_value());
  CHECK((*stamp)->sequence() == 3);
  // Another object's stamps are not another's: Contact has none.
  CHECK_FALSE(reopened.GetStamp("Contact", "S-1", "Name")->has_value());
}

TEST_CASE(
    "Conflicts: an insert's capture stamps its carried fields under one key -- "
    "a later update's stamp of a field is read first",
    "[recsync]") {
  auto storage = NewMemoryStorage();
  RecordLinks links(storage.get(), "c1");
  Commit(*storage, [&](WriteBatch* batch) {
    links.PutInsertCaptureStamps("Account", "P-1", {"Name", "Phone"},
                                 Stamp(10, true, 1, 4), batch);
  });
  for (const char* field : {"Name", "Phone"}) {
    auto stamp = links.GetStamp("Account", "P-1", field);
    testing::RequireOk(stamp.status());
    REQUIRE(stamp->has_value());
    CHECK((*stamp)->micros() == 10);
  }
  // Not carried by the insert (published later, say): no stamp.
  CHECK_FALSE(links.GetStamp("Account", "P-1", "Industry")->has_value());
  CHECK_FALSE(links.GetStamp("Account", "P-1", "$deleted")->has_value());
  Commit(*storage, [&](WriteBatch* batch) {
    links.PutCaptureStamp("Account", "P-1", "Phone", Stamp(20, true, 2, 9),
                          batch);
  });
  CHECK((*links.GetStamp("Account", "P-1", "Phone"))->micros() == 20);
  CHECK((*links.GetStamp("Account", "P-1", "Name"))->micros() == 10);
  // Removing the link takes the insert's stamps too.
  proto::RecordLink link;
  link.set_local_id("P-1");
  link.set_partner_id("S-1");
  Commit(*storage,
         [&](WriteBatch* batch) { links.Put("Account", link, batch); });
  Commit(*storage, [&](WriteBatch* batch) {
    testing::RequireOk(links.Remove("Account", link, batch));
  });
  CHECK_FALSE(links.GetStamp("Account", "P-1", "Name")->has_value());
}


TEST_CASE(
    "Conflicts: a linked record's step stamps live in its link, one value "
    "per record -- a link from before moves its stamps in on the next write",
    "[recsync]") {
  auto storage = NewMemoryStorage();
  RecordLinks links(storage.get(), "c1");
  auto step_key_exists = [&] {
    auto it = storage->NewIterator();
    testing::RequireOk(it.status());
    size_t step_keys = 0;
    for ((*it)->Seek("k/c1/s/"); (*it)->Valid() &&
                                 (*it)->key().starts_with("k/c1/s/");
         (*it)->Next()) {
      ++step_keys;
    }
    return step_keys > 0;
  };
  // A link written before step stamps moved into links: its stamps are
  // under their own key, and they are what StepStampsOf reads.
  proto::RecordLink old_link;
  old_link.set_local_id("S-1");
  old_link.set_partner_id("P-1");
  proto::StepStamps old_stamps;
  (*old_stamps.mutable_fields())["Name"] = Stamp(10, true, 1, 4);
  Commit(*storage, [&](WriteBatch* batch) {
    links.Put("Account", old_link, batch);
    links.PutStepStamps("Account", "S-1", old_stamps, batch);
  });
  auto read = links.FindByPartner("Account", "P-1");
  testing::RequireOk(read.status());
  REQUIRE(read->has_value());
  proto::RecordLink link = **read;
  CHECK_FALSE(link.holds_step_stamps());
  auto stamps = links.StepStampsOf("Account", link);
  testing::RequireOk(stamps.status());
  CHECK(stamps->fields().at("Name").micros() == 10);
  // The next write moves them into the link and removes their key.
  (*stamps->mutable_fields())["Phone"] = Stamp(20, true, 2, 6);
  Commit(*storage, [&](WriteBatch* batch) {
    links.SetStepStamps("Account", *stamps, &link, batch);
    links.Put("Account", link, batch);
  });
  CHECK_FALSE(step_key_exists());
  for (const bool by_partner : {true, false}) {
    auto again = by_partner ? links.FindByPartner("Account", "P-1")
                            : links.FindByLocal("Account", "S-1");
    testing::RequireOk(again.status());
    REQUIRE(again->has_value());
    CHECK((*again)->holds_step_stamps());
    auto held = links.StepStampsOf("Account", **again);
    testing::RequireOk(held.status());
    CHECK(held->fields().at("Name").micros() == 10);
    CHECK(held->fields().at("Phone").micros() == 20);
  }
  auto phone = links.GetStamp("Account", "S-1", "Phone");
  testing::RequireOk(phone.status());
  REQUIRE(phone->has_value());
  CHECK((*phone)->sequence() == 6);
  // A new link holds its stamps from the start: setting them writes no
  // key of their own, not even a removal.
  proto::RecordLink fresh = RecordLinks::NewLink("S-2", "P-2");
  CHECK(fresh.holds_step_stamps());
  proto::StepStamps first;
  (*first.mutable_fields())["Name"] = Stamp(30, true, 1, 8);
  WriteBatch batch;
  links.SetStepStamps("Account", first, &fresh, &batch);
  links.Create("Account", fresh, &batch);
  CHECK(batch.Count() == 2);  // the link under its home key, and its stub
  testing::RequireOk(storage->Write(batch, WriteOptions{.sync = true}));
  auto name = links.GetStamp("Account", "S-2", "Name");
  testing::RequireOk(name.status());
  REQUIRE(name->has_value());
  CHECK((*name)->micros() == 30);
  CHECK_FALSE(step_key_exists());
}

// The stamp GetStamp reads for the field; the test fails if there is none.
proto::FieldStamp RequireStamp(const RecordLinks& links,
                               std::string_view object, std::string_view id,
                               std::string_view field) {
  auto stamp = links.GetStamp(object, id, field);
  testing::RequireOk(stamp.status());
  REQUIRE(stamp->has_value());
  return **stamp;
}

TEST_CASE(
    "Fast core: fields that share a stamp are stored with it once, and read "
    "back one stamp per field, and the older form, a stamp each, is still "
    "read",
    "[recsync]") {
  auto storage = NewMemoryStorage();
  RecordLinks links(storage.get(), "c1");
  // Three fields stamped by one change, one by a later change.
  proto::StepStamps stamps;
  for (const char* field : {"Name", "Phone", "City"}) {
    (*stamps.mutable_fields())[field] = Stamp(10, true, 1, 4);
  }
  (*stamps.mutable_fields())["Rating"] = Stamp(20, true, 2, 6);
  const size_t one_each = stamps.ByteSizeLong();
  proto::RecordLink link = RecordLinks::NewLink("S-1", "P-1");
  Commit(*storage, [&](WriteBatch* batch) {
    links.SetStepStamps("Account", stamps, &link, batch);
    links.Create("Account", link, batch);
    links.PutStepStamps("Account", "S-2", stamps, batch);
  });
  auto stored = links.FindByPartner("Account", "P-1");
  testing::RequireOk(stored.status());
  REQUIRE(stored->has_value());
  const proto::StepStamps& raw = (*stored)->step_stamps();
  CHECK(raw.shared_fields_size() == 3);
  CHECK(raw.shared().micros() == 10);
  CHECK(raw.fields().size() == 1);
  CHECK(raw.ByteSizeLong() < one_each);
  auto from_link = links.StepStampsOf("Account", **stored);
  auto from_key = links.GetStepStamps("Account", "S-2");
  for (const auto* read : {&from_link, &from_key}) {
    testing::RequireOk(read->status());
    CHECK((*read)->shared_fields().empty());
    REQUIRE((*read)->fields().size() == 4);
    for (const char* field : {"Name", "Phone", "City"}) {
      CHECK((*read)->fields().at(field).sequence() == 4);
    }
    CHECK((*read)->fields().at("Rating").sequence() == 6);
  }
  CHECK(RequireStamp(links, "Account", "S-1", "Rating").micros() == 20);
  // An insert's capture stamps in the form older versions wrote (a stamp
  // per field) are still read, once opened again over them.
  proto::StepStamps old_form;
  (*old_form.mutable_fields())["Name"] = Stamp(5, true, 1, 2);
  Commit(*storage, [&](WriteBatch* batch) {
    batch->Put(std::string("k/c1/f/Account") + '\0' + "L-0" + '\0' +
                   std::string(kInsertStampsField) + '\0' + 'c',
               old_form.SerializeAsString());
  });
  RecordLinks reopened(storage.get(), "c1");
  CHECK(RequireStamp(reopened, "Account", "L-0", "Name").sequence() == 2);
  CHECK_FALSE(reopened.GetStamp("Account", "L-0", "Phone")->has_value());
}

TEST_CASE(
    "Design rule 3: ListIds reads both ids of each link without its stamps, "
    "passes over fields it does not know, and finds a damaged link DataLoss",
    "[recsync]") {
  auto storage = NewMemoryStorage();
  RecordLinks links(storage.get(), "c1");
  WriteBatch batch;
  for (int i = 1; i <= 3; ++i) {
    proto::RecordLink link;
    link.set_local_id("S-" + std::to_string(i));
    link.set_partner_id("P-" + std::to_string(i));
    link.set_partner_version(7);
    link.set_holds_step_stamps(true);
    (*link.mutable_step_stamps()->mutable_fields())["Name"] =
        Stamp(1000 + i, true, 2, 9);
    links.Create("Account", link, &batch);
  }
  testing::RequireOk(storage->Write(batch, WriteOptions{.sync = true}));
  const auto listed = [&](bool by_partner) {
    return links.ListIds("Account", by_partner, "", "", 10);
  };
  for (const bool by_partner : {false, true}) {
    const auto ids = listed(by_partner);
    REQUIRE(ids.ok());
    REQUIRE(ids->size() == 3);
    for (int i = 0; i < 3; ++i) {
      CHECK((*ids)[i].local_id == "S-" + std::to_string(i + 1));
      CHECK((*ids)[i].partner_id == "P-" + std::to_string(i + 1));
    }
  }

  // The key of S-2's link as this org finds it: the value naming S-2 whole.
  std::string key;
  std::string value;
  {
    auto it = storage->NewIterator();
    REQUIRE(it.ok());
    for ((*it)->Seek(""); (*it)->Valid(); (*it)->Next()) {
      proto::RecordLink link;
      if (link.ParseFromString(std::string((*it)->value())) &&
          link.local_id() == "S-2" && link.holds_step_stamps()) {
        key = std::string((*it)->key());
        value = std::string((*it)->value());
      }
    }
  }
  REQUIRE_FALSE(key.empty());
  // A field this version does not know (number 15, a varint) is passed over.
  testing::RequireOk(
      storage->Put(key, value + std::string("\x78\x05", 2), WriteOptions{.sync = true}));
  REQUIRE(listed(false).ok());
  CHECK(listed(false)->at(1).partner_id == "P-2");
  // Cut short inside the partner's id: neither read nor parsed.
  const std::string cut = value.substr(0, value.find("P-2") + 1);
  testing::RequireOk(storage->Put(key, cut, WriteOptions{.sync = true}));
  CHECK(absl::IsDataLoss(listed(false).status()));
}

TEST_CASE(
    "Design rule 3: ListIds reads ids that are UTF-8 beyond ASCII, and finds "
    "a link whose id is not UTF-8 DataLoss",
    "[recsync]") {
  auto storage = NewMemoryStorage();
  RecordLinks links(storage.get(), "c1");
  proto::RecordLink link;
  link.set_local_id("S-\xc3\xbc");
  link.set_partner_id("P-\xe2\x82\xac");
  Commit(*storage,
         [&](WriteBatch* batch) { links.Create("Account", link, batch); });
  for (const bool by_partner : {false, true}) {
    const auto ids = links.ListIds("Account", by_partner, "", "", 10);
    REQUIRE(ids.ok());
    REQUIRE(ids->size() == 1);
    CHECK(ids->front().local_id == link.local_id());
    CHECK(ids->front().partner_id == link.partner_id());
  }
  // The link and its stub, each with the partner's id's last byte cut off
  // the euro sign's three.
  std::vector<std::pair<std::string, std::string>> damaged;
  {
    auto it = storage->NewIterator();
    REQUIRE(it.ok());
    for ((*it)->Seek(""); (*it)->Valid(); (*it)->Next()) {
      std::string value((*it)->value());
      const size_t euro = value.find("\xe2\x82\xac");
      if (euro == std::string::npos) continue;
      value[euro + 2] = 'x';
      damaged.emplace_back(std::string((*it)->key()), std::move(value));
    }
  }
  REQUIRE(damaged.size() == 2);
  for (const auto& [key, value] : damaged) {
    testing::RequireOk(storage->Put(key, value, WriteOptions{.sync = true}));
  }
  for (const bool by_partner : {false, true}) {
    CHECK(absl::IsDataLoss(
        links.ListIds("Account", by_partner, "", "", 10).status()));
  }
}

}  // namespace
}  // namespace orgsync::internal::record_links_test
