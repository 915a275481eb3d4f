// The report as Markdown (the seed's "Report format") and as JSON (the same content, sorted keys).
#include <fmt/format.h>

#include <fmt/ranges.h>

#include <algorithm>

#include "recorder/base/json.hpp"
#include "report_model.hpp"

namespace analyzer::report {

namespace {

// `text` as a Markdown link to `url`, or `text` alone without one.
std::string md_link(std::string_view text, std::string_view url) {
  return url.empty() ? std::string(text) : fmt::format("[{}]({})", text, url);
}

// A table cell: a pipe would end the cell.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') { out += '\\'; }
    out += c;
  }
  return out;
}

// "Next: `cmd` · `cmd`" and "Runbook: diagnose — …; recover — …; validate — …", each on its own line
// (as list items under `bullet`, or paragraphs when it is empty).
std::string next_lines(const std::optional<RunbookEntry>& runbook, const std::vector<std::string>& next, std::string_view bullet) {
  std::string out;
  std::string end = bullet.empty() ? "\n\n" : "\n";
  if (!next.empty()) {
    std::vector<std::string> quoted;
    for (const auto& command : next) { quoted.push_back(fmt::format("`{}`", command)); }
    out += fmt::format("{}**Next:** {}{}", bullet, fmt::join(quoted, " · "), end);
  }
  if (runbook) {
    out += fmt::format("{}Runbook: diagnose — {}; recover — {}; validate — {}.{}", bullet, runbook->diagnosis, runbook->recovery,
                       runbook->validation, end);
  }
  return out;
}

// "  - Evidence ([pod event](url)): <summary>": plain words; the artifact pointer stays in the JSON form.
std::string evidence_line(const Evidence& e) {
  return fmt::format("  - Evidence ({}): {}\n", md_link(evidence_kind_name(e.kind), e.url), e.summary);
}

// The title, the verdict and the counts, then what is missing: what an on-call engineer reads first.
void header(const Report& r, std::string& md) {
  md += fmt::format("## Day-2 Operations Report — {} → {}\n\n", r.window_start, r.window_end);
  md += fmt::format("**{}**\n\n{}\n\n", r.headline, r.counts);
  if (!r.missing.empty()) {
    md += fmt::format("> **Missing signals:** {}; their signals are missing from this report. "
                      "Re-run `day2 collect` before drawing conclusions that depend on them.\n",
                      missing_summary(r.missing));
    for (const auto& step : r.missing) { md += fmt::format("> - `{}`: {}\n", step.step, step.message); }
    md += "\n";
  }
}

// The details' preamble: what was not collected, the window in UTC, the run volume.
void preamble(const Report& r, std::string& md) {
  if (!r.not_collected.empty()) {
    // Steps skipped for the same reason share one entry, in the order of their first step.
    std::vector<std::pair<std::string, std::string>> by_reason;  // reason, steps
    for (const auto& note : r.not_collected) {
      auto it = std::find_if(by_reason.begin(), by_reason.end(), [&](const auto& e) { return e.first == note.message; });
      if (it == by_reason.end()) {
        by_reason.emplace_back(note.message, fmt::format("`{}`", note.step));
      } else {
        it->second += fmt::format(", `{}`", note.step);
      }
    }
    md += "Not collected (skipped):";
    for (std::size_t i = 0; i < by_reason.size(); ++i) {
      md += fmt::format("{} {} ({})", i == 0 ? "" : ";", by_reason[i].second, by_reason[i].first);
    }
    md += ".\n\n";
  }
  md += fmt::format("**Run volume:** {} succeeded, {} failed, {} canceled\n\n", r.succeeded, r.failed, r.canceled);
  md += fmt::format("Window: {} → {} (UTC); every time below is in {} ({}).\n\n", r.utc_start, r.utc_end, r.zone_label, r.zone);
}

