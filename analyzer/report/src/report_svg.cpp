// The HTML report's SVG timeline: an overview strip of the whole window (where the night's signals
// are, and the part shown below), then a time axis zoomed to the signals with hour ticks in the
// report zone, one lane per failed run (a bar from start to end, coloured by category, grouped by
// root cause) and one lane per kind of other timeline signal (a marker each). Every bar and marker carries an SVG <title> with its
// evidence. Deterministic: lanes and markers are sorted, nothing reads the clock.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "report_model.hpp"

namespace analyzer::report {

namespace {

constexpr double k_width = 1200;     // viewBox width; the SVG scales to its container
constexpr double k_left = 260;       // lane labels
constexpr double k_right = 30;       // room for the last hour label
constexpr double k_lane = 20;        // lane height
constexpr double k_short_bar = 6;    // a run without a start: a short bar ending at its end
constexpr double k_min_bar = 4;      // no bar is narrower: a 2-second run still shows
constexpr double k_overview = 26;    // the overview strip's height (with its labels)
constexpr std::size_t k_label_chars = 36;

struct Style {
  std::string_view colour;
  std::string_view shape;  // circle, diamond, triangle, square, cross
};

// Fixed colours for the seed's categories; any other name gets one of the fallbacks by its hash.
std::string_view category_colour(std::string_view category) {
  static const std::map<std::string_view, std::string_view> k_palette = {
      {"Preemption/Interrupt", "#1f77b4"}, {"Node OOM/eviction", "#d62728"}, {"Scheduling failure", "#9467bd"},
      {"K8s API failure", "#8c564b"},      {"Backoff limit", "#e377c2"},     {"Step preempt-hang", "#17becf"},
      {"Network/SSH", "#ff7f0e"},          {"Connection failure", "#bcbd22"}, {"Code error", "#2ca02c"},
      {"Infra timeout", "#7f7f7f"},        {"Unclassified", "#393b79"},
  };
  static constexpr std::array<std::string_view, 6> k_fallback = {"#637939", "#8c6d31", "#843c39",
                                                                 "#7b4173", "#3182bd", "#e6550d"};
  if (auto it = k_palette.find(category); it != k_palette.end()) { return it->second; }
  std::uint32_t hash = 2166136261u;  // FNV-1a: stable across runs and platforms
  for (char c : category) { hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u; }
  return k_fallback.at(hash % k_fallback.size());
}

Style marker_style(std::string_view kind) {
  static const std::map<std::string_view, Style> k_styles = {
      {"pod_event", {"#d62728", "diamond"}},   {"cluster_event", {"#8c564b", "diamond"}},
      {"tick", {"#9467bd", "triangle"}},       {"alert", {"#ff7f0e", "square"}},
      {"agent_error", {"#e377c2", "cross"}},   {"error_group", {"#17becf", "square"}},
      {"load_failure", {"#bcbd22", "triangle"}}, {"daemon", {"#7f7f7f", "cross"}},
      {"queued_run", {"#1f77b4", "circle"}},   {"backfill", {"#2ca02c", "circle"}},
      {"asset_check", {"#393b79", "triangle"}}, {"log_entry", {"#637939", "circle"}},
  };
  if (auto it = k_styles.find(kind); it != k_styles.end()) { return it->second; }
  return {category_colour(kind), "circle"};
}

// The marker lane of a timeline row: its kind, else its source (older models leave kind empty).
const std::string& marker_key(const TimelineRow& row) { return row.kind.empty() ? row.source : row.kind; }

std::string cut(const std::string& text) {
  if (text.size() <= k_label_chars) { return text; }
  std::size_t end = k_label_chars;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) { --end; }
  return text.substr(0, end) + "…";
}

// A hover text is plain text: the Markdown code and bold marks of the model's strings are dropped.
std::string plain(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '`') { continue; }
    if (text.compare(i, 2, "**") == 0) {
      ++i;
      continue;
    }
    out += text[i];
  }
  return out;
}

struct Bar {
  std::optional<double> start;
  double end = 0;
  const RunEvidence* run = nullptr;
  const Cause* cause = nullptr;
  std::size_t cause_index = 0;
};

struct Scale {
  double from = 0;
  double to = 1;
  double x(double epoch) const { return k_left + (epoch - from) / (to - from) * (k_width - k_left - k_right); }
};

std::optional<double> parse_utc(const std::string& text) {
  auto instant = recorder::parse_rfc3339(text);
  if (!instant) { return std::nullopt; }
  return recorder::to_epoch_seconds(*instant);
}

