// SPDX-License-Identifier: GPL-2.0-or-later
// Prometheus text exposition writer, histogram, registry, human rendering.
#include "agent/daemon/metrics.h"

#include <cmath>
#include <memory>

#include <fmt/core.h>

#include "agent/util/enum_names.h"

namespace sipguard::daemon::metrics {

namespace {

constexpr auto kTypeNames = util::enum_names<Type::Summary>({
	"counter", "gauge", "histogram", "summary"
}, "untyped");

std::string_view type_name(Type t) { return kTypeNames(t); }

std::string format_value(double v)
{
	if (std::isnan(v))
		return "NaN";
	if (std::isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	if (v == std::floor(v) && std::fabs(v) < 1e15)
		return fmt::format("{}", static_cast<int64_t>(v));
	return fmt::format("{}", v);
}

// HELP text escapes backslash and newline; label values also the double quote.
std::string escape(std::string_view v, bool quote)
{
	std::string out;
	for (char c : v) {
		if (c == '\\')
			out += "\\\\";
		else if (c == '"' && quote)
			out += "\\\"";
		else if (c == '\n')
			out += "\\n";
		else
			out += c;
	}
	return out;
}

std::string escape_help(std::string_view v) { return escape(v, false); }

} // namespace

std::string escape_label(std::string_view v) { return escape(v, true); }

void Exposition::family(std::string_view name, Type type, std::string_view help)
{
	for (auto& f : families_)
		if (f.name == name)
			return;
	families_.push_back({std::string(name), type, std::string(help), {}});
}

Exposition::Family* Exposition::find(std::string_view sample_name)
{
	for (auto& f : families_) {
		if (sample_name == f.name)
			return &f;
		if (f.type == Type::Histogram || f.type == Type::Summary) {
			for (std::string_view suffix : {"_bucket", "_sum", "_count"})
				if (sample_name.size() == f.name.size() + suffix.size() && sample_name.starts_with(f.name) &&
				    sample_name.ends_with(suffix))
					return &f;
		}
	}
	return nullptr;
}

void Exposition::sample(std::string_view name, const Labels& labels, double value)
{
	Family* f = find(name);
	if (!f) {
		// Undeclared: declare untyped-as-gauge so the output stays valid.
		family(name, Type::Gauge, "");
		f = &families_.back();
	}
	std::string& s = f->samples;
	s += name;
	if (!labels.empty()) {
		s += '{';
		for (size_t i = 0; i < labels.size(); ++i) {
			if (i)
				s += ',';
			s += fmt::format("{}=\"{}\"", labels[i].first, escape_label(labels[i].second));
		}
		s += '}';
	}
	s += ' ';
	s += format_value(value);
	s += '\n';
}

std::string Exposition::text() const
{
	std::string out;
	for (const auto& f : families_) {
		if (!f.help.empty())
			out += fmt::format("# HELP {} {}\n", f.name, escape_help(f.help));
		out += fmt::format("# TYPE {} {}\n", f.name, type_name(f.type));
		out += f.samples;
	}
	return out;
}

Histogram::Histogram(std::vector<double> bounds)
	: bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1])
{
	for (size_t i = 0; i <= bounds_.size(); ++i)
		buckets_[i].store(0);
}

void Histogram::observe(double seconds)
{
	size_t i = 0;
	while (i < bounds_.size() && seconds > bounds_[i])
		++i;
	buckets_[i].fetch_add(1, std::memory_order_relaxed);
	count_.fetch_add(1, std::memory_order_relaxed);
	sum_ns_.fetch_add(static_cast<uint64_t>(std::max(0.0, seconds) * 1e9), std::memory_order_relaxed);
}

void Histogram::collect(Exposition& e, std::string_view name, std::string_view help, const Labels& labels) const
{
	e.family(name, Type::Histogram, help);
	const std::string bucket = std::string(name) + "_bucket";
	uint64_t cum = 0;
	for (size_t i = 0; i <= bounds_.size(); ++i) {
		cum += buckets_[i].load(std::memory_order_relaxed);
		Labels l = labels;
		l.emplace_back("le", i < bounds_.size() ? format_value(bounds_[i]) : "+Inf");
		e.sample(bucket, l, static_cast<double>(cum));
	}
	e.sample(std::string(name) + "_sum", labels, static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
	e.sample(std::string(name) + "_count", labels, static_cast<double>(count_.load(std::memory_order_relaxed)));
}

void Registry::add(Collector c)
{
	std::lock_guard lock(mutex_);
	collectors_.push_back(std::move(c));
}

std::string Registry::scrape() const
{
	Exposition e;
	std::lock_guard lock(mutex_);
	for (const auto& c : collectors_)
		c(e);
	return e.text();
}

} // namespace sipguard::daemon::metrics
