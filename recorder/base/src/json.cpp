#include "recorder/base/json.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "recorder/base/durable.hpp"
#include "recorder/base/secrets.hpp"

namespace recorder {

TextPosition position_of(std::string_view text, std::size_t offset) {
  TextPosition position;
  offset = std::min(offset, text.size());
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++position.line;
      position.column = 1;
    } else {
      ++position.column;
    }
  }
  return position;
}

namespace {

// The Document's own SAX handler, except for numbers: the reader hands them over as text
// (kParseNumbersAsStringsFlag) and they are converted here. RapidJSON 1.1.0's full-precision strtod
// reads out of bounds on inputs such as 0.<50 zeros>27E-326 (a crash from one number in a request
// or a file), and its normal-precision one is off by an ulp; std::from_chars is correctly rounded,
// bounded and locale-independent. Integers keep the types the reader gives them (Int, Uint, Int64,
// Uint64, else Double), as rapidjson's own number parsing does.
class NumberConvertingHandler {
 public:
  NumberConvertingHandler(rapidjson::Document& doc, std::size_t depth) : m_document(doc), m_max_depth(depth) {}

  bool Null() { return m_document.Null(); }
  bool Bool(bool b) { return m_document.Bool(b); }
  bool Int(int i) { return m_document.Int(i); }
  bool Uint(unsigned u) { return m_document.Uint(u); }
  bool Int64(std::int64_t i) { return m_document.Int64(i); }
  bool Uint64(std::uint64_t u) { return m_document.Uint64(u); }
  bool Double(double d) { return m_document.Double(d); }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return m_document.String(s, n, copy); }
  bool StartObject() { return deeper() && m_document.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return m_document.Key(s, n, copy); }
  bool EndObject(rapidjson::SizeType n) { return --m_depth, m_document.EndObject(n); }
  bool StartArray() { return deeper() && m_document.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return --m_depth, m_document.EndArray(n); }

  bool RawNumber(const char* text, rapidjson::SizeType length, bool) {
    std::string_view number(text, length);
    bool negative = !number.empty() && number.front() == '-';
    if (number.find_first_of(".eE") == std::string_view::npos) {
      std::string_view digits = negative ? number.substr(1) : number;
      std::uint64_t magnitude = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
      if (ec == std::errc{} && end == digits.data() + digits.size()) {
        if (!negative) {
          return magnitude <= std::numeric_limits<unsigned>::max() ? m_document.Uint(static_cast<unsigned>(magnitude))
                                                                   : m_document.Uint64(magnitude);
        }
        if (magnitude <= 0x80000000ULL) return m_document.Int(static_cast<int>(-static_cast<std::int64_t>(magnitude)));
        if (magnitude <= 0x8000000000000000ULL) {
          return m_document.Int64(static_cast<std::int64_t>(0 - magnitude));
        }
      }
    }
    double value = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec == std::errc::result_out_of_range) {
      // Underflow gives zero or a subnormal, as in every JSON parser; overflow gives HUGE_VAL (an error below).
      value = std::strtod(std::string(number).c_str(), nullptr);
    } else if (ec != std::errc{} || end != number.data() + number.size()) {
      value = std::numeric_limits<double>::infinity();  // the reader checked the syntax: cannot happen
    }
    if (!std::isfinite(value)) {
      m_too_big = true;
      return false;
    }
    return m_document.Double(value);
  }

  bool too_big() const { return m_too_big; }
  bool too_deep() const { return m_depth > m_max_depth; }

 private:
  bool deeper() { return ++m_depth <= m_max_depth; }

  rapidjson::Document& m_document;
  std::size_t m_max_depth;
  bool m_too_big = false;
  std::size_t m_depth = 0;
};

struct ParseProblem {
  bool too_big = false;
  bool too_deep = false;
};

template <unsigned Flags>
rapidjson::ParseResult parse_into(rapidjson::Document& document, std::string_view text, std::size_t max_depth,
                                  ParseProblem& problem) {
  rapidjson::ParseResult result;
  auto generate = [&](rapidjson::Document& target) {
    NumberConvertingHandler handler(target, max_depth);
    rapidjson::MemoryStream memory(text.data(), text.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(memory);
    rapidjson::Reader reader;
    result = reader.Parse<Flags | rapidjson::kParseNumbersAsStringsFlag>(stream, handler);
    problem = {handler.too_big(), handler.too_deep()};
    return !result.IsError();
  };
  document.Populate(generate);
  return result;
}

}  // namespace

Result<rapidjson::Document> parse_json(std::string_view text, std::string_view source, Comments comments,
                                       std::size_t max_depth) {
  max_depth = std::min(max_depth, k_max_parse_depth);
  rapidjson::Document document;
  ParseProblem problem;
  // Iterative: deeply nested input must give an error, not overflow the stack.
  rapidjson::ParseResult result =
      comments == Comments::allowed
          ? parse_into<rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag |
                       rapidjson::kParseIterativeFlag>(document, text, max_depth, problem)
          : parse_into<rapidjson::kParseIterativeFlag>(document, text, max_depth, problem);
  if (result.IsError()) {
    auto position = position_of(text, result.Offset());
    std::string what = problem.too_big    ? "Number too big to be stored in double."
                       : problem.too_deep ? fmt::format("nested deeper than {} levels", max_depth)
                                          : rapidjson::GetParseError_En(result.Code());
    return make_error(fmt::format("{}:{}:{}: {}", source, position.line, position.column, what));
  }
  return document;
}