// Bars of the failed runs that have a time, grouped by root cause (in the report's order), then by
// start (or end), then run id.
std::vector<Bar> bars_of(const Report& report) {
  std::vector<Bar> bars;
  for (std::size_t c = 0; c < report.causes.size(); ++c) {
    const auto& cause = report.causes[c];
    for (const auto& run : cause.runs) {
      auto end = run.end_epoch ? run.end_epoch : run.start_epoch;
      if (!end) { continue; }
      auto start = run.end_epoch ? run.start_epoch : std::nullopt;
      bars.push_back({start && *start <= *end ? start : std::nullopt, *end, &run, &cause, c});
    }
  }
  std::sort(bars.begin(), bars.end(), [](const Bar& a, const Bar& b) {
    return std::make_tuple(a.cause_index, a.start.value_or(a.end), a.end, std::string_view(a.run->run_id)) <
           std::make_tuple(b.cause_index, b.start.value_or(b.end), b.end, std::string_view(b.run->run_id));
  });
  return bars;
}

// The whole window (the overview strip's scale), widened to what is drawn.
Scale window_scale(const Report& report, const Scale& detail) {
  std::vector<double> points{detail.from, detail.to};
  for (const auto& text : {report.utc_start, report.utc_end}) {
    if (auto epoch = parse_utc(text)) { points.push_back(*epoch); }
  }
  auto [lo, hi] = std::minmax_element(points.begin(), points.end());
  return {*lo, *hi > *lo ? *hi : *lo + 3600};
}

// The detail axis: zoomed to the signals (a run may start before the window), with a margin of a
// twentieth of their span and at least 10 minutes; the whole window when nothing is timed.
Scale scale_of(const Report& report, const std::vector<Bar>& bars) {
  std::vector<double> points;
  for (const auto& bar : bars) {
    points.push_back(bar.end);
    if (bar.start) { points.push_back(*bar.start); }
  }
  for (const auto& row : report.timeline) {
    if (row.epoch) { points.push_back(*row.epoch); }
  }
  if (points.empty()) {
    for (const auto& text : {report.utc_start, report.utc_end}) {
      if (auto epoch = parse_utc(text)) { points.push_back(*epoch); }
    }
    if (points.empty()) { return {}; }
    auto [lo, hi] = std::minmax_element(points.begin(), points.end());
    return {*lo, *hi > *lo ? *hi : *lo + 3600};
  }
  auto [lo, hi] = std::minmax_element(points.begin(), points.end());
  double margin = std::max((*hi - *lo) / 20, 600.0);
  return {*lo - margin, *hi + margin};
}

// The overview strip: the whole window as a band, the zoomed part outlined, a tick per signal.
void overview(const Report& report, const Scale& whole, const Scale& detail, const std::vector<Bar>& bars,
              const recorder::Zone& zone, double top, std::string& svg) {
  double y = top;
  svg += fmt::format(R"(<g class="overview"><text x="{:.1f}" y="{:.1f}" text-anchor="end" class="lane">whole window</text>)",
                     k_left - 8, y + 12);
  svg += fmt::format(R"(<rect class="overview-window" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="12" fill="#f4f4f4" stroke="#bbb"/>)",
                     whole.x(whole.from), y + 2, whole.x(whole.to) - whole.x(whole.from));
  for (const auto& bar : bars) {
    svg += fmt::format(R"(<line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}" stroke="{3}"/>)", whole.x(bar.end), y + 3,
                       y + 13, category_colour(bar.run->category));
  }
  for (const auto& row : report.timeline) {
    if (row.epoch && row.kind != "run") {
      svg += fmt::format(R"(<line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}" stroke="#888"/>)", whole.x(*row.epoch),
                         y + 5, y + 11);
    }
  }
  double x1 = whole.x(std::max(detail.from, whole.from));
  double x2 = whole.x(std::min(detail.to, whole.to));
  svg += fmt::format(R"(<rect class="overview-zoom" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="16" fill="none" stroke="#1f77b4" stroke-width="2"/>)",
                     x1, y, std::max(x2 - x1, 2.0));
  svg += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" class="tick">{}</text><text x="{:.1f}" y="{:.1f}" text-anchor="end" class="tick">{}</text></g>)"
                     "\n",
                     whole.x(whole.from), y + 25, zone.format(recorder::from_epoch_seconds(whole.from), "%m-%d %H:%M"),
                     whole.x(whole.to), y + 25, zone.format(recorder::from_epoch_seconds(whole.to), "%m-%d %H:%M %Z"));
}

