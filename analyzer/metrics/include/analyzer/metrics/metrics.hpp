// Prometheus metrics with closed label sets (docs/metrics.md). A family's labels are types: an enum
// class with a LabelTraits specialisation (a closed set known at compile time: categories, steps,
// outcomes, actions) or a Name<Tag> that only a NameSet hands out (a set known at run time: the rule
// ids of the loaded rules, the top N locations + "other"). A call site cannot invent a label value,
// so no run of day2 can blow up a dashboard's cardinality.
//
// Normalisation (seed 004): NaN samples are dropped; a negative duration (set_seconds) clamps to 0;
// an empty name becomes "unknown", so a forgotten location still shows up; a name outside its set
// becomes "other".
//
// The text is the Prometheus exposition format 0.0.4, what node-exporter's textfile collector and
// the Pushgateway read: families sorted by name, samples by label values, no timestamps.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace analyzer::metrics {

// Specialise for an enum class E: `static constexpr std::string_view name` (the label's name) and
// `static std::string_view value(E)` (each value's text).
template <class E>
struct LabelTraits;

// A value of an open label (`Tag::name` is the label's name), bounded by the NameSet that made it.
template <class Tag>
class Name {
 public:
  std::string_view value() const { return m_value; }

 private:
  template <class>
  friend class NameSet;
  explicit Name(std::string value) : m_value(std::move(value)) {}
  std::string m_value;
};

inline constexpr std::string_view k_other = "other";
inline constexpr std::string_view k_unknown = "unknown";

// The values an open label may take: a fixed list (e.g. the loaded rules' ids) or the top N names
// by a count (e.g. locations by failures). Anything else is "other"; an empty name is "unknown".
template <class Tag>
class NameSet {
 public:
  static NameSet of(std::set<std::string> allowed) {
    NameSet set;
    set.m_allowed = std::move(allowed);
    return set;
  }
  // The `n` names with the largest counts (ties: the name that sorts first), empty names excluded.
  static NameSet top(const std::map<std::string, double>& counts, std::size_t n) {
    std::vector<std::pair<double, std::string>> ranked;
    for (const auto& [name, count] : counts) {
      if (!name.empty()) ranked.emplace_back(-count, name);
    }
    std::sort(ranked.begin(), ranked.end());
    NameSet set;
    for (std::size_t i = 0; i < ranked.size() && i < n; ++i) set.m_allowed.insert(ranked[i].second);
    return set;
  }
  Name<Tag> operator()(std::string_view text) const {
    if (text.empty()) return Name<Tag>(std::string(k_unknown));
    if (m_allowed.count(std::string(text)) == 0) return Name<Tag>(std::string(k_other));
    return Name<Tag>(std::string(text));
  }
  const std::set<std::string>& allowed() const { return m_allowed; }

 private:
  std::set<std::string> m_allowed;
};

namespace detail {
template <class L>
struct Label;
template <class E>
  requires std::is_enum_v<E>
struct Label<E> {
  static constexpr std::string_view name = LabelTraits<E>::name;
  static std::string value(E e) { return std::string(LabelTraits<E>::value(e)); }
};
template <class Tag>
struct Label<Name<Tag>> {
  static constexpr std::string_view name = Tag::name;
  static std::string value(const Name<Tag>& n) { return std::string(n.value()); }
};
}  // namespace detail

// One metric family's name, help and samples, whatever its labels' types.
class FamilyData {
 public:
  FamilyData(std::string name, std::string help, std::vector<std::string_view> label_names);
  void set(std::vector<std::string> values, double value);
  void add(std::vector<std::string> values, double value);
  std::optional<double> get(const std::vector<std::string>& values) const;
  double total() const;  // the sum of every sample: "did anything count"
  std::size_t size() const { return m_samples.size(); }
  const std::string& name() const { return m_name; }
  void render(std::string& out) const;

 private:
  std::string m_name;
  std::string m_help;
  std::vector<std::string> m_label_names;
  std::map<std::vector<std::string>, double> m_samples;
};

// A gauge whose labels are exactly `Labels...` (each an enum with LabelTraits or a Name<Tag>).
template <class... Labels>
class Gauge {
 public:
  explicit Gauge(FamilyData& data) : m_data(&data) {}
  // Sets the sample; NaN is dropped.
  void set(double value, const Labels&... labels) { m_data->set({detail::Label<Labels>::value(labels)...}, value); }
  // Adds to the sample (0 when absent); NaN is dropped.
  void add(double value, const Labels&... labels) { m_data->add({detail::Label<Labels>::value(labels)...}, value); }
  // A duration: negative clamps to 0.
  void set_seconds(double seconds, const Labels&... labels) { set(seconds < 0 ? 0.0 : seconds, labels...); }
  std::optional<double> value(const Labels&... labels) const {
    return m_data->get({detail::Label<Labels>::value(labels)...});
  }
  double total() const { return m_data->total(); }
  std::size_t size() const { return m_data->size(); }

 private:
  FamilyData* m_data;
};

// The families of one textfile or push.
class Registry {
 public:
  // A new gauge family; the name must be a valid metric name not yet registered (a programming
  // error otherwise: std::logic_error).
  template <class... Labels>
  Gauge<Labels...> gauge(std::string name, std::string help) {
    return Gauge<Labels...>(add_family(std::move(name), std::move(help), {detail::Label<Labels>::name...}));
  }
  // A registered family's data (tests and merging), or nullptr.
  const FamilyData* find(std::string_view name) const;
  // The exposition text: families sorted by name, each with HELP and TYPE.
  std::string text() const;
  // The registered families' names.
  std::vector<std::string> names() const;

 private:
  FamilyData& add_family(std::string name, std::string help, std::vector<std::string_view> label_names);
  std::map<std::string, std::unique_ptr<FamilyData>, std::less<>> m_families;
};

// `fresh`'s families added to the exposition `existing` (another command's file): a family of both
// is `fresh`'s; the others are kept; families sorted by name. Lines of `existing` that are neither
// HELP, TYPE nor a sample are dropped.
std::string merge_text(std::string_view existing, const Registry& fresh);

// The value of the label-less sample `name` in exposition `text`, if it has one (a textfile's
// previous `day2_last_success_timestamp_seconds`, carried over a failed night).
std::optional<double> read_sample(std::string_view text, std::string_view name);

// `value` as an exposition sample value: integers without a fraction, else the shortest form that
// reads back exactly; +Inf / -Inf.
std::string format_value(double value);

}  // namespace analyzer::metrics
