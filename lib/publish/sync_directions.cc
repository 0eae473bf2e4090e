// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The R19 report of how each object flows on a connection, and the names
// of field statuses and directions: what a host reads across its
// PublishSet and SubscriptionMap.

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "internal/strings.h"
#include "orgsync/publish_set.h"
#include "orgsync/subscription_map.h"

namespace orgsync {

const std::string& FieldStatusName(FieldStatus status) {
  switch (status) {
    case FieldStatus::kSubscribed: return ORGSYNC_STATIC_STRING("Subscribed");
    case FieldStatus::kNotSubscribed: return ORGSYNC_STATIC_STRING("Not Subscribed");
    case FieldStatus::kNoneAvailable: return ORGSYNC_STATIC_STRING("None Available");
    case FieldStatus::kUnmapped: return ORGSYNC_STATIC_STRING("--None--");
  }
  return ORGSYNC_STATIC_STRING("Unknown");
}

const std::string& SyncDirectionName(SyncDirection direction) {
  switch (direction) {
    case SyncDirection::kTwoWay: return ORGSYNC_STATIC_STRING("two-way");
    case SyncDirection::kSendOnly: return ORGSYNC_STATIC_STRING("one-way, sent to the partner");
    case SyncDirection::kReceiveOnly: return ORGSYNC_STATIC_STRING("one-way, received from the partner");
    case SyncDirection::kNone: return ORGSYNC_STATIC_STRING("not flowing");
  }
  return ORGSYNC_STATIC_STRING("unknown");
}

DirectionReport ReportSyncDirections(const PublishSet& publish_set,
                                     const SubscriptionMap& subscriptions) {
  std::set<std::string> names;
  for (std::string& name : publish_set.PublishedObjects()) {
    names.insert(std::move(name));
  }
  for (std::string& name : subscriptions.PartnerPublishedObjects()) {
    names.insert(std::move(name));
  }
  DirectionReport report;
  std::vector<std::string> two_way;
  std::vector<std::string> one_way;
  for (const std::string& name : names) {
    ObjectDirection d;
    d.object = name;
    d.published_here = publish_set.IsObjectPublished(name);
    d.subscribed_by_partner = publish_set.IsPartnerSubscribed(name);
    d.published_by_partner = subscriptions.IsPartnerPublished(name);
    d.subscribed_here = subscriptions.IsSubscribed(name);
    const bool sends = d.published_here && d.subscribed_by_partner;
    const bool receives = d.published_by_partner && d.subscribed_here;
    d.direction = sends && receives ? SyncDirection::kTwoWay
                  : sends           ? SyncDirection::kSendOnly
                  : receives        ? SyncDirection::kReceiveOnly
                                    : SyncDirection::kNone;
    if (d.direction == SyncDirection::kTwoWay) two_way.push_back(name);
    if (d.direction == SyncDirection::kSendOnly ||
        d.direction == SyncDirection::kReceiveOnly) {
      one_way.push_back(name);
    }
    if (d.published_here && !d.subscribed_by_partner) {
      report.warnings.push_back(fmt::format(
          "{} is published here but the partner has not subscribed to it: "
          "none of its changes are sent",
          name));
    }
    if (d.published_by_partner && !d.subscribed_here) {
      report.warnings.push_back(fmt::format(
          "the partner publishes {} but it is not subscribed here: none of "
          "its changes are received",
          name));
    }
    report.objects.push_back(std::move(d));
  }
  if (!two_way.empty() && !one_way.empty()) {
    report.mixed = true;
    auto join = [](const std::vector<std::string>& list) {
      std::string text;
      for (const std::string& name : list) {
        text += text.empty() ? name : ", " + name;
      }
      return text;
    };
    report.warnings.insert(
        report.warnings.begin(),
        fmt::format("R19: this connection mixes two-way objects ({}) with "
                    "one-way objects ({}); edits to the one-way objects on "
                    "the receiving side are not sent back",
                    join(two_way), join(one_way)));
  }
  return report;
}

}  // namespace orgsync
