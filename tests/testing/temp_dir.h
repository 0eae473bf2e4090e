// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// A fresh, empty folder for one test, removed when the object goes away.
// Lives under $ORGSYNC_TEST_TMPDIR (set by ctest) or the system temp folder.

#ifndef ORGSYNC_TESTS_TESTING_TEMP_DIR_H_
#define ORGSYNC_TESTS_TESTING_TEMP_DIR_H_

#include <filesystem>
#include <string>

namespace orgsync::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // A path inside the folder (not created).
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace orgsync::testing

#endif  // ORGSYNC_TESTS_TESTING_TEMP_DIR_H_
