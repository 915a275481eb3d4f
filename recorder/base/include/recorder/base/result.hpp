// Result<T>: a value or an Error, for every function that reads untrusted input
// (files, API responses, options, requests). Such functions return errors, never throw.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace recorder {

struct Error {
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_value(std::move(value)) {}         // NOLINT: implicit by design
  Result(Error error) : m_value(std::move(error)) {}     // NOLINT: implicit by design

  explicit operator bool() const { return m_value.index() == 0; }
  bool ok() const { return m_value.index() == 0; }

  T& value() & { return std::get<0>(m_value); }
  const T& value() const& { return std::get<0>(m_value); }
  T&& value() && { return std::get<0>(std::move(m_value)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(m_value); }

 private:
  std::variant<T, Error> m_value;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)), m_ok(false) {}  // NOLINT
  explicit operator bool() const { return m_ok; }
  bool ok() const { return m_ok; }
  const Error& error() const { return m_error; }

 private:
  Error m_error;
  bool m_ok = true;
};

inline Error make_error(std::string message) { return Error{std::move(message)}; }

}  // namespace recorder
