#include "analyzer/config/config.hpp"

#include <gtest/gtest.h>

#include <string>

#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

using day2_test::TempDir;

std::string config_error(std::string_view text) {
  auto config = parse_config(text, "day2.json");
  EXPECT_FALSE(config) << text;
  return config ? "" : config.error().message;
}

TEST(Config, Defaults) {
  Config config;
  EXPECT_EQ(config.dagster.url, "http://127.0.0.1:3000/graphql");
  EXPECT_EQ(config.dagster.flavor, Flavor::oss);
  EXPECT_EQ(config.dagster.organization, "");
  EXPECT_EQ(config.dagster.deployment, "prod");
  EXPECT_EQ(config.dagster.token_env, "DAGSTER_CLOUD_API_TOKEN");
  EXPECT_EQ(config.gcp.agent_pod_prefix, "user-cloud-dagster-cloud-agent");
  EXPECT_EQ(config.timezone, "America/New_York");
  EXPECT_EQ(config.agent_replicas, 1);
  EXPECT_EQ(config.agent_max_surge_percent, 200);
  EXPECT_EQ(config.thresholds.stuck_queue_minutes, 60);
  EXPECT_EQ(config.thresholds.start_timeout_seconds, 180);
  EXPECT_EQ(config.thresholds.cancel_timeout_seconds, 180);
  EXPECT_EQ(config.thresholds.tick_unavailable_burst, 5);
  EXPECT_EQ(config.thresholds.fan_out_minutes, 10);
  EXPECT_EQ(config.thresholds.fan_out_min_runs, 2);
  EXPECT_TRUE(config.self_resolving_alerts.empty());
  EXPECT_EQ(config.concurrency, 16);
  EXPECT_EQ(config.timeout_seconds, 30);
  EXPECT_EQ(config.retries, 3);
  EXPECT_EQ(config.step_seconds, 900);
  EXPECT_EQ(config.gcp.error_reporting_reads_per_minute, 60);
  EXPECT_EQ(config.page_size, 200);
  EXPECT_EQ(config.source, "defaults");
}

TEST(Config, EmptyObjectGivesDefaults) {
  auto config = parse_config("{}", "day2.json");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->dagster.url, "http://127.0.0.1:3000/graphql");
  EXPECT_EQ(config->concurrency, 16);
  EXPECT_EQ(config->source, "day2.json");
}

TEST(Config, FullConfigWithCommentsParses) {
  auto config = parse_config(R"(// day2 settings for the nightly check
{
  "dagster": {
    "url": "https://acme.dagster.cloud/prod/graphql",  // Dagster+
    "flavor": "plus",
    "organization": "acme",
    "deployment": "staging",
    "token_env": "ACME_TOKEN",
  },
  /* Google Cloud */
  "gcp": {"project": "p", "cluster": "c", "location": "us-east1", "agent_pod_prefix": "agent", "namespace": "orchestration",
          "agent_deployment": "agent-deploy", "api_root": "http://127.0.0.1:8080", "logging_reads_per_minute": 120,
          "error_reporting_reads_per_minute": 30},
  "report": {"timezone": "Europe/Paris"},
  "agents": {"replicas": 2, "max_surge_percent": 50},
  "thresholds": {
    "stuck_queue_minutes": 30.5,
    "start_timeout_seconds": 600,
    "cancel_timeout_seconds": 120,
    "tick_unavailable_burst": 7,
  },
  "collect": {"concurrency": 8, "timeout_seconds": 12.5, "retries": 0, "page_size": 1000, "step_seconds": 120},
}
)",
                             "acme.json");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->dagster.url, "https://acme.dagster.cloud/prod/graphql");
  EXPECT_EQ(config->dagster.flavor, Flavor::plus);
  EXPECT_EQ(config->dagster.organization, "acme");
  EXPECT_EQ(config->dagster.deployment, "staging");
  EXPECT_EQ(config->dagster.token_env, "ACME_TOKEN");
  EXPECT_EQ(config->gcp.project, "p");
  EXPECT_EQ(config->gcp.cluster, "c");
  EXPECT_EQ(config->gcp.location, "us-east1");
  EXPECT_EQ(config->gcp.agent_pod_prefix, "agent");
  EXPECT_EQ(config->gcp.namespace_name, "orchestration");
  EXPECT_EQ(config->gcp.agent_deployment, "agent-deploy");
  EXPECT_EQ(config->gcp.api_root, "http://127.0.0.1:8080");
  EXPECT_EQ(config->gcp.logging_reads_per_minute, 120);
  EXPECT_EQ(config->timezone, "Europe/Paris");
  EXPECT_EQ(config->agent_replicas, 2);
  EXPECT_EQ(config->agent_max_surge_percent, 50);
  EXPECT_EQ(config->thresholds.stuck_queue_minutes, 30.5);
  EXPECT_EQ(config->thresholds.start_timeout_seconds, 600);
  EXPECT_EQ(config->thresholds.cancel_timeout_seconds, 120);
  EXPECT_EQ(config->thresholds.tick_unavailable_burst, 7);
  EXPECT_EQ(config->concurrency, 8);
  EXPECT_EQ(config->timeout_seconds, 12.5);
  EXPECT_EQ(config->retries, 0);
  EXPECT_EQ(config->step_seconds, 120);
  EXPECT_EQ(config->gcp.error_reporting_reads_per_minute, 30);
  EXPECT_EQ(config->page_size, 1000);
  EXPECT_EQ(config->source, "acme.json");
}

