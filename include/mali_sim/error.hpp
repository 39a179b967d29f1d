// Errors as values: a code in the errno spirit plus a message naming the place and the cause.
// Used wherever a caller can get something wrong (driver API, writer, configuration), so that the
// simulator never throws through its own event loop.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace mali_sim {

enum class Errc {
  kInvalidArgument,  // EINVAL: a rule of the API was broken
  kOutOfMemory,      // ENOMEM
  kExists,           // EEXIST: mapping over a live entry
  kNotFound,         // ENOENT
  kOutOfRange,       // address outside what is configured
  kBusy,             // EBUSY
  kTimedOut,         // ETIMEDOUT
  kPermission,       // EPERM / EACCES
};

std::string_view to_string(Errc c) noexcept;

struct Error {
  Errc code;
  std::string message;

  std::string to_string() const;
};

// A value or an Error. Deliberately small: has_value/value/error, like std::expected (C++23).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    assert(!has_value());
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : err_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  static Status ok() { return {}; }

  bool has_value() const noexcept { return !err_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  const Error& error() const {
    assert(err_.has_value());
    return *err_;
  }

 private:
  std::optional<Error> err_;
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace mali_sim
