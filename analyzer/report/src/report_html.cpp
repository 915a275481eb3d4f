// The report as one self-contained HTML page: inline CSS, the SVG timeline (report_svg.cpp), no
// script and no external resource. Every artifact string is escaped (it is untrusted input).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "recorder/base/text.hpp"
#include "report_model.hpp"

namespace analyzer::report {

namespace {

constexpr std::string_view k_style = R"(<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#222;max-width:1400px}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}code{background:#f2f2f2;padding:0 .2rem;border-radius:3px}
.missing{background:#fff3cd;border:1px solid #e0b000;padding:.6rem 1rem;margin:1rem 0}
.skipped{color:#555}.evidence{color:#555;font-size:.9rem}
#timeline{border:1px solid #ddd;background:#fff}#timeline text{font-size:11px;fill:#333}
.headline{font-size:1.1rem;margin:.4rem 0}.counts{margin:.2rem 0 1rem}.tag{background:#eef;border-radius:3px;padding:0 .3rem;font-size:.8rem}
.run{border-top:1px solid #eee;margin-top:1rem}.run h3{font-size:1rem}pre.error{background:#fafafa;border:1px solid #eee;padding:.5rem;white-space:pre-wrap;font-size:.85rem}
table.steps td.span,table.steps th.span{width:40%}pre.log{max-height:24em;overflow:auto;background:#f6f6f6;padding:6px;font-size:12px}.step-bar{height:10px;border-radius:2px}.step-bar.ok{background:#2ca02c}.step-bar.bad{background:#d62728}
#timeline .tick{fill:#555}#timeline .window{stroke:#444;stroke-dasharray:4 3}
</style>
)";

// `html` (already escaped) as a link to `url`, or alone without one.
std::string anchor(std::string_view html, std::string_view url) {
  return url.empty() ? std::string(html) : fmt::format("<a href=\"{}\">{}</a>", html_escape(url), html);
}

// Escaped text with the Markdown the model uses: `code` and **bold** spans.
std::string inline_text(std::string_view text) {
  std::string escaped = html_escape(text);
  std::string out;
  bool code = false;
  bool bold = false;
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '`') {
      // A lone backtick stays literal.
      if (!code && escaped.find('`', i + 1) == std::string::npos) {
        out += '`';
        continue;
      }
      out += code ? "</code>" : "<code>";
      code = !code;
    } else if (!code && escaped.compare(i, 2, "**") == 0 && (bold || escaped.find("**", i + 2) != std::string::npos)) {
      out += bold ? "</strong>" : "<strong>";
      bold = !bold;
      ++i;
    } else {
      out += escaped[i];
    }
  }
  return out;
}

// The title, the verdict, the counts and what is missing: the first screen.
void header(const Report& r, std::string& html) {
  html += fmt::format("<h1>Day-2 Operations Report — {} → {}</h1>\n", html_escape(r.window_start),
                      html_escape(r.window_end));
  html += fmt::format("<p class=\"headline\" id=\"headline\"><strong>{}</strong></p>\n<p class=\"counts\">{}</p>\n",
                      inline_text(r.headline), inline_text(r.counts));
  if (!r.missing.empty()) {
    html += fmt::format(
        "<div class=\"missing\" role=\"alert\"><p><strong>Missing signals:</strong> {}; their "
        "signals are missing from this report. Re-run <code>day2 collect</code> before drawing conclusions that depend "
        "on them.</p>\n<ul>\n",
        html_escape(missing_summary(r.missing)));
    for (const auto& step : r.missing) {
      html += fmt::format("<li><code>{}</code>: {}</li>\n", html_escape(step.step), html_escape(step.message));
    }
    html += "</ul></div>\n";
  }
}

// What was not collected, the run volume and the window: before the details.
void preamble(const Report& r, std::string& html) {
  if (!r.not_collected.empty()) {
    // Steps skipped for the same reason share one entry, in the order of their first step (as in Markdown).
    std::vector<std::pair<std::string, std::string>> by_reason;  // reason, steps
    for (const auto& note : r.not_collected) {
      auto it = std::find_if(by_reason.begin(), by_reason.end(), [&](const auto& e) { return e.first == note.message; });
      std::string step = fmt::format("<code>{}</code>", html_escape(note.step));
      if (it == by_reason.end()) {
        by_reason.emplace_back(note.message, step);
      } else {
        it->second += ", " + step;
      }
    }
    html += "<p class=\"skipped\">Not collected (skipped):";
    for (std::size_t i = 0; i < by_reason.size(); ++i) {
      html += fmt::format("{} {} ({})", i == 0 ? "" : ";", by_reason[i].second, html_escape(by_reason[i].first));
    }
    html += ".</p>\n";
  }
  html += fmt::format("<p><strong>Run volume:</strong> {} succeeded, {} failed, {} canceled</p>\n",
                      html_escape(r.succeeded), html_escape(r.failed), html_escape(r.canceled));
  html += fmt::format("<p>Window: {} → {} (UTC); every time below is in {} ({}).</p>\n", html_escape(r.utc_start),
                      html_escape(r.utc_end), html_escape(r.zone_label), html_escape(r.zone));
}

void timeline(const Report& r, const recorder::Zone& zone, std::string& html) {
  html += fmt::format("<h2>Timeline ({})</h2>\n", html_escape(r.zone_label));
  html += render_timeline_svg(r, zone);
  if (r.timeline.empty()) {
    html += "<p>No timestamped findings in the window.</p>\n";
    return;
  }
  html += "<table class=\"timeline\">\n<tr><th>Time</th><th>Signal</th><th>Source</th></tr>\n";
  for (const auto& row : r.timeline) {
    html += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", anchor(html_escape(row.time), row.url),
                        inline_text(row.signal), html_escape(row.source));
  }
  html += "</table>\n";
}

void evidence_item(const Evidence& e, std::string& html) {
  html += fmt::format("<li class=\"evidence\">Evidence ({}): {}</li>\n",
                      anchor(fmt::format("<span class=\"tag\">{}</span>", html_escape(evidence_kind_name(e.kind))), e.url),
                      inline_text(e.summary));
}

// The next commands and the runbook line, as <p> or <li> elements.
void next_html(const std::optional<RunbookEntry>& runbook, const std::vector<std::string>& next, std::string_view tag,
               std::string& html) {
  if (!next.empty()) {
    html += fmt::format("<{} class=\"next\"><strong>Next:</strong> ", tag);
    for (std::size_t i = 0; i < next.size(); ++i) { html += fmt::format("{}<code>{}</code>", i ? " · " : "", html_escape(next[i])); }
    html += fmt::format("</{}>\n", tag);
  }
  if (runbook) {
    html += fmt::format("<{} class=\"runbook\">Runbook: diagnose — {}; recover — {}; validate — {}.</{}>\n", tag,
                        inline_text(runbook->diagnosis), inline_text(runbook->recovery), inline_text(runbook->validation), tag);
  }
}

void run_item(const Cause& cause, const RunEvidence& run, std::string& html) {
  html += fmt::format("<li>{} run {} ({}), failed {}\n<ul>\n", anchor("<code>" + html_escape(run.job) + "</code>", run.job_url),
                      anchor("<code>" + html_escape(run.run_id) + "</code>", run.url), html_escape(run.location),
                      html_escape(run.ended));
  if (cause.platform) {
    html += fmt::format("<li>Linked: {} by rule <code>{}</code></li>\n", html_escape(run.category), html_escape(run.rule_id));
  }
  if (run.reclassified) {
    html += fmt::format("<li>Reclassified from {} by rule <code>{}</code></li>\n", html_escape(run.collected_category),
                        html_escape(run.rule_id));
    for (const auto& e : run.evidence) {
      if (e.kind != "run") { evidence_item(e, html); }  // the run itself is the item
    }
  } else {
    for (const auto& e : run.evidence) {
      if (e.kind == "pod_event") { evidence_item(e, html); }  // corroboration of collect's category
    }
  }
  if (run.first_step_error != "-") { html += fmt::format("<li>Step error: {}</li>\n", html_escape(run.first_step_error)); }
  html += fmt::format("<li>Run failure: {}{}</li>\n", html_escape(run.run_message),
                      run.error_class == "-" ? "" : fmt::format(" (error class <code>{}</code>)", html_escape(run.error_class)));
  if (!run.retry.empty()) { html += fmt::format("<li>Retry: {}</li>\n", inline_text(run.retry.text)); }
  for (const auto& event : run.pod_events) {
    html += fmt::format("<li class=\"evidence\">Pod event of the run&#39;s pod: {}</li>\n", inline_text(event));
  }
  html += "</ul></li>\n";
}

// A platform cause's heading, narrative, signals and linked effects (its runs follow).
void platform_cause(const Cause& cause, std::string& html) {
  const PlatformIncident& p = *cause.platform;
  html += fmt::format("<li><strong>{}</strong>{} — platform incident, rule <code>{}</code>{}.\n", html_escape(p.title),
                      p.scope.empty() ? "" : fmt::format(" in <code>{}</code>", html_escape(p.scope)), html_escape(p.id),
                      p.span.empty() ? "" : ", " + html_escape(p.span));
  html += fmt::format("<p>{}</p>\n", inline_text(cause.narrative));
  next_html(cause.runbook, cause.next, "p", html);
  html += "<ul>\n<li>Signals<ul>\n";
  for (const auto& e : p.signals) { evidence_item(e, html); }
  html += "</ul></li>\n";
  for (const auto& effect : p.effects) {
    if (effect.kind == "runFailure" && p.claims_runs) { continue; }  // listed with the run
    html += fmt::format("<li>Linked: {} ({})<ul>\n", inline_text(effect.summary), inline_text(effect.why));
    for (const auto& e : effect.evidence) { evidence_item(e, html); }
    html += "</ul></li>\n";
  }
}

void causes(const Report& r, std::string& html) {
  html += "<h2>Root Causes</h2>\n";
  if (r.causes.empty()) {
    html += "<p>No failed runs and no platform incident in the window.</p>\n";
    return;
  }
  html += "<ol class=\"causes\">\n";
  for (const auto& cause : r.causes) {
    if (cause.platform) {
      platform_cause(cause, html);
      for (const auto& run : cause.runs) { run_item(cause, run, html); }
      html += "</ul></li>\n";
      continue;
    }
    html += cause.rule_id == "-"
                ? fmt::format("<li><strong>{}</strong> — {} failed run(s); no rule matched.\n", html_escape(cause.category),
                              cause.runs.size())
                : fmt::format("<li><strong>{}</strong> — {} failed run(s) classified by rule <code>{}</code>.\n",
                              html_escape(cause.category), cause.runs.size(), html_escape(cause.rule_id));
    if (std::string guidance = cause_guidance(cause); !guidance.empty()) {
      html += fmt::format("<p class=\"guidance\">Guidance: {}</p>\n", inline_text(guidance));
    }
    if (!cause.narrative.empty()) { html += fmt::format("<p>{}</p>\n", inline_text(cause.narrative)); }
    next_html(cause.runbook, cause.next, "p", html);
    html += "<ul>\n";
    for (const auto& run : cause.runs) { run_item(cause, run, html); }
    html += "</ul></li>\n";
  }
  html += "</ol>\n";
}

// The failing step's captured output: its last lines as collect kept them, or why they are missing;
// for the other captured steps, where their output is.
void captured_log(const RunEvidence& run, std::string& html) {
  if (!run.log_lines.empty()) {
    std::size_t shown = run.log_lines.size();
    std::string which = static_cast<int>(shown) < run.log_total_lines
                            ? fmt::format("last {} of {} lines", shown, run.log_total_lines)
                            : fmt::format("{} line{}", shown, shown == 1 ? "" : "s");
    html += fmt::format("<p>Captured {} of <code>{}</code> ({}):</p>\n<pre class=\"log\">", html_escape(run.log_stream),
                        html_escape(run.step_key), which);
    for (const auto& line : run.log_lines) { html += html_escape(line) + "\n"; }
    html += "</pre>\n";
  } else if (!run.log_error.empty()) {
    html += fmt::format("<p>Captured output of <code>{}</code> could not be read: {}</p>\n", html_escape(run.step_key),
                        html_escape(run.log_error));
  }
  if (!run.captured_steps.empty()) {
    std::vector<std::string> keys;
    for (const auto& key : run.captured_steps) { keys.push_back("<code>" + html_escape(key) + "</code>"); }
    html += fmt::format("<p>Captured logs of {}: <code>day2 logs {} --type LOGS_CAPTURED</code> names their files.</p>\n",
                        fmt::join(keys, ", "), html_escape(run.run_id));
  }
}

// A step's bar on the run's span [from, to]: where it started and how long it took, in percent of
// the span (at least 0.5% wide so that an instant step still shows); no bar for a step never started.
std::string step_bar(const StepRow& step, double from, double to, double span) {
  if (!step.start) { return ""; }
  double left = std::clamp((*step.start - from) / span * 100, 0.0, 100.0);
  double width = std::clamp(((step.end ? *step.end : to) - *step.start) / span * 100, 0.5, 100.0 - left);
  return fmt::format("<div class=\"step-bar {}\" style=\"margin-left:{:.1f}%;width:{:.1f}%\"></div>",
                     step.status == "SUCCESS" ? "ok" : "bad", left, width);
}

// The run's steps, each with its bar on the span from the earliest start to the latest end of the
// run and its steps.
void steps_table(const RunEvidence& run, const recorder::Zone& zone, std::string& html) {
  double from = run.start_epoch.value_or(1e18);
  double to = run.end_epoch.value_or(0);
  for (const auto& step : run.steps) {
    if (step.start) { from = std::min(from, *step.start); }
    if (step.end) { to = std::max(to, *step.end); }
  }
  double span = to > from ? to - from : 1;
  html += "<table class=\"steps\">\n<tr><th>Step</th><th>Status</th><th>Started</th><th>Took</th><th class=\"span\">In the run</th></tr>\n";
  for (const auto& step : run.steps) {
    std::string took = step.start && step.end ? fmt::format("{:.1f} s", *step.end - *step.start) : "-";
    html += fmt::format("<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"span\">{}</td></tr>\n",
                        html_escape(step.step_key), html_escape(step.status), html_escape(when(zone, step.start)), took,
                        step_bar(step, from, to, span));
  }
  html += "</table>\n";
}

// One failed run, readable offline: when, its steps on a bar chart of the run's span, the failing
// step's error and cause chain, where its captured logs are, its evidence and pod events.
void run_section(const Cause& cause, const RunEvidence& run, const recorder::Zone& zone, std::string& html) {
  html += fmt::format("<section class=\"run\" id=\"run-{}\">\n<h3>{} run {} — {}{}</h3>\n", html_escape(run.run_id),
                      anchor("<code>" + html_escape(run.job) + "</code>", run.job_url),
                      anchor("<code>" + html_escape(run.run_id) + "</code>", run.url), html_escape(cause.category),
                      cause.rule_id == "-" ? "" : fmt::format(" (<code>{}</code>)", html_escape(cause.rule_id)));
  std::string duration;
  if (run.start_epoch && run.end_epoch && *run.end_epoch >= *run.start_epoch) {
    duration = fmt::format(" ({:.1f} s)", *run.end_epoch - *run.start_epoch);
  }
  html += fmt::format("<p>Location {}; started {}, failed {}{}.</p>\n", html_escape(run.location),
                      html_escape(when(zone, run.start_epoch)), html_escape(run.ended), duration);
  if (!run.steps.empty()) { steps_table(run, zone, html); }
  if (!run.error_lines.empty()) {
    html += fmt::format("<p><strong>Failing step</strong> <code>{}</code>:</p>\n<pre class=\"error\">", html_escape(run.step_key));
    for (const auto& line : run.error_lines) { html += html_escape(line) + "\n"; }
    html += "</pre>\n";
  }
  captured_log(run, html);
  if (!run.evidence.empty() || !run.pod_events.empty()) {
    html += "<ul>\n";
    for (const auto& e : run.evidence) { evidence_item(e, html); }
    for (const auto& event : run.pod_events) {
      html += fmt::format("<li class=\"evidence\">Pod event of the run&#39;s pod: {}</li>\n", inline_text(event));
    }
    html += "</ul>\n";
  }
  html += "</section>\n";
}

void run_sections(const Report& r, const recorder::Zone& zone, std::string& html) {
  if (r.causes.empty()) { return; }
  html += "<h2 id=\"failed-runs\">Failed runs</h2>\n";
  for (const auto& cause : r.causes) {
    for (const auto& run : cause.runs) { run_section(cause, run, zone, html); }
  }
}

void findings(const std::vector<Finding>& list, std::string& html) {
  html += "<ul>\n";
  for (const auto& finding : list) {
    html += fmt::format("<li><strong>{}:</strong> {}", inline_text(finding.label), inline_text(finding.summary));
    if (!finding.rule_id.empty()) { html += fmt::format(" (rule: <code>{}</code>)", html_escape(finding.rule_id)); }
    if (!finding.items.empty() || !finding.evidence.empty() || !finding.next.empty() || finding.runbook) {
      html += "\n<ul>\n";
      for (const auto& item : finding.items) { html += fmt::format("<li>{}</li>\n", inline_text(item)); }
      next_html(finding.runbook, finding.next, "li", html);
      for (const auto& e : finding.evidence) { evidence_item(e, html); }
      html += "</ul>";
    }
    html += "</li>\n";
  }
  html += "</ul>\n";
}

void actions(const Report& r, std::string& html) {
  html += "<h2 id=\"actions\">Actions</h2>\n<table class=\"actions\">\n<tr><th>Action</th><th>Item</th><th>Rationale</th>"
          "<th>Next step</th></tr>\n";
  if (r.actions.empty()) { html += "<tr><td>No action</td><td>-</td><td>nothing failed in the window</td><td>-</td></tr>\n"; }
  for (const auto& row : r.actions) {
    html += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", action_name(row.action), inline_text(row.item),
                        inline_text(row.full_rationale()), row.next.empty() ? "-" : fmt::format("<code>{}</code>", html_escape(row.next)));
  }
  html += "</table>\n";
}

}  // namespace

std::string html_escape(std::string_view text) { return recorder::markup_escape(text); }

std::string render_html(const Report& report, const recorder::Zone& zone) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += fmt::format("<title>Day-2 Operations Report — {} → {}</title>\n", html_escape(report.window_start),
                      html_escape(report.window_end));
  html += k_style;
  html += "</head>\n<body>\n";
  header(report, html);
  actions(report, html);
  preamble(report, html);
  timeline(report, zone, html);
  causes(report, html);
  run_sections(report, zone, html);
  html += "<h2>Impact</h2>\n";
  if (report.impact.empty()) {
    html += "<p>No impact recorded in the window.</p>\n";
  } else {
    findings(report.impact, html);
  }
  if (!report.emerging.empty()) {
    html += "<h2>Emerging Issues</h2>\n";
    findings(report.emerging, html);
  }
  html += "</body>\n</html>\n";
  return html;
}

}  // namespace analyzer::report