void timeline(const Report& r, std::string& md) {
  md += fmt::format("### Timeline ({})\n\n", r.zone_label);
  if (r.timeline.empty()) {
    md += "No timestamped findings in the window.\n\n";
    return;
  }
  md += "| Time | Signal | Source |\n| ---- | ------ | ------ |\n";
  for (const auto& row : r.timeline) {
    md += fmt::format("| {} | {} | {} |\n", md_link(row.time, row.url), cell(row.signal), cell(row.source));
  }
  md += "\n";
}

// A platform cause's heading, signals and linked effects (its runs follow as a category cause's do).
void platform_cause(std::size_t number, const Cause& cause, std::string& md) {
  const PlatformIncident& p = *cause.platform;
  md += fmt::format("**{}. {}**{} — platform incident, rule `{}`{}.\n\n", number, p.title, p.scope.empty() ? "" : fmt::format(" in `{}`", p.scope),
                    p.id, p.span.empty() ? "" : ", " + p.span);
  md += cause.narrative + "\n\n";
  md += next_lines(cause.runbook, cause.next, "");
  md += "- Signals:\n";
  for (const auto& e : p.signals) { md += evidence_line(e); }
  for (const auto& effect : p.effects) {
    if (effect.kind == "runFailure" && p.claims_runs) { continue; }  // listed below with the run
    md += fmt::format("- Linked {}: {} ({})\n", effect.kind == "tickFailure" ? "tick failures" : effect.kind == "queuedRun" ? "queued run" : "run (correlated)",
                      effect.summary, effect.why);
    for (const auto& e : effect.evidence) { md += evidence_line(e); }
  }
}

std::string run_link_why(const Cause& cause, const RunEvidence& run) {
  if (!cause.platform) { return ""; }
  for (const auto& effect : cause.platform->effects) {
    if (effect.kind == "runFailure" && !effect.evidence.empty() && effect.evidence.front().summary.rfind("run " + run.run_id, 0) == 0) {
      return effect.why;
    }
  }
  return "";
}

// A failed-run category's heading, narrative, guidance and next steps.
void category_cause(std::size_t number, const Cause& cause, std::string& md) {
  md += cause.rule_id == "-"
            ? fmt::format("**{}. {}** — {} failed run(s); no rule matched.\n\n", number, cause.category, cause.runs.size())
            : fmt::format("**{}. {}** — {} failed run(s) classified by rule `{}`.\n\n", number, cause.category,
                          cause.runs.size(), cause.rule_id);
  if (!cause.narrative.empty()) { md += cause.narrative + "\n\n"; }
  std::string guidance = cause_guidance(cause);
  if (!guidance.empty()) { md += fmt::format("Guidance: {}\n\n", guidance); }
  md += next_lines(cause.runbook, cause.next, "");
}

void run_lines(const Cause& cause, const RunEvidence& run, std::string& md) {
  md += fmt::format("- {} run {} ({}), failed {}\n", md_link(fmt::format("`{}`", run.job), run.job_url),
                    md_link(fmt::format("`{}`", run.run_id), run.url), run.location, run.ended);
  if (cause.platform) { md += fmt::format("  - Linked: {} by rule `{}`; {}\n", run.category, run.rule_id, run_link_why(cause, run)); }
  if (run.reclassified) {
    md += fmt::format("  - Reclassified from {} by rule `{}`\n", run.collected_category, run.rule_id);
    for (const auto& e : run.evidence) {
      if (e.kind != "run") { md += evidence_line(e); }
    }
  } else {
    for (const auto& e : run.evidence) {  // corroboration of collect's category
      if (e.kind == "pod_event") { md += evidence_line(e); }
    }
  }
  if (run.first_step_error != "-") { md += fmt::format("  - Step error: {}\n", run.first_step_error); }
  md += fmt::format("  - Run failure: {}{}\n", run.run_message,
                    run.error_class == "-" ? "" : fmt::format(" (error class `{}`)", run.error_class));
  if (!run.retry.empty()) { md += fmt::format("  - Retry: {}\n", run.retry.text); }
  for (const auto& event : run.pod_events) { md += fmt::format("  - Pod event of the run's pod: {}\n", event); }
}

