#include "analyzer/classify/rules.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

namespace analyzer {
namespace {

// Pieces of rules files: enough structure that generated text often gets past the JSON parser and
// into the rule checks (unknown names, bad patterns, wrong types, duplicates).
const std::vector<std::string> k_rule_tokens = {
    "{", "}", "[", "]", ",", ":", "\"version\"", "1", "2", "\"rules\"", "\"id\"", "\"a\"", "\"b\"",
    "\"category\"", "\"Code error\"", "\"Code eror\"", "\"Infra timeout\"", "\"description\"", "\"when\"",
    "\"unless\"", "\"errorClass\"", "\"anyMessage\"", "\"jobName\"", "\"runFailureMesage\"", "\"(\"",
    "\"x|y\"", "\"(?i)refused\"", "\"\\\\d+\"", "\"\"", "null", "true", "-0.5e3", "// note\n", "/* c */",
    "\n", " ", "\"\\u00e9\"", "\"\xff\"", "\"\\ud800\"",
};

rc::Gen<std::string> token_soup() {
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(k_rule_tokens)),
                      [](const std::vector<std::string>& tokens) {
                        std::string text;
                        for (const auto& token : tokens) text += token;
                        return text;
                      });
}

// Well-formed JSON shaped like a rules file, with good and bad choices at every position: reaches
// the checks behind the JSON parser (version, keys, ids, categories, fields, patterns).
rc::Gen<std::string> pick(std::vector<std::string> choices) { return rc::gen::elementOf(std::move(choices)); }

rc::Gen<std::string> conditions_text() {
  return pick({"{}", "{\"errorClass\": \"x\"}", "{\"errorClas\": \"x\"}", "{\"anyMessage\": \"(?i)a|b\"}",
               "{\"jobName\": 3}", "{\"errorClass\": \"(\"}", "{\"tags\": \"\"}", "[]", "\"x\"",
               "{\"jobName\": \"a\", \"jobName\": \"b\"}", "{\"location\": \"\\\\pL+\"}"});
}

// True with probability 1/n whatever the size (gen::inRange shrinks its range at small sizes).
bool one_in(std::size_t n) { return *rc::gen::weightedElement<bool>({{1, true}, {n - 1, false}}); }

rc::Gen<std::string> rule_text() {
  return rc::gen::exec([] {
    std::vector<std::pair<std::string, std::string>> members;
    if (!one_in(10)) members.emplace_back("id", *pick({"\"a\"", "\"b\"", "\"c-1\"", "\"d\"", "\"a b\"", "\"\"", "1"}));
    if (!one_in(10)) members.emplace_back("category", *pick({"\"Code error\"", "\"Infra timeout\"", "\"Cod error\"", "2"}));
    if (!one_in(10)) members.emplace_back("when", *conditions_text());
    if (one_in(2)) members.emplace_back("unless", *conditions_text());
    if (one_in(2)) members.emplace_back("description", *pick({"\"text\"", "null"}));
    if (one_in(10)) members.emplace_back(*pick({"whne", "Id", "when"}), "{}");
    std::string text = "{";
    for (const auto& [key, value] : members) text += "\n  \"" + key + "\": " + value + ",";
    return text + "}";
  });
}

rc::Gen<std::string> rules_shaped_text() {
  return rc::gen::exec([] {
    std::string text = "{\n";
    if (!one_in(10)) text += "\"version\": " + (one_in(5) ? *pick({"2", "\"1\"", "1.5"}) : "1") + ",\n";
    if (!one_in(10)) {
      text += "\"rules\": [";
      for (const auto& rule : *rc::gen::container<std::vector<std::string>>(rule_text())) text += "\n" + rule + ",";
      text += "],\n";
    }
    if (one_in(10)) text += "\"rule\": [],\n";
    return text + "}";
  });
}

// The default rules with a few bytes overwritten and possibly cut short.
rc::Gen<std::string> mutated_default_rules() {
  return rc::gen::exec([] {
    std::string text(default_rules_text());
    auto edits = *rc::gen::inRange(1, 6);
    for (int i = 0; i < edits; ++i) {
      auto at = *rc::gen::inRange<std::size_t>(0, text.size());
      text[at] = *rc::gen::elementOf(std::string("{}[]\",:\\/(|*?x1 \n\0", 18));
    }
    if (*rc::gen::arbitrary<bool>()) text.resize(*rc::gen::inRange<std::size_t>(0, text.size()));
    return text;
  });
}

void check_parse_result(const std::string& text) {
  auto rules = parse_rules(text, "gen.json");
  if (rules.ok()) {
    for (const auto& rule : rules->rules) {
      RC_ASSERT(!rule.id.empty());
      RC_ASSERT(!rule.when.empty());
      for (const auto& condition : rule.when) RC_ASSERT(static_cast<bool>(condition.compiled));
      // Whatever was accepted can classify without crashing.
      (void)classify(*rules, FailureRecord{});
    }
  } else {
    RC_ASSERT(rules.error().message.rfind("gen.json:", 0) == 0U);
    RC_ASSERT(rules.error().message.find('\n') == std::string::npos);
  }
}

