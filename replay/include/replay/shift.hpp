// Moving a bundle in time (`--shift DURATION`): every timestamp of every source, in every form the
// APIs use, moves by the same duration, so an incident replays as if it happened on another night
// (a DST night included) and the analyzer, whose clock is the bundle's "now", sends the shifted
// requests that the shifted bundle answers.
//
// What counts as a timestamp:
// - RFC 3339 date-times with a zone ("2026-03-29T04:00:00.123456789Z", "...-05:00"), anywhere in a
//   string: whole values, and inside text such as a Cloud Logging filter or an event message. The
//   fraction digits and the zone notation are kept exactly as written.
// - Numbers that are epoch seconds (Dagster's float times) or epoch milliseconds, and decimal strings
//   of epoch milliseconds (Dagster's event timestamps), when the JSON member holding them is named
//   like a time ("startTime", "timestamp", "createdBefore", "updatedAfter", "epoch", "lastSeenAt",
//   ...; see is_time_name) and the value lies between 2000 and 2100. The name test keeps counts,
//   byte sizes and ids that happen to fall in that range from moving.
// In a bundle this covers the manifest (now, window), request query values, request bodies
// (GraphQL variables included) and response bodies.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "recorder/bundle.hpp"
#include "recorder/base/result.hpp"

namespace replay {

// "90s", "15m", "26h", "-3d", "+1w", "1d12h": an optional sign, then one or more number+unit
// parts (w, d, h, m, s). Error quoting the text for anything else (and for zero-length or
// overflowing durations).
recorder::Result<std::chrono::seconds> parse_duration(std::string_view text);

// The member names whose numeric (or digit-string) values are taken as times: names containing
// "time", "date", "epoch", "before", "after", "since" or "until", or ending in "At"/"_at" (any case).
bool is_time_name(std::string_view member_name);

// `text` with every RFC 3339 date-time in it moved by `by`.
std::string shift_text(std::string_view text, std::chrono::seconds by);

// A JSON document (text) with its timestamps moved by `by`; text that is not JSON is shifted as
// text (shift_text). The result is compact JSON with members in their original order.
std::string shift_json_text(std::string_view text, std::chrono::seconds by);

// The bundle with every timestamp moved by `by` (see above); `source` and exchanges' order kept.
recorder::Bundle shift_bundle(recorder::Bundle bundle, std::chrono::seconds by);

}  // namespace replay