void causes(const Report& r, std::string& md) {
  md += "### Root Causes\n\n";
  if (r.causes.empty()) {
    md += "No failed runs and no platform incident in the window.\n\n";
    return;
  }
  for (std::size_t i = 0; i < r.causes.size(); ++i) {
    const auto& cause = r.causes[i];
    if (cause.platform) {
      platform_cause(i + 1, cause, md);
    } else {
      category_cause(i + 1, cause, md);
    }
    for (const auto& run : cause.runs) { run_lines(cause, run, md); }
    md += "\n";
  }
}

void findings(const std::vector<Finding>& list, std::string& md) {
  for (const auto& finding : list) {
    md += fmt::format("- **{}:** {}{}\n", finding.label, finding.summary,
                      finding.rule_id.empty() ? "" : fmt::format(" (rule: {})", finding.rule_id));
    for (const auto& item : finding.items) { md += fmt::format("  - {}\n", item); }
    md += next_lines(finding.runbook, finding.next, "  - ");
    for (const auto& e : finding.evidence) { md += evidence_line(e); }
  }
  md += "\n";
}

void actions(const Report& r, std::string& md) {
  md += "### Actions\n\n| Action | Item | Rationale | Next step |\n| ------ | ---- | --------- | --------- |\n";
  if (r.actions.empty()) { md += "| No action | - | nothing failed in the window | - |\n"; }
  for (const auto& row : r.actions) {
    md += fmt::format("| {} | {} | {} | {} |\n", action_name(row.action), cell(row.item), cell(row.full_rationale()),
                      row.next.empty() ? "-" : cell(fmt::format("`{}`", row.next)));
  }
  md += "\n";
}

using Allocator = rapidjson::Document::AllocatorType;

rapidjson::Value str(std::string_view text, Allocator& a) { return recorder::json_string(text, a); }

rapidjson::Value strings(const std::vector<std::string>& list, Allocator& a) {
  rapidjson::Value out(rapidjson::kArrayType);
  for (const auto& item : list) { out.PushBack(str(item, a), a); }
  return out;
}

rapidjson::Value notes(const std::vector<StepNote>& list, const char* key, Allocator& a) {
  rapidjson::Value out(rapidjson::kArrayType);
  for (const auto& note : list) {
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("step", str(note.step, a), a);
    row.AddMember(rapidjson::StringRef(key), str(note.message, a), a);
    out.PushBack(row, a);
  }
  return out;
}

// A runbook entry: diagnosis, recovery, validation; null when there is none.
rapidjson::Value runbook_json(const std::optional<RunbookEntry>& entry, Allocator& a) {
  if (!entry) { return rapidjson::Value(); }
  rapidjson::Value out(rapidjson::kObjectType);
  out.AddMember("diagnosis", str(entry->diagnosis, a), a);
  out.AddMember("recovery", str(entry->recovery, a), a);
  out.AddMember("validation", str(entry->validation, a), a);
  return out;
}

// A finding's evidence: kind, pointer (RFC 6901 into the artifact), summary, time (epoch seconds or null).
rapidjson::Value finding_evidence_json(const std::vector<Evidence>& list, Allocator& a) {
  rapidjson::Value out(rapidjson::kArrayType);
  for (const auto& e : list) {
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("kind", str(e.kind, a), a);
    row.AddMember("pointer", str(e.pointer, a), a);
    row.AddMember("summary", str(e.summary, a), a);
    row.AddMember("time", e.epoch ? rapidjson::Value(*e.epoch) : rapidjson::Value(), a);
    row.AddMember("url", e.url.empty() ? rapidjson::Value() : str(e.url, a), a);
    out.PushBack(row, a);
  }
  return out;
}

