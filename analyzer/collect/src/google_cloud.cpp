// The Google Cloud helpers the Google Cloud steps share: Logging filter quoting, RFC 3339 times,
// string fields by path, the window's run statuses, and a GKE cluster's node pools.
#include <algorithm>

#include "collect_helpers.hpp"

namespace analyzer {

using recorder::Result;

std::string lql_quote(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

std::optional<double> rfc3339_seconds(const rapidjson::Value& object, const char* key) {
  auto text = recorder::get_string(object, key);
  if (!text || text->empty()) return std::nullopt;
  auto instant = recorder::parse_rfc3339(*text);
  if (!instant) return std::nullopt;
  return recorder::to_epoch_seconds(*instant);
}

std::string string_at(const rapidjson::Value& object, std::string_view path) {
  const rapidjson::Value* at = &object;
  while (!path.empty()) {
    auto slash = path.find('/');
    std::string name(path.substr(0, slash));
    if (!at->IsObject()) return "";
    auto member = at->FindMember(name.c_str());
    if (member == at->MemberEnd()) return "";
    at = &member->value;
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return at->IsString() ? std::string(at->GetString(), at->GetStringLength()) : "";
}

Result<std::map<std::string, std::string>> run_statuses(StepContext& context) {
  const auto& runs = context.runs->get();
  if (!runs) return runs.error();
  std::map<std::string, std::string> out;
  for (const auto& run : *runs) out[run.run_id] = run.status;
  return out;
}

std::string run_status_of(const std::optional<std::string>& run_id,
                          const std::map<std::string, std::string>& statuses) {
  if (!run_id) return "UNKNOWN";
  auto found = statuses.find(*run_id);
  if (found == statuses.end()) return "UNKNOWN";  // the run ended outside the window
  return found->second == "SUCCESS" || found->second == "FAILURE" ? found->second : "UNKNOWN";
}

// The pool of a GKE node: the one whose instance group's prefix starts the node's name; else, for
// pools listed without groups, the longest pool name found between dashes in it (node names are
// "gke-<cluster>-<pool>-<hash>-<suffix>", a long pool name shortened, which only the groups resolve).
const NodePool* pool_of(const std::string& node, const std::vector<NodePool>& pools) {
  const NodePool* best = nullptr;
  if (node.rfind("gke-", 0) != 0) return nullptr;
  for (const auto& pool : pools) {
    for (const auto& prefix : pool.node_prefixes) {
      if (node.size() > prefix.size() && node.compare(0, prefix.size(), prefix) == 0) return &pool;
    }
  }
  for (const auto& pool : pools) {
    if (pool.name.empty() || node.find("-" + pool.name + "-") == std::string::npos) continue;
    if (best == nullptr || pool.name.size() > best->name.size()) best = &pool;
  }
  return best;
}

std::vector<NodePool> parse_node_pools(const rapidjson::Value& list) {
  std::vector<NodePool> pools;
  if (!list.IsArray()) return pools;
  for (const auto& pool : list.GetArray()) {
    NodePool out;
    out.name = string_at(pool, "name");
    const auto* config = recorder::get_object(pool, "config");
    auto flag = [&](const char* key) {  // NodeConfig.spot / NodeConfig.preemptible (container-v1.json)
      return config && config->HasMember(key) && (*config)[key].IsBool() && (*config)[key].GetBool();
    };
    out.spot = flag("spot") || flag("preemptible");
    // ".../zones/<zone>/instanceGroupManagers/gke-<cluster>-<pool>-<hash>-grp" -> "gke-<cluster>-<pool>-<hash>-".
    if (const auto* groups = recorder::get_array(pool, "instanceGroupUrls")) {
      for (const auto& url : groups->GetArray()) {
        std::string_view text = url.IsString() ? std::string_view(url.GetString(), url.GetStringLength()) : "";
        auto name = text.substr(text.rfind('/') + 1);
        if (name.size() > 4 && name.substr(name.size() - 4) == "-grp") {
          out.node_prefixes.emplace_back(name.substr(0, name.size() - 3));
        }
      }
    }
    if (!out.name.empty()) pools.push_back(std::move(out));
  }
  std::sort(pools.begin(), pools.end(), [](const NodePool& x, const NodePool& y) { return x.name < y.name; });
  return pools;
}

}  // namespace analyzer