TEST(Config, SelfResolvingAlertsParse) {
  auto config = parse_config(R"({"report": {"self_resolving_alerts": [
      {"name": "dagster-step.*CPU", "resourcePattern": "^dagster-step-", "reason": "self-resolves in ~60 s"},
      {"name": "^Disk$", "reason": "known"}]},
    "thresholds": {"fan_out_minutes": 5, "fan_out_min_runs": 3}})", "day2.json");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->self_resolving_alerts.size(), 2u);
  EXPECT_EQ(config->self_resolving_alerts[0].name, "dagster-step.*CPU");
  EXPECT_EQ(config->self_resolving_alerts[0].resource_pattern, "^dagster-step-");
  EXPECT_EQ(config->self_resolving_alerts[0].reason, "self-resolves in ~60 s");
  EXPECT_EQ(config->self_resolving_alerts[1].resource_pattern, "");
  EXPECT_EQ(config->thresholds.fan_out_minutes, 5);
  EXPECT_EQ(config->thresholds.fan_out_min_runs, 3);
}

TEST(Config, SelfResolvingAlertWithABadPatternNamesItAndItsLine) {
  EXPECT_EQ(config_error("{\"report\": {\n\"self_resolving_alerts\": [{\"name\": \"(cpu\", \"reason\": \"r\"}]}}"),
            "day2.json:2: \"report/self_resolving_alerts\" [0] \"name\" is not a valid RE2 pattern: missing ): (cpu");
}

TEST(Config, ExampleConfigParsesWithTheSeedsSelfResolvingAlert) {
  auto config = load_config(DAY2_SOURCE_DIR "/docs/day2.example.json");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->self_resolving_alerts.size(), 1u);
  EXPECT_EQ(config->self_resolving_alerts[0].name, "dagster-step.*CPU");
}

TEST(Config, SelfResolvingAlertNeedsAReason) {
  EXPECT_EQ(config_error(R"({"report": {"self_resolving_alerts": [{"name": "cpu"}]}})"),
            "day2.json:1: \"report/self_resolving_alerts\" [0] needs a \"reason\" (a non-empty string)");
}

TEST(Config, SelfResolvingAlertsMustBeAList) {
  EXPECT_EQ(config_error(R"({"report": {"self_resolving_alerts": {"name": "cpu"}}})"),
            "day2.json:1: \"report/self_resolving_alerts\" must be a list of {\"name\", \"resourcePattern\", \"reason\"}");
}

TEST(Config, SelfResolvingAlertWithAnUnknownKeyIsRejected) {
  EXPECT_EQ(config_error(R"({"report": {"self_resolving_alerts": [{"name": "cpu", "reason": "r", "resource": "x"}]}})"),
            "day2.json:1: \"report/self_resolving_alerts\" [0]: unknown key \"resource\"; expected one of: name, "
            "resourcePattern, reason; did you mean \"resourcePattern\"?");
}