// Hour boundaries in `zone` within the scale, labelled every `step` hours.
void axis(const Scale& scale, const recorder::Zone& zone, double top, double bottom, std::string& svg) {
  double hours = (scale.to - scale.from) / 3600;
  int step = 1;
  for (int candidate : {1, 2, 3, 6, 12, 24, 48, 168}) {
    step = candidate;
    if (hours / candidate <= 12) { break; }  // labels stay apart ("03-30 00:00" is wide)
  }
  svg += fmt::format(R"(<g class="axis"><line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#444"/>)", k_left,
                     top, k_width - k_right, top);
  auto local_hour = [&](double epoch) {  // the start of the local hour holding `epoch`
    double offset = static_cast<double>(zone.offset(recorder::from_epoch_seconds(epoch)).count());
    return std::floor((epoch + offset) / 3600) * 3600 - offset;
  };
  double tick = local_hour(scale.from);
  if (tick < scale.from) { tick = local_hour(tick + 5400); }
  for (int guard = 0; tick <= scale.to && guard < 24 * 400; ++guard, tick = local_hour(tick + 5400)) {
    auto instant = recorder::from_epoch_seconds(tick);
    int hour = std::stoi(zone.format(instant, "%H"));
    bool labelled = hour % step == 0;
    if (!labelled && step > 6) { continue; }
    double x = scale.x(tick);
    svg += fmt::format(R"(<line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}" stroke="{3}"/>)", x,
                       labelled ? top - 6 : top - 3, bottom, labelled ? "#ccc" : "#eee");
    if (labelled) {
      std::string label = zone.format(instant, hour == 0 || step >= 24 ? "%m-%d %H:%M" : "%H:%M");
      svg += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" class="tick">{}</text>)", x, top - 9,
                         label);
    }
  }
  svg += "</g>\n";
}

// The bar's hover text: the run, its category and rule, its times, its errors and the evidence of a
// reclassification.
std::string run_title(const Bar& bar, const recorder::Zone& zone) {
  const RunEvidence& run = *bar.run;
  std::string pointer = run.evidence.empty() ? "" : run.evidence.front().pointer;
  std::string title = fmt::format("{} run {}\n{} (rule {})\nstarted {}\nended {}\nstep error: {}\nrun failure: {}",
                                  run.job, run.run_id, bar.run->category, bar.run->rule_id, when(zone, bar.start),
                                  when(zone, bar.end), plain(run.first_step_error), plain(run.run_message));
  if (run.reclassified) {
    title += fmt::format("\nreclassified from {}", run.collected_category);
    for (const auto& e : run.evidence) {
      if (e.kind != "run") { title += fmt::format("\nevidence ({}, {}): {}", e.kind, e.pointer, plain(e.summary)); }
    }
  }
  return title + fmt::format("\nsource: Dagster runs (step 01)\npointer: {}", pointer.empty() ? "-" : pointer);
}

void run_lanes(const std::vector<Bar>& bars, const Scale& scale, const recorder::Zone& zone, double top,
               std::string& svg) {
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const Bar& bar = bars[i];
    double y = top + static_cast<double>(i) * k_lane;
    double x2 = scale.x(bar.end);
    double x1 = bar.start ? scale.x(*bar.start) : x2 - k_short_bar;
    svg += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="end" class="lane">{} {}</text>)", k_left - 8,
                       y + 14, html_escape(cut(bar.run->job)), html_escape(short_id(bar.run->run_id)));
    double width = std::max(x2 - x1, k_min_bar);
    std::string rect = fmt::format(
        R"(<rect class="run-bar" data-category="{}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{}" rx="2" fill="{}">)"
        R"(<title>{}</title></rect>)",
        html_escape(bar.run->category), std::min(x1, x2 - width), y + 4, width, k_lane - 8,
        category_colour(bar.run->category), html_escape(run_title(bar, zone)));
    svg += bar.run->url.empty() ? rect : fmt::format(R"(<a href="{}">{}</a>)", html_escape(bar.run->url), rect);
    svg += "\n";
  }
}

std::string shape(std::string_view kind, double x, double y, std::string_view colour) {
  if (kind == "diamond") {
    return fmt::format(R"(path d="M{0:.1f} {1:.1f}l6 6l-6 6l-6 -6z" fill="{2}")", x, y - 6, colour);
  }
  if (kind == "triangle") {
    return fmt::format(R"(path d="M{0:.1f} {1:.1f}l6 11h-12z" fill="{2}")", x, y - 6, colour);
  }
  if (kind == "square") {
    return fmt::format(R"(rect x="{:.1f}" y="{:.1f}" width="10" height="10" fill="{}")", x - 5, y - 5, colour);
  }
  if (kind == "cross") {
    return fmt::format(R"(path d="M{0:.1f} {1:.1f}l10 10m0 -10l-10 10" stroke="{2}" stroke-width="3")", x - 5, y - 5,
                       colour);
  }
  return fmt::format(R"(circle cx="{:.1f}" cy="{:.1f}" r="5" fill="{}")", x, y, colour);
}