RC_GTEST_PROP(RulesProp, ArbitraryTextNeverCrashesParseRules, (const std::string& text)) {
  check_parse_result(text);
}

RC_GTEST_PROP(RulesProp, TokenSoupNeverCrashesParseRules, ()) { check_parse_result(*token_soup()); }

RC_GTEST_PROP(RulesProp, RulesShapedTextNeverCrashesParseRules, ()) { check_parse_result(*rules_shaped_text()); }

RC_GTEST_PROP(RulesProp, MutatedDefaultRulesNeverCrashParseRules, ()) {
  check_parse_result(*mutated_default_rules());
}

// Real message fragments from dagster-messages.md, so generated records hit many rules.
const std::vector<std::string> k_fragments = {
    "Exceeded maximum runtime of 3600 seconds.",
    "Attempted to run s again even though it was already started. Exiting to prevent re-running the step.",
    "Run timed out due to taking longer than 480 seconds to start.",
    "Could not reach user code server. gRPC Error code: DEADLINE_EXCEEDED",
    "Could not reach user code server. gRPC Error code: UNAVAILABLE",
    "Execution was interrupted unexpectedly. No user initiated termination request was found, treating as failure.",
    "Run execution terminated by interrupt",
    "Executor received termination signal, forwarding to steps",
    "Pod \"dagster-run-1\" was unexpectedly killed",
    "Detected run worker status FAILED: 'K8s job failed'. Marking run 1 as failed.",
    "Run has not completed but K8s job has no active pods",
    "Step s failed health check: Discovered failed Kubernetes job j for step s.",
    "Encountered failed job pods for job j with status: x, in namespace n",
    "Failed: Reason=\"ImagePullBackOff\" Message=\"\"",
    "OOMKilled",
    "Evicted",
    "Unexpected error encountered in Kubernetes API Client.",
    "Timed out while waiting for job j to complete",
    "[Errno 111] Connection refused",
    "Unable to connect to port 22 on 10.0.0.5",
    "Error occurred while executing op \"s\":",
    "",
};
const std::vector<std::string> k_classes = {
    "DagsterExecutionInterruptedError", "DagsterK8sUnrecoverableAPIError", "DagsterUserCodeUnreachableError",
    "ConnectionRefusedError", "SSHException", "DagsterExecutionStepExecutionError", "ValueError", "",
};
const std::vector<std::string> k_sources = {"USER_CODE_ERROR", "FRAMEWORK_ERROR", "INTERRUPT", "UNEXPECTED_ERROR", ""};
const std::vector<std::string> k_reasons = {"STEP_FAILURE", "START_TIMEOUT", "RUN_WORKER_RESTART",
                                            "UNEXPECTED_TERMINATION", "RUN_EXCEPTION", "UNKNOWN"};

rc::Gen<std::string> message() {
  return rc::gen::oneOf(rc::gen::elementOf(k_fragments), rc::gen::arbitrary<std::string>(),
                        rc::gen::map(rc::gen::pair(rc::gen::elementOf(k_fragments), rc::gen::arbitrary<std::string>()),
                                     [](const auto& parts) { return parts.second + parts.first; }));
}

rc::Gen<FailureRecord> failure_record() {
  return rc::gen::exec([] {
    FailureRecord record;
    record.run_id = "r";
    record.job_name = *rc::gen::arbitrary<std::string>();
    record.run_failure_message = *message();
    record.run_failure_error_class = *rc::gen::elementOf(k_classes);
    record.run_failure_error_message = *message();
    if (*rc::gen::arbitrary<bool>()) record.tags["dagster/failure_reason"] = *rc::gen::elementOf(k_reasons);
    auto steps = *rc::gen::inRange(0, 3);
    for (int i = 0; i < steps; ++i) {
      StepError error;
      error.message = *message();
      error.error_class = *rc::gen::elementOf(k_classes);
      error.error_message = *message();
      error.error_source = *rc::gen::elementOf(k_sources);
      if (*rc::gen::arbitrary<bool>()) error.cause_chain.push_back({*rc::gen::elementOf(k_classes), *message(), true});
      record.step_errors.push_back(std::move(error));
    }
    record.engine_events = *rc::gen::container<std::vector<std::string>>(message());
    return record;
  });
}

RC_GTEST_PROP(RulesProp, EveryRecordGetsExactlyOneCategory, ()) {
  auto record = *failure_record();
  auto result = classify(default_rules(), record);
  RC_ASSERT(parse_category(to_string(result.category)) == result.category);
  if (result.rule_id.empty()) {
    RC_ASSERT(result.category == Category::unclassified);
  } else {
    int found = 0;
    for (const auto& rule : default_rules().rules) {
      if (rule.id == result.rule_id) {
        ++found;
        RC_ASSERT(rule.category == result.category);
      }
    }
    RC_ASSERT(found == 1);
  }
}

RC_GTEST_PROP(RulesProp, ClassifyIsDeterministic, ()) {
  auto record = *failure_record();
  RuleSet copy = default_rules();
  auto first = classify(default_rules(), record);
  auto second = classify(copy, record);
  RC_ASSERT(first.category == second.category);
  RC_ASSERT(first.rule_id == second.rule_id);
}

}  // namespace
}  // namespace analyzer
