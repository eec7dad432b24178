// Errors as values: Result<T> carries either a T or an Error (std::error_code plus
// human context). Used on every data-plane path of bngkit, where throwing is not allowed.
#pragma once

#include <cerrno>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace bngkit {

/// An error code plus a sentence saying what was being done when it happened.
struct Error {
  std::error_code code;
  std::string context;

  /// "context: message" — what an operator reads in a log line.
  [[nodiscard]] std::string message() const {
    if (context.empty()) return code.message();
    if (!code) return context;
    return context + ": " + code.message();
  }
};

/// Builds an Error from an errno value (positive or negative, as libbpf returns them).
[[nodiscard]] inline Error errno_error(int err, std::string context) {
  if (err < 0) err = -err;
  return Error{std::error_code(err, std::generic_category()), std::move(context)};
}

/// Builds an Error that is not an OS error, e.g. a malformed packet.
[[nodiscard]] inline Error make_error(std::errc code, std::string context) {
  return Error{std::make_error_code(code), std::move(context)};
}

/// Either a value of type T or an Error. Check with `ok()` / `operator bool` before
/// calling `value()`.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  [[nodiscard]] T& value() & { return std::get<0>(v_); }
  [[nodiscard]] const T& value() const& { return std::get<0>(v_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  [[nodiscard]] const Error& error() const& { return std::get<1>(v_); }
  [[nodiscard]] Error&& error() && { return std::get<1>(std::move(v_)); }

  /// The value, or `fallback` when this holds an error.
  template <typename U>
  [[nodiscard]] T value_or(U&& fallback) const& {
    return ok() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> v_;
};

/// Result of an operation that yields nothing but may fail.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  [[nodiscard]] bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] const Error& error() const& { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

/// Shorthand for a successful Result<void>.
[[nodiscard]] inline Result<void> ok() { return {}; }

}  // namespace bngkit
