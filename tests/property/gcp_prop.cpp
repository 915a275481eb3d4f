// Properties of the GKE pod-name rule behind step 10's run attribution: every run-pod name yields
// its run id, and names that are not run pods never yield one.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>

#include "analyzer/clients/gcp_client.hpp"
#include "support/rc_check.hpp"

namespace {

const std::string k_hex = "0123456789abcdef";
const std::string k_name_chars = "abcdefghijklmnopqrstuvwxyz0123456789-";

rc::Gen<std::string> hex_string(int length) {
  auto generator = rc::gen::container<std::vector<std::size_t>>(static_cast<std::size_t>(length),
                                                             rc::gen::inRange<std::size_t>(0, 16));
  return rc::gen::map(std::move(generator),
                      [](const std::vector<std::size_t>& indexes) {
                        std::string out;
                        for (auto d : indexes) out += k_hex[d];
                        return out;
                      });
}

rc::Gen<std::string> uuid() {
  return rc::gen::apply(
      [](const std::string& a, const std::string& b, const std::string& c, const std::string& d, const std::string& e) {
        return a + "-" + b + "-" + c + "-" + d + "-" + e;
      },
      hex_string(8), hex_string(4), hex_string(4), hex_string(4), hex_string(12));
}

// Kubernetes-name characters, at least one.
rc::Gen<std::string> name_part() {
  return rc::gen::map(rc::gen::nonEmpty(rc::gen::container<std::vector<std::size_t>>(
                          rc::gen::inRange<std::size_t>(0, k_name_chars.size()))),
                      [](const std::vector<std::size_t>& chars) {
                        std::string out;
                        for (auto c : chars) out += k_name_chars[c];
                        return out;
                      });
}

TEST(GcpProperties, RunPodNamesYieldTheirRunId) {
  day2test::check("run pods", [] {
    auto id = *uuid();
    auto suffix = *name_part();
    RC_ASSERT(analyzer::run_id_from_pod_name("dagster-run-" + id + "-" + suffix) == id);
  });
}

TEST(GcpProperties, CodeServersAgentsAndStepPodsYieldNoRunId) {
  day2test::check("other pods", [] {
    auto prefix = *rc::gen::element<std::string>("", "analytics-prod-", "user-cloud-dagster-cloud-agent-agent-",
                                                 "dagster-step-", "dagster-", "onepassword-connect-");
    auto name = prefix + *name_part();
    RC_PRE(name.rfind("dagster-run-", 0) != 0);
    RC_ASSERT(!analyzer::run_id_from_pod_name(name).has_value());
  });
}

TEST(GcpProperties, ARunPrefixWithoutAUuidYieldsNoRunId) {
  day2test::check("broken run pods", [] {
    auto id = *uuid();
    auto cut = *rc::gen::inRange<std::size_t>(0, id.size());
    auto name = "dagster-run-" + id.substr(0, cut) + *rc::gen::element<std::string>("", "-", "x-abcde", "g-abcde");
    // A shortened uuid followed by more text can only match when it is still a whole uuid.
    auto parsed = analyzer::run_id_from_pod_name(name);
    RC_ASSERT(!parsed.has_value());
  });
}

}  // namespace
