// SPDX-License-Identifier: GPL-2.0-or-later
// Prometheus text exposition (format 0.0.4), the small counter types the
// daemon keeps itself and counter tables. Per-thread counters live with their
// owner (engine shard, queue, writer); a scrape calls each registered
// collector, which sums them on read (Snort's pegs), so the packet path never
// takes a lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sipguard::daemon::metrics {

enum class Type : uint8_t { Counter, Gauge, Histogram, Summary };

using Labels = std::vector<std::pair<std::string, std::string>>;

// Builds one scrape. Families must be declared before their samples; a
// family declared twice is written once (its samples are merged).
class Exposition {
public:
	void family(std::string_view name, Type type, std::string_view help);
	// `name` is the family name, or family name + "_bucket"/"_sum"/"_count".
	void sample(std::string_view name, const Labels& labels, double value);
	void sample(std::string_view name, double value) { sample(name, {}, value); }
	std::string text() const;

private:
	struct Family {
		std::string name;
		Type type;
		std::string help;
		std::string samples;
	};
	Family* find(std::string_view sample_name);
	std::vector<Family> families_;
};

// Single-writer counter: the owning thread adds with a relaxed load+store
// (no locked instruction), readers load relaxed. Padded to its own cache line
// so shards do not false-share.
struct alignas(64) ShardCounter {
	std::atomic<uint64_t> v{0};
	void add(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
	uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

// A fixed-bucket histogram safe for several writers (fetch_add); used for
// latencies observed off the packet path (rules-writer batches, restore).
class Histogram {
public:
	// Upper bounds in seconds, ascending; +Inf is implicit.
	explicit Histogram(std::vector<double> bounds);
	void observe(double seconds);
	void collect(Exposition& e, std::string_view name, std::string_view help, const Labels& labels = {}) const;
	uint64_t count() const { return count_.load(std::memory_order_relaxed); }

private:
	std::vector<double> bounds_;
	std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
	std::atomic<uint64_t> count_{0};
	std::atomic<uint64_t> sum_ns_{0};
};

// Collectors registered by the daemon's parts; scrape() runs them in order.
class Registry {
public:
	using Collector = std::function<void(Exposition&)>;
	void add(Collector c);
	std::string scrape() const;

private:
	mutable std::mutex mutex_;
	std::vector<Collector> collectors_;
};

// Label values escaped as the exposition format requires (\\, \", \n).
std::string escape_label(std::string_view v);

// A counter table: the metric families read from one stats struct S, each
// family with its series (fixed labels and a reader of S). export_table()
// walks it and writes each series as the sum over every instance of S (one
// per queue thread, say), so adding a counter is adding a row.
template <class S>
struct CounterFamily {
	struct Series {
		Labels labels;
		std::function<uint64_t(const S&)> read;
		// A summary's or histogram's part: the sample is named family name +
		// suffix ("_sum", "_count").
		std::string_view suffix = {};
		// The sum is divided by it before it is written (1e9: nanoseconds
		// counted, seconds exported).
		double unit = 1;
	};
	std::string_view name;
	Type type;
	std::string_view help;
	std::vector<Series> series;
};

template <class S>
using CounterTable = std::vector<CounterFamily<S>>;

// Readers for a table's rows: a counter member of S, or element `i` of an
// array member. Members may be plain integers or ShardCounters.
inline uint64_t counter_value(uint64_t v) { return v; }
inline uint64_t counter_value(const ShardCounter& c) { return c.get(); }

template <class S, class M>
std::function<uint64_t(const S&)> field(M S::*member)
{
	return [member](const S& s) { return counter_value(s.*member); };
}

template <class S, class M>
std::function<uint64_t(const S&)> element(M S::*array_member, size_t i)
{
	return [array_member, i](const S& s) { return counter_value((s.*array_member)[i]); };
}

template <class S>
void write_series(Exposition& e, const CounterFamily<S>& f, const typename CounterFamily<S>::Series& s,
                  const Labels& labels, uint64_t sum)
{
	const double value = static_cast<double>(sum) / s.unit;
	if (s.suffix.empty())
		e.sample(f.name, labels, value);
	else
		e.sample(std::string(f.name) + std::string(s.suffix), labels, value);
}

// `instances`: a range of pointers (raw or smart) to S. The families come
// out in table order, each series in row order.
template <class S, class Range>
void export_table(Exposition& e, const CounterTable<S>& table, const Range& instances)
{
	for (const CounterFamily<S>& f : table) {
		e.family(f.name, f.type, f.help);
		for (const auto& s : f.series) {
			uint64_t sum = 0;
			for (const auto& p : instances)
				sum += s.read(*p);
			write_series(e, f, s, s.labels, sum);
		}
	}
}

// One instance of S (the daemon's own counters, a snapshot).
template <class S>
void export_one(Exposition& e, const CounterTable<S>& table, const S& instance)
{
	const std::array<const S*, 1> one{&instance};
	export_table(e, table, one);
}

// One series per instance instead of their sum: `instances` holds
// (label value, S) pairs, and `label` = that value comes first in each
// series' labels (queue="3"). Within a family, instances in range order.
template <class S, class Range>
void export_each(Exposition& e, const CounterTable<S>& table, const Range& instances, std::string_view label)
{
	for (const CounterFamily<S>& f : table) {
		e.family(f.name, f.type, f.help);
		for (const auto& [value, stats] : instances)
			for (const auto& s : f.series) {
				Labels labels{{std::string(label), value}};
				labels.insert(labels.end(), s.labels.begin(), s.labels.end());
				write_series(e, f, s, labels, s.read(stats));
			}
	}
}

} // namespace sipguard::daemon::metrics
