// The real Dagster 1.13.27 captures (tests/data/dagster/) wired into a FakeTransport: every
// operation `day2 collect` sends on OSS is answered as that server answered it. Used by the
// collect tests and anything else that needs a whole, realistic artifact without a server.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "analyzer/config/config.hpp"
#include "recorder/base/time.hpp"
#include "support/fake_transport.hpp"

namespace day2test {

// The window the captures were taken for: RunsInWindow's updatedAfter / createdBefore
// (1795323636.360315 .. 1795323833.061592), rounded to the microsecond.
recorder::Window captured_window();

// The captured RunEvents variants (file suffix) keyed by the run id they were captured for, read
// from their .variables.json: {"2dd4253f-...", "code_error"}, ...
std::vector<std::pair<std::string, std::string>> captured_run_events();

// Adds a rule for every operation collect sends (RunEvents by runId, AssetCheckHistory by
// checkName, TypeFields by name, the rest unconditionally). Later rules override these.
void answer_captured(FakeTransport& transport);

// collect() over the captured window with Dagster answered from the captures and every Google API
// answered by `google` (at http://127.0.0.1:9), Error Reporting's "now" 2026-11-22T05:30:00Z.
rapidjson::Document collect_with_google(std::shared_ptr<recorder::Transport> google, const analyzer::Config& config);

// Synthetic answers built from the captures, for paging tests.

// A RunsInWindow answer holding the captured runs at `indexes` of RunsInWindow.json (newest first).
rapidjson::Document captured_runs_page(const std::vector<std::size_t>& indexes);
// The runId of the captured run at `index` of RunsInWindow.json.
std::string captured_run_id(std::size_t index);
// Replaces the array at JSON pointer `list` in `document` by `count` copies of its first element,
// the i-th (newest first) with `id_key` = "id-<count - i>" and, when `time_key` is given,
// `time_key` = `time` + (count - i) / 1000. Throws std::runtime_error when `list` is not a non-empty array.
void repeat_first(rapidjson::Document& document, const char* list, int count, const char* id_key,
                  const char* time_key = nullptr, double time = 0);

}  // namespace day2test