rapidjson::Value findings_json(const std::vector<Finding>& list, Allocator& a) {
  rapidjson::Value out(rapidjson::kArrayType);
  for (const auto& finding : list) {
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("label", str(finding.label, a), a);
    row.AddMember("summary", str(finding.summary, a), a);
    row.AddMember("items", strings(finding.items, a), a);
    row.AddMember("ruleId", finding.rule_id.empty() ? rapidjson::Value() : str(finding.rule_id, a), a);
    row.AddMember("evidence", finding_evidence_json(finding.evidence, a), a);
    row.AddMember("next", strings(finding.next, a), a);
    row.AddMember("runbook", runbook_json(finding.runbook, a), a);
    out.PushBack(row, a);
  }
  return out;
}

rapidjson::Value platform_json(const std::optional<PlatformIncident>& platform, Allocator& a) {
  if (!platform) { return rapidjson::Value(); }
  const PlatformIncident& p = *platform;
  rapidjson::Value out(rapidjson::kObjectType);
  out.AddMember("id", str(p.id, a), a);
  out.AddMember("source", str(p.source, a), a);
  out.AddMember("title", str(p.title, a), a);
  out.AddMember("meaning", str(p.meaning, a), a);
  out.AddMember("location", p.scope.empty() ? rapidjson::Value() : str(p.scope, a), a);
  out.AddMember("span", str(p.span, a), a);
  out.AddMember("start", p.start, a);
  out.AddMember("end", p.end, a);
  out.AddMember("action", str(action_name(p.action), a), a);
  out.AddMember("claimsRuns", p.claims_runs, a);
  out.AddMember("signals", finding_evidence_json(p.signals, a), a);
  rapidjson::Value effects(rapidjson::kArrayType);
  for (const auto& effect : p.effects) {
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("kind", str(effect.kind, a), a);
    row.AddMember("summary", str(effect.summary, a), a);
    row.AddMember("why", str(effect.why, a), a);
    row.AddMember("evidence", finding_evidence_json(effect.evidence, a), a);
    effects.PushBack(row, a);
  }
  out.AddMember("effects", effects, a);
  return out;
}

rapidjson::Value causes_json(const Report& r, Allocator& a) {
  rapidjson::Value out(rapidjson::kArrayType);
  for (const auto& cause : r.causes) {
    rapidjson::Value runs(rapidjson::kArrayType);
    for (const auto& run : cause.runs) {
      rapidjson::Value row(rapidjson::kObjectType);
      row.AddMember("runId", str(run.run_id, a), a);
      row.AddMember("jobName", str(run.job, a), a);
      row.AddMember("location", str(run.location, a), a);
      row.AddMember("url", run.url.empty() ? rapidjson::Value() : str(run.url, a), a);
      row.AddMember("jobUrl", run.job_url.empty() ? rapidjson::Value() : str(run.job_url, a), a);
      row.AddMember("ended", str(run.ended, a), a);
      row.AddMember("errorClass", str(run.error_class, a), a);
      row.AddMember("firstStepError", str(run.first_step_error, a), a);
      row.AddMember("runFailureMessage", str(run.run_message, a), a);
      row.AddMember("retry", run.retry.empty() ? rapidjson::Value() : str(run.retry.text, a), a);
      row.AddMember("podEvents", strings(run.pod_events, a), a);
      row.AddMember("category", str(run.category, a), a);
      row.AddMember("ruleId", str(run.rule_id, a), a);
      row.AddMember("collectedCategory", str(run.collected_category, a), a);
      row.AddMember("reclassified", run.reclassified, a);
      row.AddMember("evidence", finding_evidence_json(run.evidence, a), a);
      runs.PushBack(row, a);
    }
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("category", str(cause.category, a), a);
    row.AddMember("ruleId", str(cause.rule_id, a), a);
    row.AddMember("narrative", str(cause.narrative, a), a);
    std::string guidance = cause_guidance(cause);
    row.AddMember("guidance", guidance.empty() ? rapidjson::Value() : str(guidance, a), a);
    row.AddMember("next", strings(cause.next, a), a);
    row.AddMember("runbook", runbook_json(cause.runbook, a), a);
    row.AddMember("platform", platform_json(cause.platform, a), a);
    row.AddMember("runs", runs, a);
    out.PushBack(row, a);
  }
  return out;
}

