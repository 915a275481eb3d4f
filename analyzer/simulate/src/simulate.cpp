// `day2 simulate`: a world's transport, collect in process under the recorder, the scenario files.
#include "analyzer/simulate/simulate.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>

// GCC 12 at -O2 reports a false "potential null pointer dereference" inside Boost's option
// values (as in cli.cpp); the location is a library header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/program_options.hpp>
#pragma GCC diagnostic pop
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "analyzer/collect/collect.hpp"
#include "analyzer/config/config.hpp"
#include "analyzer/clients/dagster_client.hpp"
#include "analyzer/clients/gcp_client.hpp"
#include "analyzer/investigate/investigate.hpp"
#include "recorder/base/command.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/log.hpp"
#include "recorder/record.hpp"
#include "analyzer/session/session.hpp"
#include "simulate_world.hpp"

namespace analyzer {

namespace {

using recorder::Result;

class WorldTransport : public recorder::Transport {
 public:
  explicit WorldTransport(std::shared_ptr<const sim::World> world) : m_world(std::move(world)) {}
  Result<recorder::HttpResponse> send(const recorder::HttpRequest& request) override {
    if (request.service == recorder::Service::dagster) return sim::answer_dagster(*m_world, request.body);
    if (auto denied = sim::denied_answer(*m_world, request.service)) return *denied;
    return sim::answer_google(*m_world, request);
  }

 private:
  std::shared_ptr<const sim::World> m_world;
};

Config world_config(const sim::World& world) {
  Config config;
  config.timezone = world.timezone;
  config.page_size = world.page_size;
  config.gcp.project = world.gcp.project;
  config.gcp.cluster = world.gcp.cluster;
  config.gcp.location = world.gcp.location;
  config.gcp.agent_namespace = world.gcp.agent_namespace;
  config.agent_replicas = world.agent_replicas;
  if (world.plus) {
    config.dagster.flavor = Flavor::plus;
    config.dagster.organization = world.organization;
    config.dagster.url = fmt::format("https://{}.dagster.cloud/prod/graphql", world.organization);
  }
  config.retries = 0;
  return config;
}

// config.json for regress: only what differs from the defaults.
std::string config_text(const sim::World& world) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  if (world.plus) {
    rapidjson::Value dagster(rapidjson::kObjectType);
    dagster.AddMember("flavor", "plus", a);
    dagster.AddMember("organization", recorder::json_string(world.organization, a), a);
    doc.AddMember("dagster", dagster, a);
  }
  if (world.agent_replicas != 1) {
    rapidjson::Value agents(rapidjson::kObjectType);
    agents.AddMember("replicas", world.agent_replicas, a);
    doc.AddMember("agents", agents, a);
  }
  if (!world.gcp.project.empty()) {
    rapidjson::Value gcp(rapidjson::kObjectType);
    gcp.AddMember("project", recorder::json_string(world.gcp.project, a), a);
    gcp.AddMember("cluster", recorder::json_string(world.gcp.cluster, a), a);
    gcp.AddMember("location", recorder::json_string(world.gcp.location, a), a);
    if (!world.gcp.agent_namespace.empty()) {
      gcp.AddMember("agent_namespace", recorder::json_string(world.gcp.agent_namespace, a), a);
    }
    doc.AddMember("gcp", gcp, a);
  }
  if (world.page_size != 200) {
    rapidjson::Value collect(rapidjson::kObjectType);
    collect.AddMember("page_size", world.page_size, a);
    doc.AddMember("collect", collect, a);
  }
  return doc.MemberCount() == 0 ? "" : recorder::write_json(doc, recorder::Pretty::yes);
}

// expected.json's "actions", "together" and "report", when the spec gives them.
void add_run_expectations(const sim::World& world, double start, double end, rapidjson::Document& doc) {
  auto& a = doc.GetAllocator();
  rapidjson::Value actions(rapidjson::kObjectType);
  for (const auto& run : world.runs) {
    if (run.status != "FAILURE" || run.end < start || run.end > end || run.expect.action.empty()) continue;
    actions.AddMember(recorder::json_string(run.id, a), recorder::json_string(run.expect.action, a), a);
  }
  if (actions.MemberCount() > 0) doc.AddMember("actions", actions, a);
  if (!world.together.empty()) {
    rapidjson::Value together(rapidjson::kArrayType);
    for (const auto& group : world.together) {
      rapidjson::Value ids(rapidjson::kArrayType);
      for (const auto& id : group) ids.PushBack(recorder::json_string(id, a), a);
      together.PushBack(ids, a);
    }
    doc.AddMember("together", together, a);
  }
  if (!world.report_mentions.empty() || !world.report_omits.empty()) {
    rapidjson::Value report(rapidjson::kObjectType);
    for (auto [key, list] : {std::pair{"mentions", &world.report_mentions}, std::pair{"omits", &world.report_omits}}) {
      rapidjson::Value texts(rapidjson::kArrayType);
      for (const auto& text : *list) texts.PushBack(recorder::json_string(text, a), a);
      report.AddMember(rapidjson::StringRef(key), texts, a);
    }
    doc.AddMember("report", report, a);
  }
  if (!world.investigations.empty()) {
    rapidjson::Document claims;
    claims.Parse(world.investigations.c_str());  // written by parse_world from a parsed spec
    doc.AddMember("investigations", rapidjson::Value(claims, a), a);
  }
}

std::string expected_text(const sim::World& world) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  // {"absent": [ids], "present": [ids]}
  auto present_absent = [&](const std::vector<std::string>& present, const std::vector<std::string>& absent) {
    rapidjson::Value out(rapidjson::kObjectType);
    for (auto [key, list] : {std::pair{"absent", &absent}, std::pair{"present", &present}}) {
      rapidjson::Value ids(rapidjson::kArrayType);
      for (const auto& id : *list) ids.PushBack(recorder::json_string(id, a), a);
      out.AddMember(rapidjson::StringRef(key), ids, a);
    }
    return out;
  };
  doc.AddMember("findings", present_absent(world.findings_present, world.findings_absent), a);
  if (!world.causes_present.empty() || !world.causes_absent.empty()) {  // only when the spec names platform causes
    doc.AddMember("causes", present_absent(world.causes_present, world.causes_absent), a);
  }
  rapidjson::Value runs(rapidjson::kObjectType);
  double start = recorder::to_epoch_seconds(world.window.start), end = recorder::to_epoch_seconds(world.window.end);
  for (const auto& run : world.runs) {
    if (run.status != "FAILURE" || run.end < start || run.end > end) continue;
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("category", recorder::json_string(run.expected ? run.expect.category : "?", a), a);
    row.AddMember("job", recorder::json_string(run.job, a), a);
    row.AddMember("rule", recorder::json_string(run.expect.rule.empty() ? "-" : run.expect.rule, a), a);
    runs.AddMember(recorder::json_string(run.id, a), row, a);
  }
  doc.AddMember("runs", runs, a);
  add_run_expectations(world, start, end, doc);
  return recorder::write_json(doc, recorder::Pretty::yes);
}

