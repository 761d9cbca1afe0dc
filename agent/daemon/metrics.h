// SPDX-License-Identifier: GPL-2.0-or-later
// Prometheus text exposition (format 0.0.4) and the small counter types the
// daemon keeps itself. Per-thread counters live with their owner (engine
// shard, queue, writer); a scrape calls each registered collector, which sums
// them on read (Snort's pegs), so the packet path never takes a lock.
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

} // namespace sipguard::daemon::metrics