rapidjson::Value timeline_json(const Report& r, Allocator& a) {
  rapidjson::Value out(rapidjson::kArrayType);
  for (const auto& item : r.timeline) {
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("time", str(item.time, a), a);
    row.AddMember("signal", str(item.signal, a), a);
    row.AddMember("source", str(item.source, a), a);
    row.AddMember("kind", str(item.kind, a), a);
    row.AddMember("pointer", str(item.pointer, a), a);
    row.AddMember("url", item.url.empty() ? rapidjson::Value() : str(item.url, a), a);
    out.PushBack(row, a);
  }
  return out;
}

rapidjson::Value actions_json(const Report& r, Allocator& a) {
  rapidjson::Value out(rapidjson::kArrayType);
  for (const auto& item : r.actions) {
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("action", str(action_name(item.action), a), a);
    row.AddMember("item", str(item.item, a), a);
    row.AddMember("rationale", str(item.full_rationale(), a), a);
    row.AddMember("next", item.next.empty() ? rapidjson::Value() : str(item.next, a), a);
    row.AddMember("runIds", strings(item.run_ids, a), a);
    out.PushBack(row, a);
  }
  return out;
}

}  // namespace

std::string render_markdown(const Report& report) {
  std::string md;
  header(report, md);
  actions(report, md);
  preamble(report, md);
  timeline(report, md);
  causes(report, md);
  md += "### Impact\n\n";
  if (report.impact.empty()) {
    md += "No impact recorded in the window.\n\n";
  } else {
    findings(report.impact, md);
  }
  // Emerging Issues is omitted only when there is nothing emerging (no in-window or stale-open
  // error group, no warning or stale check, no stale degraded cluster).
  if (!report.emerging.empty()) {
    md += "### Emerging Issues\n\n";
    findings(report.emerging, md);
  }
  while (md.size() >= 2 && md.compare(md.size() - 2, 2, "\n\n") == 0) { md.pop_back(); }
  return md;
}

std::string render_json(const Report& report) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  rapidjson::Value window(rapidjson::kObjectType);
  window.AddMember("start", str(report.window_start, a), a);
  window.AddMember("end", str(report.window_end, a), a);
  window.AddMember("utcStart", str(report.utc_start, a), a);
  window.AddMember("utcEnd", str(report.utc_end, a), a);
  window.AddMember("timezone", str(report.zone, a), a);
  window.AddMember("zoneLabel", str(report.zone_label, a), a);
  rapidjson::Value volume(rapidjson::kObjectType);
  volume.AddMember("failed", str(report.failed, a), a);
  volume.AddMember("succeeded", str(report.succeeded, a), a);
  volume.AddMember("canceled", str(report.canceled, a), a);
  doc.AddMember("title", str(fmt::format("Day-2 Operations Report — {} → {}", report.window_start, report.window_end), a), a);
  doc.AddMember("window", window, a);
  doc.AddMember("headline", str(report.headline, a), a);
  doc.AddMember("counts", str(report.counts, a), a);
  doc.AddMember("runVolume", volume, a);
  doc.AddMember("missingSignals", notes(report.missing, "error", a), a);
  doc.AddMember("notCollected", notes(report.not_collected, "reason", a), a);
  doc.AddMember("timeline", timeline_json(report, a), a);
  doc.AddMember("rootCauses", causes_json(report, a), a);
  doc.AddMember("impact", findings_json(report.impact, a), a);
  doc.AddMember("emergingIssues", findings_json(report.emerging, a), a);
  doc.AddMember("actions", actions_json(report, a), a);
  return recorder::write_json(doc, recorder::Pretty::yes);
}

}  // namespace analyzer::report
