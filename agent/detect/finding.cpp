// SPDX-License-Identifier: GPL-2.0-or-later
// Detector names and the JSON/text rendering of a finding's evidence.
#include "agent/detect/finding.h"

#include <algorithm>
#include <array>

#include <fmt/core.h>

#include "agent/detect/text.h"
#include "agent/util/json_string.h"

namespace sipguard::detect {

namespace {

constexpr std::array<std::string_view, kDetectorCount> kNames{
	"scanner", "enumeration", "brute_force", "flood", "malformed", "forged_control", "manual", "call-limit", "account",
	"fraud",
};

} // namespace

std::string_view to_string(Detector d)
{
	size_t i = static_cast<size_t>(d);
	return i < kNames.size() ? kNames[i] : "unknown";
}

bool detector_from_string(std::string_view text, Detector& out)
{
	for (size_t i = 0; i < kNames.size(); ++i)
		if (kNames[i] == text) {
			out = static_cast<Detector>(i);
			return true;
		}
	return false;
}

void Evidence::add_count(std::string_view static_name, int64_t value)
{
	for (uint8_t i = 0; i < count_n; ++i)
		if (counts[i].name == static_name) {
			counts[i].value = value;
			return;
		}
	if (count_n < kMaxCounts)
		counts[count_n++] = Count{static_name, value};
}

void Evidence::add_sample(std::string_view static_name, std::string_view text)
{
	if (sample_n >= kMaxSamples || text.empty())
		return;
	Sample& s = samples[sample_n++];
	s.name = static_name;
	s.len = static_cast<uint8_t>(std::min(text.size(), kSampleBytes));
	for (size_t i = 0; i < s.len; ++i)
		s.text[i] = printable(text[i]);
}

void Evidence::append_json(std::string& out) const
{
	out += '{';
	bool first = true;
	auto sep = [&] {
		if (!first)
			out += ',';
		first = false;
	};
	if (window.count() > 0) {
		sep();
		out += fmt::format("\"window_s\":{}", static_cast<double>(window.count()) / 1000.0);
	}
	for (uint8_t i = 0; i < count_n; ++i) {
		sep();
		util::append_json_string(out, counts[i].name);
		out += fmt::format(":{}", counts[i].value);
	}
	if (sample_n > 0) {
		sep();
		out += "\"samples\":{";
		// Group samples of one name into an array, in first-seen order.
		bool first_name = true;
		for (uint8_t i = 0; i < sample_n; ++i) {
			bool seen = false;
			for (uint8_t j = 0; j < i; ++j)
				seen = seen || samples[j].name == samples[i].name;
			if (seen)
				continue;
			if (!first_name)
				out += ',';
			first_name = false;
			util::append_json_string(out, samples[i].name);
			out += ":[";
			bool first_val = true;
			for (uint8_t j = i; j < sample_n; ++j) {
				if (samples[j].name != samples[i].name)
					continue;
				if (!first_val)
					out += ',';
				first_val = false;
				util::append_json_string(out, samples[j].view());
			}
			out += ']';
		}
		out += '}';
	}
	out += '}';
}

void Evidence::append_text(std::string& out) const
{
	bool first = true;
	auto sep = [&] {
		if (!first)
			out += ' ';
		first = false;
	};
	for (uint8_t i = 0; i < count_n; ++i) {
		sep();
		out += fmt::format("{}={}", counts[i].name, counts[i].value);
	}
	if (window.count() > 0) {
		sep();
		out += fmt::format("window={}s", static_cast<double>(window.count()) / 1000.0);
	}
	for (uint8_t i = 0; i < sample_n; ++i) {
		sep();
		out += fmt::format("{}={}", samples[i].name, samples[i].view());
	}
}

} // namespace sipguard::detect
