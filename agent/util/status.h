// SPDX-License-Identifier: GPL-2.0-or-later
// The one error convention for fallible operations: a [[nodiscard]] Status
// (errno + message) or Result<T> (a value or that Status). No exceptions on
// the packet path or through C callbacks; see the folder README.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace sipguard::util {

struct [[nodiscard]] Status {
	int error = 0; // positive errno, or EINVAL for bad input; 0 = success
	std::string message;

	bool ok() const { return error == 0; }
	explicit operator bool() const { return ok(); }

	static Status success() { return {}; }
	static Status failure(int err, std::string msg) { return {err == 0 ? 1 : err, std::move(msg)}; }
	// Bad input (config text, a command argument, a file's contents).
	static Status invalid(std::string msg) { return failure(22 /* EINVAL */, std::move(msg)); }
};

// "<what>: <strerror(err)>".
std::string describe_errno(const std::string& what, int err);

// A value, or the Status saying why there is none.
template <class T>
class [[nodiscard]] Result {
public:
	Result(T value) : v_(std::move(value)) {}
	Result(Status failure) : v_(std::move(failure)) {}

	bool ok() const { return v_.index() == 0; }
	explicit operator bool() const { return ok(); }

	T& value() & { return std::get<0>(v_); }
	const T& value() const& { return std::get<0>(v_); }
	T&& value() && { return std::get<0>(std::move(v_)); }
	T* operator->() { return &value(); }
	const T* operator->() const { return &value(); }
	T& operator*() & { return value(); }
	const T& operator*() const& { return value(); }

	// The failure; only when !ok().
	const Status& status() const { return std::get<1>(v_); }
	const std::string& error() const { return status().message; }

private:
	std::variant<T, Status> v_;
};

} // namespace sipguard::util