// Exchanges in a canonical order (the recorder numbers them as responses arrive, which depends on
// thread timing): collect's first `collected` exchanges, then the investigations' (a recorded
// night's order, so manifest.investigations_from can say where they start), each part sorted.
void canonical_order(recorder::Bundle& bundle, std::size_t collected) {
  auto key = [](const recorder::Exchange& e) {
    return std::tie(e.service, e.method, e.path, e.query, e.request_body);
  };
  auto by_key = [&](const recorder::Exchange& x, const recorder::Exchange& y) { return key(x) < key(y); };
  auto middle = bundle.exchanges.begin() + static_cast<std::ptrdiff_t>(std::min(collected, bundle.exchanges.size()));
  std::sort(bundle.exchanges.begin(), middle, by_key);
  std::sort(middle, bundle.exchanges.end(), by_key);
  for (std::size_t i = 0; i < bundle.exchanges.size(); ++i) bundle.exchanges[i].seq = static_cast<int>(i + 1);
  if (middle != bundle.exchanges.end()) bundle.manifest.investigations_from = static_cast<int>(collected + 1);
}

recorder::Bundle run_collect(const std::shared_ptr<const sim::World>& world) {
  Config config = world_config(*world);
  auto recording = std::make_shared<recorder::RecordingTransport>(std::make_shared<WorldTransport>(world),
                                                                   recorder::Redactor());
  DagsterClient client(recording, config.dagster, "", std::chrono::milliseconds(30000));
  CollectRequest request;
  request.config = config;
  request.window = world->window;
  request.timezone = world->timezone;
  request.now = world->now;
  if (!config.gcp.project.empty()) {
    request.google = recording;
  }
  (void)collect(client, request);  // the artifact is not kept: the bundle is the product
  const std::size_t collected = recording->size();
  for (const auto& command : world->investigation_commands) {  // what their replay will ask
    if (auto fetched = fetch_investigation(client, command, config.page_size); !fetched) {
      throw std::logic_error("day2 simulate: " + fetched.error().message);  // the world answers every run it has
    }
  }
  recorder::Manifest manifest;
  manifest.now = world->now;
  manifest.window = world->window;
  manifest.timezone = world->timezone;
  manifest.source = recorder::BundleSource::generated;
  manifest.day2_version = DAY2_VERSION;
  auto bundle = recording->bundle(manifest);
  canonical_order(bundle, collected);
  return bundle;
}

}  // namespace

