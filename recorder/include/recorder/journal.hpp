// The journal of a recording in progress: `day2 record` keeps each exchange on disk as it is
// recorded, so a recorder that is killed (SIGKILL, the OOM killer, a crash, a reboot) leaves what it
// had recorded, and `day2 record --recover DIR` turns it into a bundle marked as recovered.
//
// On disk, beside the bundle directory DIR: DIR's sibling ".NAME.recording/" (0700) holding
//   recording.json          the manifest so far (manifest.json's shape; exchange_count 0), rewritten
//                           when an origin or a redaction appears
//   exchanges/NNNN.json     each exchange as the bundle keeps it, written to a temporary file,
//                           fsynced and renamed into place, its directory fsynced: durable once
//                           RecordingTransport::send returns. Rewritten when a secret learnt later
//                           appears in it (so the journal is as redacted as the bundle would be)
//   lock                    flock'd by the live recorder: --recover refuses a live recording
// It never holds a manifest.json, so nothing reads it as a bundle. The normal end writes the bundle
// (atomically, write_bundle) and then removes the journal.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "recorder/bundle.hpp"
#include "recorder/base/result.hpp"

namespace recorder {

// The journal directory of bundle directory `out`: its sibling ".NAME.recording".
std::filesystem::path journal_dir(const std::filesystem::path& out);

class Journal {
 public:
  // Creates the journal of `out` (an Error when one exists: a live or an unrecovered recording),
  // takes its lock and writes `manifest` as recording.json.
  static Result<std::unique_ptr<Journal>> create(const std::filesystem::path& out, const Manifest& manifest);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Writes exchange `seq` (1-based), replacing an earlier version of it; durable on return.
  Result<void> write_exchange(int seq, const Exchange& exchange);
  // Rewrites recording.json.
  Result<void> write_manifest(const Manifest& manifest);
  // Removes the journal (after the bundle is written) and releases the lock.
  void remove();
  const std::filesystem::path& dir() const { return m_dir; }

 private:
  friend Result<Bundle> recover_journal(const std::filesystem::path& out);  // holds the lock while it recovers
  Journal(std::filesystem::path dir, int lock_fd) : m_dir(std::move(dir)), m_lock_fd(lock_fd) {}
  std::filesystem::path m_dir;
  int m_lock_fd = -1;
};

// What a journal left beside `out` holds.
struct JournalFound {
  std::filesystem::path dir;
  int exchanges = 0;   // exchange files numbered 1..exchanges, without a gap
  bool live = false;   // a recorder holds its lock now
};
// The journal beside `out`, if there is one. Never throws.
std::optional<JournalFound> find_journal(const std::filesystem::path& out);

// Turns the journal of `out` into the bundle `out` (atomically): recording.json as its manifest,
// exchanges 1..N (N: the first missing number ends them), manifest.recovered saying so; then removes
// the journal. An Error, and nothing changed, when there is no journal, a recorder still holds it,
// `out` exists, or a journal file does not read (naming the file).
Result<Bundle> recover_journal(const std::filesystem::path& out);

}  // namespace recorder