// One lane per marker key (sorted); one marker per timed row that is not a run failure (those are bars).
std::map<std::string, std::vector<const TimelineRow*>> marker_lanes(const Report& report) {
  std::map<std::string, std::vector<const TimelineRow*>> lanes;
  for (const auto& row : report.timeline) {
    if (row.epoch && row.kind != "run") { lanes[marker_key(row)].push_back(&row); }
  }
  return lanes;
}

void marker_rows(const std::map<std::string, std::vector<const TimelineRow*>>& lanes, const Scale& scale,
                 double top, std::string& svg) {
  double y = top;
  for (const auto& [key, rows] : lanes) {
    Style style = marker_style(key);
    svg += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="end" class="lane">{}</text>)", k_left - 8, y + 14,
                       html_escape(cut(key)));
    for (const TimelineRow* row : rows) {
      std::string title = fmt::format("{}\n{}\nsource: {}\npointer: {}", row->time, plain(row->signal), row->source,
                                      row->pointer.empty() ? "-" : row->pointer);
      std::string element = shape(style.shape, scale.x(*row->epoch), y + k_lane / 2, style.colour);
      std::string name = element.substr(0, element.find(' '));
      svg += fmt::format(R"(<{} class="marker" data-kind="{}"><title>{}</title></{}>)"
                         "\n",
                         element, html_escape(key), html_escape(title), name);
    }
    y += k_lane;
  }
}

// Legend: the categories of the drawn bars, then the marker kinds, each once, sorted; a row wraps
// before it would leave the view box. Returns the number of rows drawn.
int legend(const std::vector<Bar>& bars, const std::map<std::string, std::vector<const TimelineRow*>>& lanes,
           std::string& svg) {
  std::vector<std::string> categories;
  for (const auto& bar : bars) { categories.push_back(bar.run->category); }
  std::sort(categories.begin(), categories.end());
  categories.erase(std::unique(categories.begin(), categories.end()), categories.end());
  int row = 0;
  double x = 10;
  // Moves to the next row when an item `width` wide does not fit; returns the row's baseline.
  auto place = [&](double width) {
    if (x > 10 && x + width > k_width - k_right) {
      ++row;
      x = 10;
    }
    return 15.0 + k_lane * row;
  };
  svg += "<g class=\"legend\">";
  for (const auto& category : categories) {
    double width = 30 + 7.0 * static_cast<double>(category.size());
    double y = place(width);
    svg += fmt::format(R"(<g class="legend-category"><rect x="{:.1f}" y="{:.0f}" width="14" height="10" fill="{}"/>)"
                       R"(<text x="{:.1f}" y="{:.0f}">{}</text></g>)",
                       x, y - 9, category_colour(category), x + 18, y, html_escape(category));
    x += width;
  }
  if (!categories.empty() && !lanes.empty()) {
    ++row;
    x = 10;
  }
  for (const auto& [key, rows] : lanes) {
    double width = 26 + 7.0 * static_cast<double>(key.size());
    double y = place(width);
    Style style = marker_style(key);
    svg += fmt::format(R"(<g class="legend-kind"><{}/><text x="{:.1f}" y="{:.0f}">{}</text></g>)",
                       shape(style.shape, x + 5, y - 5, style.colour), x + 14, y, html_escape(key));
    x += width;
  }
  svg += "</g>\n";
  return categories.empty() && lanes.empty() ? 0 : row + 1;
}

}  // namespace

std::string render_timeline_svg(const Report& report, const recorder::Zone& zone) {
  auto bars = bars_of(report);
  auto lanes = marker_lanes(report);
  Scale scale = scale_of(report, bars);
  Scale whole = window_scale(report, scale);
  std::string legend_svg;
  int legend_rows = legend(bars, lanes, legend_svg);
  // The overview strip sits below the legend's last row, the axis labels below it.
  double strip = k_lane * std::max(legend_rows, 1) + 7;
  double top = strip + k_overview + 24;
  double height = top + static_cast<double>(bars.size() + lanes.size()) * k_lane + 12;
  std::string svg = fmt::format(
      R"(<svg id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {:.0f}" width="100%" role="img" )"
      R"(aria-label="Timeline of the window in {}">)"
      "\n",
      k_width, height, html_escape(report.zone));
  svg += legend_svg;
  overview(report, whole, scale, bars, zone, strip, svg);
  axis(scale, zone, top, height - 8, svg);
  for (const auto& text : {report.utc_start, report.utc_end}) {
    if (auto epoch = parse_utc(text); epoch && *epoch >= scale.from && *epoch <= scale.to) {
      svg += fmt::format(R"(<line class="window" x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}"/>)"
                         "\n",
                         scale.x(*epoch), top, height - 8);
    }
  }
  run_lanes(bars, scale, zone, top, svg);
  marker_rows(lanes, scale, top + static_cast<double>(bars.size()) * k_lane, svg);
  svg += "</svg>\n";
  return svg;
}

}  // namespace analyzer::report