Result<Simulation> simulate_text(std::string_view text, const std::string& source) {
  auto world = sim::parse_world(text, source);
  if (!world) return world.error();
  auto shared = std::make_shared<const sim::World>(std::move(*world));
  auto level = recorder::log::level();
  recorder::log::set_level(recorder::log::Level::quiet);
  Simulation out{run_collect(shared), expected_text(*shared), config_text(*shared)};
  recorder::log::set_level(level);
  return out;
}

Result<Simulation> simulate_file(const std::string& path) {
  auto text = recorder::read_file(path);
  if (!text) return text.error();
  return simulate_text(*text, path);
}

int run_simulate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  namespace po = boost::program_options;
  po::options_description options("Options");
  options.add_options()
      ("help,h", "show this help")
      ("out", po::value<std::string>(), "write the bundle to DIR")
      ("scenario", po::value<std::string>(), "write a scenario: DIR/bundle, DIR/expected.json (and DIR/config.json)")
      ("overwrite", "replace an existing bundle and scenario files")
      ("spec", po::value<std::string>(), "the scenario spec (positional)");
  po::positional_options_description positional;
  positional.add("spec", 1);
  po::variables_map vm = parse_args(args, options, positional);
  if (vm.count("help")) {
    out << "usage: day2 simulate SPEC (--out DIR | --scenario DIR) [--overwrite]\n\n"
           "Renders a scenario spec (an incident world, docs/scenarios.md \"Scenario specs\") into a\n"
           "scenario bundle with the shape of a recorded one. Deterministic; no network, no clock.\n\n"
        << options << "\nExample:\n  day2 simulate scenarios/preemption-storm-0400/spec.json --scenario scenarios/preemption-storm-0400\n\n"
        << "Exit codes: 0 written, 1 could not be written, 2 bad usage or spec, 3 internal error.\n";
    return 0;
  }
  if (!vm.count("spec")) throw recorder::UsageError{"SPEC is required (a scenario spec file)"};
  if (vm.count("out") == vm.count("scenario")) throw recorder::UsageError{"give exactly one of --out DIR and --scenario DIR"};
  auto simulation = simulate_file(vm["spec"].as<std::string>());
  if (!simulation) throw recorder::UsageError{simulation.error().message};
  auto overwrite = vm.count("overwrite") ? recorder::Overwrite::yes : recorder::Overwrite::no;
  std::filesystem::path dir = vm.count("out") ? vm["out"].as<std::string>() : vm["scenario"].as<std::string>();
  std::filesystem::path bundle_dir = vm.count("out") ? dir : dir / "bundle";
  auto fail = [&](const std::string& message) {
    err << "day2 simulate: error: " << message << '\n';
    return 1;
  };
  if (auto written = recorder::write_bundle(bundle_dir, simulation->bundle, overwrite); !written) {
    return fail(written.error().message);
  }
  out << bundle_dir.string() << '\n';
  if (vm.count("out")) return 0;
  if (auto written = recorder::write_file_atomic((dir / "expected.json").string(), simulation->expected); !written) {
    return fail(written.error().message);
  }
  if (!simulation->config.empty()) {
    if (auto written = recorder::write_file_atomic((dir / "config.json").string(), simulation->config); !written) {
      return fail(written.error().message);
    }
  }
  return 0;
}

}  // namespace analyzer
