// What the event server writes and reads on the wire beyond Beast's request parsing: the response
// head and the parts of a request target. Free of any HTTP library.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "recorder/http.hpp"

namespace recorder::detail {

// GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS; anything else is answered 405.
bool is_supported_method(std::string_view method);

// Status line and headers of `response` (HTTP/1.1): the recorded headers minus the framing ones
// (Content-Length, Transfer-Encoding, Connection, Keep-Alive, Content-Encoding) and any holding a line
// break, Content-Type (default application/json) and Content-Length of the whole body (also for a
// HEAD, whose body is not sent), "Connection: close" unless `keep_alive`, "Connection: keep-alive"
// when kept alive for an `http10` client.
std::string serialize_head(const recorder::HttpResponse& response, bool keep_alive, bool http10);


}  // namespace recorder::detail