namespace {

std::string_view file_type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

Result<std::string> read_file(const std::string& path, std::size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below like any non-file.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return make_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) return make_error(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
  if (S_ISDIR(info.st_mode)) return make_error(fmt::format("{}: is a directory", path));
  if (!S_ISREG(info.st_mode)) {
    return make_error(fmt::format("{}: is {}, not a regular file", path, file_type_name(info.st_mode)));
  }
  if (static_cast<std::uint64_t>(info.st_size) > max_bytes) {
    return make_error(fmt::format("{}: is {} bytes, more than the {} bytes day2 reads from one file", path,
                                  info.st_size, max_bytes));
  }
  std::string content;
  content.resize(static_cast<std::size_t>(info.st_size));
  std::size_t done = 0;
  for (;;) {
    if (done == content.size()) {
      // At the size stat gave: one more byte says whether the file grew while being read.
      char probe = 0;
      ssize_t more = ::read(fd, &probe, 1);
      if (more < 0 && errno == EINTR) continue;
      if (more < 0) return make_error(fmt::format("{}: read failed: {}", path, std::strerror(errno)));
      if (more == 0) break;
      if (content.size() >= max_bytes) {
        return make_error(fmt::format("{}: more than the {} bytes day2 reads from one file", path, max_bytes));
      }
      content.resize(std::min(max_bytes, content.size() + 65536));
      content[done++] = probe;
      continue;
    }
    ssize_t n = ::read(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(fmt::format("{}: read failed: {}", path, std::strerror(errno)));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  content.resize(done);
  return content;
}

Result<rapidjson::Document> read_json_file(const std::string& path, Comments comments) {
  auto text = read_file(path);
  if (!text) return text.error();
  return parse_json(*text, path, comments);
}

namespace {

std::string_view key_of(const rapidjson::Value::Member& member) {
  return {member.name.GetString(), member.name.GetStringLength()};
}

template <class Writer>
void write_sorted(const rapidjson::Value& value, Writer& writer) {
  if (value.IsObject()) {
    const auto object = value.GetObject();
    writer.StartObject();
    // Most objects day2 writes were read from sorted text or built in order: then no index to sort.
    bool sorted = std::is_sorted(object.begin(), object.end(),
                                 [](const auto& a, const auto& b) { return key_of(a) < key_of(b); });
    if (sorted) {
      for (const auto& member : object) {
        writer.Key(member.name.GetString(), member.name.GetStringLength());
        write_sorted(member.value, writer);
      }
    } else {
      std::vector<const rapidjson::Value::Member*> members;
      for (const auto& member : object) members.push_back(&member);
      std::stable_sort(members.begin(), members.end(), [](const auto* a, const auto* b) { return key_of(*a) < key_of(*b); });
      for (const auto* member : members) {
        writer.Key(member->name.GetString(), member->name.GetStringLength());
        write_sorted(member->value, writer);
      }
    }
    writer.EndObject();
  } else if (value.IsArray()) {
    writer.StartArray();
    for (const auto& element : value.GetArray()) write_sorted(element, writer);
    writer.EndArray();
  } else {
    value.Accept(writer);
  }
}

}  // namespace

namespace {

// `value` as text into `buffer`: sorted keys; pretty text is indented by two and ends with a newline.
void render_json(const rapidjson::Value& value, Pretty pretty, rapidjson::StringBuffer& buffer) {
  if (pretty == Pretty::yes) {
    rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
    writer.SetIndent(' ', 2);
    write_sorted(value, writer);
    buffer.Put('\n');  // not string + "\n": that copies a second time, and a 50 MB artifact doubles its peak
    return;
  }
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  write_sorted(value, writer);
}

}  // namespace

std::string write_json(const rapidjson::Value& value, Pretty pretty) {
  rapidjson::StringBuffer buffer;
  render_json(value, pretty, buffer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<void> write_json_file_atomic(const std::string& path, const rapidjson::Value& value, Pretty pretty) {
  rapidjson::StringBuffer buffer;
  render_json(value, pretty, buffer);
  return write_file_atomic(path, std::string_view(buffer.GetString(), buffer.GetSize()));
}

Result<void> write_file_atomic(const std::string& path, std::string_view content) {
  namespace fs = std::filesystem;
  // No file day2 writes holds a secret it holds (recorder/secrets.hpp).
  std::string scrubbed;
  if (!held_secrets().empty()) {
    scrubbed = scrub_held_secrets(content);
    content = scrubbed;
  }
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string pattern = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) return make_error(fmt::format("{}: cannot create a temporary file: {}", path, std::strerror(errno)));
  ::fchmod(fd, 0644);
  if (auto failed = detail::write_sync_close(fd, content)) {
    ::unlink(name.data());
    return make_error(fmt::format("{}: {}: {}", path, failed->what, std::strerror(failed->error)));
  }
  if (::rename(name.data(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(name.data());
    return make_error(fmt::format("{}: rename failed: {}", path, std::strerror(saved)));
  }
  // Persist the rename itself: until then a crash can leave the old file (or none).
  return fsync_directory(dir.string());
}

std::optional<std::string> get_string(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return std::nullopt;
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<double> get_number(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return std::nullopt;
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsNumber()) return std::nullopt;
  return it->value.GetDouble();
}

std::optional<bool> get_bool(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return std::nullopt;
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsBool()) return std::nullopt;
  return it->value.GetBool();
}

const rapidjson::Value* get_object(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsObject()) return nullptr;
  return &it->value;
}

const rapidjson::Value* get_array(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsArray()) return nullptr;
  return &it->value;
}

rapidjson::Value json_string(std::string_view text, rapidjson::Document::AllocatorType& allocator) {
  rapidjson::Value value;
  value.SetString(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
  return value;
}

}  // namespace recorder

namespace recorder {
namespace {

// SAX handler that records the line where each value starts, keyed by JSON pointer.
class LineRecorder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, LineRecorder> {
 public:
  LineRecorder(std::string_view text, const std::size_t* offset) : m_text(text), m_offset(offset) {}

  bool Default() {
    value();
    return next();
  }
  bool StartObject() {
    if (m_stack.size() >= k_max_parse_depth) return false;  // parse_json refuses it too
    value();
    m_stack.push_back(Frame{true, 0, ""});
    return true;
  }
  bool Key(const char* str, rapidjson::SizeType length, bool) {
    m_stack.back().key = std::string(str, length);
    m_key_line = line_here();
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return pop(); }
  bool StartArray() {
    if (m_stack.size() >= k_max_parse_depth) return false;
    value();
    m_stack.push_back(Frame{false, 0, ""});
    return true;
  }
  bool EndArray(rapidjson::SizeType) { return pop(); }

  std::map<std::string, std::size_t> lines;

 private:
  struct Frame {
    bool object;
    std::size_t index;
    std::string key;
  };

  std::string pointer() const {
    std::string path;
    for (const auto& frame : m_stack) {
      path += "/";
      path += frame.object ? pointer_token(frame.key) : std::to_string(frame.index);
    }
    return path;
  }

  // Offsets only grow while parsing: count the newlines since the last call, not from the start
  // (from the start each time made a file of n values cost n times its length).
  std::size_t line_here() {
    std::size_t offset = std::min(*m_offset, m_text.size());
    if (offset < m_counted) m_counted = 0, m_line = 1;
    m_line += static_cast<std::size_t>(std::count(m_text.begin() + static_cast<std::ptrdiff_t>(m_counted),
                                                  m_text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
    m_counted = offset;
    return m_line;
  }

  bool value() {
    // A value inside an object is reported at its key's line (where a reader looks).
    std::size_t line = (!m_stack.empty() && m_stack.back().object) ? m_key_line : line_here();
    lines.emplace(pointer(), line);
    return true;
  }

  bool pop() {
    m_stack.pop_back();
    return next();
  }

  // A complete value moves an enclosing array to its next index (scalars as well as containers).
  bool next() {
    if (!m_stack.empty() && !m_stack.back().object) ++m_stack.back().index;
    return true;
  }

  std::string_view m_text;
  const std::size_t* m_offset;
  std::vector<Frame> m_stack;
  std::size_t m_key_line = 1;
  std::size_t m_counted = 0;  // bytes of m_text whose newlines are in m_line
  std::size_t m_line = 1;
};

// A stream that exposes its read position to the handler.
class TrackedStream {
 public:
  using Ch = char;
  TrackedStream(std::string_view text, std::size_t* offset) : m_text(text), m_offset(offset) {}
  Ch Peek() const { return *m_offset < m_text.size() ? m_text[*m_offset] : '\0'; }
  Ch Take() { return *m_offset < m_text.size() ? m_text[(*m_offset)++] : '\0'; }
  std::size_t Tell() const { return *m_offset; }
  Ch* PutBegin() { return nullptr; }
  void Put(Ch) {}
  void Flush() {}
  std::size_t PutEnd(Ch*) { return 0; }

 private:
  std::string_view m_text;
  std::size_t* m_offset;
};

}  // namespace

std::string pointer_token(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
  return out;
}

std::map<std::string, std::size_t> json_value_lines(std::string_view text, Comments comments) {
  std::size_t offset = 0;
  TrackedStream stream(text, &offset);
  LineRecorder handler(text, &offset);
  rapidjson::Reader reader;
  if (comments == Comments::allowed) {
    reader.Parse<rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag | rapidjson::kParseIterativeFlag>(
        stream, handler);
  } else {
    reader.Parse<rapidjson::kParseIterativeFlag>(stream, handler);
  }
  return std::move(handler.lines);
}

}  // namespace recorder
