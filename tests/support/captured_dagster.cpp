#include "support/captured_dagster.hpp"

#include "analyzer/collect/collect.hpp"

#include <rapidjson/pointer.h>

#include <stdexcept>

namespace day2test {

namespace {

std::string variable(std::string_view name, const char* key) {
  auto variables = dagster_data(std::string(name) + ".variables");
  auto value = recorder::get_string(variables, key);
  if (!value) throw std::runtime_error("test data: " + std::string(name) + ".variables.json has no \"" + key + "\"");
  return *value;
}

}  // namespace

recorder::Window captured_window() {
  auto variables = dagster_data("RunsInWindow.variables");
  const auto* filter = recorder::get_object(variables, "filter");
  auto after = filter ? recorder::get_number(*filter, "updatedAfter") : std::nullopt;
  auto before = filter ? recorder::get_number(*filter, "createdBefore") : std::nullopt;
  if (!after || !before) throw std::runtime_error("test data: RunsInWindow.variables.json has no window");
  return {recorder::from_epoch_seconds(*after), recorder::from_epoch_seconds(*before)};
}

std::vector<std::pair<std::string, std::string>> captured_run_events() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* variant : {"backfill_partition", "canceled", "code_error", "connection_refused", "crashing_check",
                              "max_runtime", "retried_first_attempt", "retry_success"}) {
    out.emplace_back(variable(std::string("RunEvents.") + variant, "runId"), variant);
  }
  return out;
}

void answer_captured(FakeTransport& transport) {
  for (const char* operation : {"RunsInWindow", "AllInstigatorTicks", "FreshnessLegacy", "FreshnessNew",
                                "CodeLocations", "DaemonHealth", "InFlightRuns", "Backfills", "AssetKeys",
                                "AssetChecksLatest", "AssetsLatestInfo", "Version"}) {
    transport.on(operation, Answer::file(operation));
  }
  for (const auto& [run_id, variant] : captured_run_events()) {
    transport.on("RunEvents", where("/runId", run_id), Answer::file("RunEvents." + variant));
    // The failed runs' captured output, captured later (capture.py --only RunCapturedLogs) from the
    // fixture's run of the same purpose: its log key and lines name that run, not this one.
    if (variant != "canceled" && variant != "retry_success") {
      transport.on("RunCapturedLogs", where("/runId", run_id), Answer::file("RunCapturedLogs." + variant));
    }
  }
  for (const char* variant : {"error", "warn", "execution_failed"}) {
    auto name = std::string("AssetCheckHistory.") + variant;
    transport.on("AssetCheckHistory", where("/checkName", variable(name, "checkName")), Answer::file(name));
  }
  for (const char* type : {"AssetNode", "Instance", "Query", "Run", "RunsFilter"}) {
    transport.on("TypeFields", where("/name", type), Answer::file(std::string("TypeFields.") + type));
  }
}

rapidjson::Document captured_runs_page(const std::vector<std::size_t>& indexes) {
  auto all = dagster_data("RunsInWindow");
  const auto& runs = all["data"]["runsOrError"]["results"];
  rapidjson::Document page;
  page.Parse(R"({"data": {"runsOrError": {"__typename": "Runs", "results": []}}})");
  auto& results = page["data"]["runsOrError"]["results"];
  for (auto index : indexes) {
    if (index >= runs.Size()) {
      throw std::runtime_error("test data: RunsInWindow.json has no run " + std::to_string(index));
    }
    rapidjson::Value run;
    run.CopyFrom(runs[static_cast<rapidjson::SizeType>(index)], page.GetAllocator());
    results.PushBack(run, page.GetAllocator());
  }
  return page;
}

std::string captured_run_id(std::size_t index) {
  auto page = captured_runs_page({index});
  return page["data"]["runsOrError"]["results"][0]["runId"].GetString();
}

void repeat_first(rapidjson::Document& document, const char* list, int count, const char* id_key,
                  const char* time_key, double time) {
  auto& a = document.GetAllocator();
  auto* items = rapidjson::Pointer(list).Get(document);
  if (!items || !items->IsArray() || items->Empty()) throw std::runtime_error(std::string("no items at ") + list);
  rapidjson::Value model;
  model.CopyFrom((*items)[0], a);
  items->Clear();
  for (int i = 0; i < count; ++i) {
    rapidjson::Value item;
    item.CopyFrom(model, a);
    item[id_key] = recorder::json_string("id-" + std::to_string(count - i), a);
    if (time_key) item[time_key] = time + (count - i) * 0.001;
    items->PushBack(item, a);
  }
}

rapidjson::Document collect_with_google(std::shared_ptr<recorder::Transport> google, const analyzer::Config& config) {
  auto dagster = std::make_shared<FakeTransport>();
  answer_captured(*dagster);
  analyzer::DagsterClient client(dagster, config.dagster, "", std::chrono::milliseconds(2000));
  analyzer::CollectRequest request{config, captured_window()};
  request.google = std::move(google);
  request.google_api_root = "http://127.0.0.1:9";
  request.now = *recorder::parse_rfc3339("2026-11-22T05:30:00Z");
  return analyzer::collect(client, request);
}

}  // namespace day2test
