// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/temp_dir.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace orgsync::testing {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("ORGSYNC_TEST_TMPDIR");
  std::filesystem::path root =
      base != nullptr ? std::filesystem::path(base)
                      : std::filesystem::temp_directory_path() / "orgsync-tests";
  std::filesystem::create_directories(root);
  path_ = root / ("t" + std::to_string(::getpid()) + "-" +
                  std::to_string(counter.fetch_add(1)));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace orgsync::testing