TEST(Config, NamespacesOfTheAgentAndTheInfrastructure) {
  auto config = parse_config(R"({"gcp": {"namespace": "runs", "agent_namespace": "dagster-agent",
      "infra_namespaces": ["onepassword", "code-servers", "runs"]}})", "day2.json");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->gcp.agent_ns(), "dagster-agent");
  EXPECT_EQ(config->gcp.pod_namespaces(),
            (std::vector<std::string>{"code-servers", "dagster-agent", "onepassword", "runs"}));
  Config defaults;
  EXPECT_EQ(defaults.gcp.agent_ns(), "dagster");
  EXPECT_EQ(defaults.gcp.pod_namespaces(), std::vector<std::string>{"dagster"});
  EXPECT_EQ(config_error("{\"gcp\": {\n  \"infra_namespaces\": [\"a\", \"\"]\n}}"),
            "day2.json:2: \"gcp/infra_namespaces\" [1] must be a non-empty string");
  EXPECT_EQ(config_error("{\"gcp\": {\n  \"infra_namespaces\": \"a\"\n}}"),
            "day2.json:2: \"gcp/infra_namespaces\" must be a list of namespace names");
}

TEST(Config, UnknownKeyNamesItAndItsLine) {
  EXPECT_EQ(config_error("{\n  \"dagster\": {\n    \"url\": \"http://x/\",\n    \"urll\": \"http://y/\"\n  }\n}"),
            "day2.json:4: unknown setting \"dagster/urll\"; expected one of: dagster/deployment, dagster/flavor, "
            "dagster/organization, dagster/token_env, dagster/url; did you mean \"dagster/url\"?");
}

TEST(Config, UnknownSectionNamesItAndItsLine) {
  EXPECT_EQ(config_error("{\n  // comment\n  \"dagstr\": {}\n}"), "day2.json:3: unknown setting \"dagstr\"; expected one of: agents, collect, dagster, gcp, links, metrics, "
            "report, thresholds; did you mean \"dagster\"?");
}

TEST(Config, UnknownKeyAfterCommentsAndBlankLines) {
  EXPECT_EQ(config_error("/* a\n b */\n{\n\n  \"collect\": {\n    // c\n    \"retires\": 2,\n  },\n}"),
            "day2.json:7: unknown setting \"collect/retires\"; expected one of: collect/captured_log_lines, "
            "collect/concurrency, collect/page_size, collect/retries, collect/step_seconds, collect/timeout_seconds; "
            "did you mean \"collect/retries\"?");
}

TEST(Config, AnUnknownKeyFarFromEveryKnownOneGetsNoHint) {
  EXPECT_EQ(config_error("{\"collect\": {\"parallelism_factor\": 2}}"),
            "day2.json:1: unknown setting \"collect/parallelism_factor\"; expected one of: collect/captured_log_lines, "
            "collect/concurrency, collect/page_size, collect/retries, collect/step_seconds, collect/timeout_seconds");
}

TEST(Config, KeyContainingSlashIsUnknown) {
  // "dagster/url" at the top level is not the "url" key of the "dagster" section.
  EXPECT_EQ(config_error("{\n  \"dagster/url\": \"http://x/\"\n}"), "day2.json:2: unknown setting \"dagster~1url\"");
}

TEST(Config, StringOfWrongTypeNamesKeyAndLine) {
  EXPECT_EQ(config_error("{\"dagster\": {\n  \"url\": 3000\n}}"), "day2.json:2: \"dagster/url\" must be a string");
}

TEST(Config, NumberOfWrongTypeNamesKeyAndLine) {
  EXPECT_EQ(config_error("{\n\"collect\": {\n  \"concurrency\": \"8\"\n}}"),
            "day2.json:3: \"collect/concurrency\" must be a number");
}

TEST(Config, FractionForAnIntegerSettingIsRejected) {
  EXPECT_EQ(config_error("{\n\"collect\": {\n  \"concurrency\": 2.5\n}}"),
            "day2.json:3: \"collect/concurrency\" must be an integer, got 2.5");
}

TEST(Config, WholeNumberWrittenAsFractionIsAccepted) {
  auto config = parse_config(R"({"collect": {"retries": 2.0}})", "day2.json");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->retries, 2);
}

TEST(Config, OutOfRangeBelowNamesKeyLineAndRange) {
  EXPECT_EQ(config_error("{\"collect\": {\n\n  \"concurrency\": 0}}"),
            "day2.json:3: \"collect/concurrency\" 0 is out of range (1 to 64)");
}

