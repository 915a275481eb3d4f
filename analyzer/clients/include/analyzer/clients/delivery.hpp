// Delivering a written report where people look: a Slack message (Block Kit, through an incoming
// webhook) with the headline and the actions, and the report files uploaded to Cloud Storage (the
// JSON API's media upload, with Application Default Credentials). docs/deploy.md, "Delivery".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "recorder/base/result.hpp"
#include "recorder/transport.hpp"

namespace analyzer {

// gs://BUCKET[/PREFIX]: the bucket (Cloud Storage's naming rules: 3-63 characters of a-z 0-9 - _ .,
// starting and ending with a letter or digit) and the prefix without its trailing '/'.
struct GcsLocation {
  std::string bucket;
  std::string prefix;
};
recorder::Result<GcsLocation> parse_gcs_location(std::string_view text);

// The object name of `file_name` under `location` ("PREFIX/file_name", or file_name alone).
std::string gcs_object_name(const GcsLocation& location, std::string_view file_name);
// Where a person opens the object in a browser (signed in): https://storage.cloud.google.com/BUCKET/NAME.
std::string gcs_browser_url(const GcsLocation& location, std::string_view object_name);

// Uploads `body` as object `object_name` of `location.bucket`: POST
// <api_root>/upload/storage/v1/b/<bucket>/o?uploadType=media&name=<object_name> with its
// Content-Type (Google's "Perform a simple upload"). `transport` adds the credentials. An Error
// names the object and the answer (HTTP status and Google's error message) when it is not a 2xx.
recorder::Result<void> upload_object(recorder::Transport& transport, std::string_view api_root,
                                     const GcsLocation& location, const std::string& object_name,
                                     std::string_view content_type, const std::string& body);

// The content type a report file is uploaded with, from its extension (.html, .md, .json; else
// application/octet-stream).
std::string_view content_type_of(std::string_view file_name);

// What the Slack message says: the title ("day2 · prod · 2026-12-07"), the report's headline and
// counts, its Actions rows (action, item, next step), and a link to the full report when known.
struct SlackReport {
  std::string title;
  std::string headline;
  std::string counts;
  struct Row {
    std::string action;
    std::string item;
    std::string next;
  };
  std::vector<Row> actions;
  std::string link;  // the full report, or empty
};

// The message as Slack's incoming webhooks take it: {"text": <fallback>, "blocks": [...]} with a
// header, the headline, one section per action (at most 20, then "and N more"), and the link;
// texts escaped (&, <, >) and cut to Slack's limits (header 150, section 3000 characters).
std::string slack_message(const SlackReport& report);

// POSTs `message` to the incoming webhook `url` (application/json). Slack answers 200 "ok"; any other
// answer is an Error with its status and body (e.g. 400 invalid_blocks, 404 no_service). The URL is
// a secret: errors never print it.
recorder::Result<void> post_slack(recorder::Transport& transport, const std::string& url, const std::string& message);

}  // namespace analyzer
