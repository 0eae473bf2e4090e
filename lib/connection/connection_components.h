// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// SEAM: the per-connection engine components that are built in parallel
// branches and plug into ConnectionImpl when merged.
//
// Each connection will own one of each, all opened on the Org's Storage*
// with the connection's id as their key scope ("p/<id>/", "s/<id>/",
// "q/<id>/", "l/<id>/"). They are opened where ConnectionImpl objects are
// made (OrgImpl::Open, CreateInvitation, AcceptInvitation in
// lib/connection/org.cc) and used at the places marked "SEAM" in
// lib/connection/connection_impl.cc:
//   * ConnectionImpl::StageNotice: Connection notices (R56 Connection ...
//     actions) become RecordQueue entries in the same WriteBatch as the
//     state change; today they sit in ConnectionState.pending_notices.
//   * ConnectionImpl::RouteToEngine: accepted-connection traffic (changes,
//     acks, map updates, users, metadata) goes to the RecordQueue /
//     SubscriptionMap / SyncLog; today it is only counted as unhandled.
//   * ConnectionImpl becomes the ChangeSink (orgsync/change_sink.h) of its
//     PublishSet and SubscriptionMap: Stage() turns MapNotices into
//     RecordQueue entries.
//   * The RecordQueue sends only while status() is Active, so Suspend and
//     R6 need no further code here.
//
// The pointers are null until those types exist; they are raw because a
// std::unique_ptr cannot be destroyed through an incomplete type. When the
// components land they become std::unique_ptr members.

#ifndef ORGSYNC_LIB_CONNECTION_CONNECTION_COMPONENTS_H_
#define ORGSYNC_LIB_CONNECTION_CONNECTION_COMPONENTS_H_

namespace orgsync {

class PublishSet;
class SubscriptionMap;
class RecordQueue;
class SyncLog;

namespace internal {

struct ConnectionComponents {
  PublishSet* publish_set = nullptr;
  SubscriptionMap* subscription_map = nullptr;
  RecordQueue* record_queue = nullptr;
  SyncLog* sync_log = nullptr;
};

}  // namespace internal
}  // namespace orgsync

#endif  // ORGSYNC_LIB_CONNECTION_CONNECTION_COMPONENTS_H_