TEST(Config, OutOfRangeAboveNamesKeyLineAndRange) {
  EXPECT_EQ(config_error("{\"collect\": {\"page_size\": 5000}}"),
            "day2.json:1: \"collect/page_size\" 5000 is out of range (1 to 1000)");
}

TEST(Config, NegativeRetriesAreOutOfRange) {
  EXPECT_EQ(config_error("{\"collect\": {\"retries\": -1}}"),
            "day2.json:1: \"collect/retries\" -1 is out of range (0 to 20)");
}

TEST(Config, TimeoutOutOfRange) {
  EXPECT_EQ(config_error("{\"collect\": {\"timeout_seconds\": 0}}"),
            "day2.json:1: \"collect/timeout_seconds\" 0 is out of range (0.1 to 3600)");
}

TEST(Config, HugeNumberForAnIntegerSettingIsOutOfRange) {
  EXPECT_EQ(config_error("{\"agents\": {\"replicas\": 1e300}}"),
            "day2.json:1: \"agents/replicas\" 1e+300 is out of range (0 to 1000)");
}

TEST(Config, UnknownFlavorNamesKeyAndLine) {
  EXPECT_EQ(config_error("{\"dagster\": {\n\"flavor\": \"cloud\"}}"),
            "day2.json:2: \"dagster/flavor\" must be \"oss\" or \"plus\"");
}

TEST(Config, FlavorOfWrongTypeNamesKeyAndLine) {
  EXPECT_EQ(config_error("{\"dagster\": {\n\"flavor\": 1}}"),
            "day2.json:2: \"dagster/flavor\" must be \"oss\" or \"plus\"");
}

TEST(Config, SectionMustBeAnObject) {
  EXPECT_EQ(config_error("{\n\"thresholds\": [1]\n}"), "day2.json:2: \"thresholds\" must be an object");
}

TEST(Config, ObjectForAStringSettingIsRejected) {
  EXPECT_EQ(config_error("{\"dagster\": {\"url\": {\"x\": 1}}}"), "day2.json:1: \"dagster/url\" must be a string");
}

TEST(Config, RootMustBeAnObject) {
  EXPECT_EQ(config_error("[]"), "day2.json:1: the configuration must be a JSON object");
}

TEST(Config, SyntaxErrorNamesLineAndColumn) {
  EXPECT_EQ(config_error("{\n  \"dagster\": {\"url\" \"x\"}\n}"),
            "day2.json:2:21: Missing a colon after a name of object member.");
}

TEST(Config, FlavorPlusWithoutOrganizationIsLeftToTheCommand) {
  // --organization on the command line may supply it; the command checks after flags apply.
  auto config = parse_config(R"({"dagster": {"flavor": "plus"}})", "day2.json");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->dagster.flavor, Flavor::plus);
  EXPECT_EQ(config->dagster.organization, "");
}

TEST(Config, FlavorOssNeedsNoOrganization) {
  auto config = parse_config(R"({"dagster": {"flavor": "oss"}})", "day2.json");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->dagster.flavor, Flavor::oss);
}

TEST(Config, FlavorNames) {
  EXPECT_EQ(to_string(Flavor::oss), "oss");
  EXPECT_EQ(to_string(Flavor::plus), "plus");
}

TEST(Config, LoadConfigReadsAFile) {
  TempDir dir("day2-config");
  auto path = dir.write("day2.json", "{\n  // local\n  \"collect\": {\"retries\": 5},\n}\n");
  auto config = load_config(path);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->retries, 5);
  EXPECT_EQ(config->source, path);
}

TEST(Config, LoadConfigNamesTheFileInErrors) {
  TempDir dir("day2-config");
  auto path = dir.write("day2.json", "{\n  \"collect\": {\n    \"retries\": true\n  }\n}\n");
  auto config = load_config(path);
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message, path + ":3: \"collect/retries\" must be a number");
}

TEST(Config, LoadConfigOfAMissingFileNamesIt) {
  TempDir dir("day2-config");
  auto path = dir.file("missing.json");
  auto config = load_config(path);
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message, path + ": cannot open: No such file or directory");
}

}  // namespace
}  // namespace analyzer
