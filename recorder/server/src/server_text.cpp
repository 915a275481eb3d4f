// The small texts of serving: a host as a URL writes it, whether a host is loopback, what a caught
// exception says.
#include "recorder/server/event_server.hpp"

#include <exception>

namespace recorder {

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string exception_text(std::exception_ptr thrown) {
  std::string what = "an exception that is not a std::exception";
  try {
    if (thrown) std::rethrow_exception(thrown);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {  // the caller reports it (a 500), it is not swallowed
  }
  return what;
}

}  // namespace recorder
