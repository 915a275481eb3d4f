// Delivery of a written report: Slack incoming webhooks (Block Kit) and Cloud Storage uploads.
// Formats: Slack's "Sending messages using incoming webhooks" and Block Kit reference (header,
// section, context blocks; mrkdwn escaping of &, <, >); Cloud Storage JSON API "Perform a simple
// upload" (uploadType=media).
#include "analyzer/clients/delivery.hpp"

#include <fmt/format.h>

#include <rapidjson/document.h>

#include "recorder/http.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/text.hpp"

namespace analyzer {

using recorder::make_error;
using recorder::Result;

namespace {

bool bucket_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'; }
bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Slack mrkdwn text: the three characters Slack asks to escape.
std::string mrkdwn(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

rapidjson::Value text_object(const char* type, const std::string& text, rapidjson::Document::AllocatorType& a) {
  rapidjson::Value object(rapidjson::kObjectType);
  object.AddMember("type", rapidjson::StringRef(type), a);
  object.AddMember("text", recorder::json_string(text, a), a);
  return object;
}

rapidjson::Value section(const std::string& text, rapidjson::Document::AllocatorType& a) {
  rapidjson::Value block(rapidjson::kObjectType);
  block.AddMember("type", "section", a);
  block.AddMember("text", text_object("mrkdwn", recorder::clip(text, 2997), a), a);
  return block;
}

std::string answer_excerpt(const recorder::HttpResponse& response) {
  auto parsed = recorder::parse_json(response.body, "answer");
  if (parsed && parsed->IsObject()) {
    if (const auto* error = recorder::get_object(*parsed, "error")) {
      if (auto message = recorder::get_string(*error, "message")) return *message;
    }
  }
  return recorder::excerpt(response.body, 300);
}

}  // namespace

Result<GcsLocation> parse_gcs_location(std::string_view text) {
  constexpr std::string_view scheme = "gs://";
  if (!text.starts_with(scheme)) return make_error(fmt::format("\"{}\" is not gs://BUCKET[/PREFIX]", text));
  auto rest = text.substr(scheme.size());
  auto slash = rest.find('/');
  GcsLocation location{std::string(rest.substr(0, slash)), slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1))};
  const auto& b = location.bucket;
  bool valid = b.size() >= 3 && b.size() <= 63 && alnum(b.front()) && alnum(b.back());
  for (char c : b) valid = valid && bucket_char(c);
  if (!valid) {
    return make_error(fmt::format("\"{}\": bucket \"{}\" is not a Cloud Storage bucket name (3-63 of a-z 0-9 - _ ., "
                                  "starting and ending with a letter or digit)", text, b));
  }
  while (!location.prefix.empty() && location.prefix.back() == '/') location.prefix.pop_back();
  return location;
}

std::string gcs_object_name(const GcsLocation& location, std::string_view file_name) {
  return location.prefix.empty() ? std::string(file_name) : location.prefix + "/" + std::string(file_name);
}

std::string gcs_browser_url(const GcsLocation& location, std::string_view object_name) {
  std::string path;
  for (char c : object_name) path += c == '/' ? std::string("/") : recorder::url_encode(std::string_view(&c, 1));
  return fmt::format("https://storage.cloud.google.com/{}/{}", location.bucket, path);
}

std::string_view content_type_of(std::string_view file_name) {
  if (file_name.ends_with(".html")) return "text/html; charset=utf-8";
  if (file_name.ends_with(".md")) return "text/markdown; charset=utf-8";
  if (file_name.ends_with(".json")) return "application/json";
  return "application/octet-stream";
}

Result<void> upload_object(recorder::Transport& transport, std::string_view api_root, const GcsLocation& location,
                           const std::string& object_name, std::string_view content_type, const std::string& body) {
  std::string root(api_root.empty() ? "https://storage.googleapis.com" : api_root);
  while (!root.empty() && root.back() == '/') root.pop_back();
  recorder::HttpRequest request;
  request.method = "POST";
  request.url = fmt::format("{}/upload/storage/v1/b/{}/o?uploadType=media&name={}", root, location.bucket,
                            recorder::url_encode(object_name));
  request.headers = {{"Content-Type", std::string(content_type)}};
  request.body = body;
  request.timeout = std::chrono::milliseconds(120000);
  auto response = transport.send(request);
  std::string where = fmt::format("gs://{}/{}", location.bucket, object_name);
  if (!response) return make_error(fmt::format("upload to {}: {}", where, response.error().message));
  if (response->status < 200 || response->status > 299) {
    return make_error(fmt::format("upload to {}: HTTP {}: {}", where, response->status, answer_excerpt(*response)));
  }
  return {};
}

std::string slack_message(const SlackReport& report) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("text", recorder::json_string(recorder::clip(report.title + ": " + report.headline, 2997), a), a);
  rapidjson::Value blocks(rapidjson::kArrayType);
  rapidjson::Value header(rapidjson::kObjectType);
  header.AddMember("type", "header", a);
  header.AddMember("text", text_object("plain_text", recorder::clip(report.title, 147), a), a);
  blocks.PushBack(header, a);
  blocks.PushBack(section(fmt::format("*{}*\n{}", mrkdwn(report.headline), mrkdwn(report.counts)), a), a);
  constexpr std::size_t k_shown = 20;
  for (std::size_t i = 0; i < report.actions.size() && i < k_shown; ++i) {
    const auto& row = report.actions[i];
    std::string text = fmt::format("*{}* {}", mrkdwn(row.action), mrkdwn(row.item));
    if (!row.next.empty()) text += fmt::format("\nNext: `{}`", mrkdwn(row.next));
    blocks.PushBack(section(text, a), a);
  }
  std::vector<std::string> context;
  if (report.actions.size() > k_shown) context.push_back(fmt::format("and {} more actions", report.actions.size() - k_shown));
  if (!report.link.empty()) context.push_back(fmt::format("<{}|Full report>", report.link));
  if (!context.empty()) {
    rapidjson::Value block(rapidjson::kObjectType);
    block.AddMember("type", "context", a);
    rapidjson::Value elements(rapidjson::kArrayType);
    elements.PushBack(text_object("mrkdwn", recorder::clip(fmt::format("{}", fmt::join(context, " · ")), 2997), a), a);
    block.AddMember("elements", elements, a);
    blocks.PushBack(block, a);
  }
  doc.AddMember("blocks", blocks, a);
  return recorder::write_json(doc);
}

Result<void> post_slack(recorder::Transport& transport, const std::string& url, const std::string& message) {
  recorder::HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.headers = {{"Content-Type", "application/json"}};
  request.body = message;
  auto response = transport.send(request);
  if (!response) {
    std::string why = response.error().message;  // the URL is the webhook's secret: never print it
    for (auto at = why.find(url); !url.empty() && at != std::string::npos; at = why.find(url)) {
      why.replace(at, url.size(), "<the webhook URL>");
    }
    return make_error("Slack webhook: " + why);
  }
  if (response->status != 200) {
    return make_error(fmt::format("Slack webhook: HTTP {}: {}", response->status, recorder::excerpt(response->body, 300)));
  }
  return {};
}

}  // namespace analyzer
