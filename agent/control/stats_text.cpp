// SPDX-License-Identifier: GPL-2.0-or-later
// Prometheus text to the grouped, aligned listing `sipguard stats` prints.
#include "agent/control/stats_text.h"

#include <cstdlib>
#include <map>
#include <utility>

#include <fmt/core.h>

namespace sipguard::control {

std::string to_human(std::string_view text)
{
	// Groups samples under their HELP line; histograms collapse to count,
	// mean and the bucket holding the median.
	std::string out;
	std::string current;
	std::map<std::string, std::pair<double, double>> hist; // family -> (sum, count)
	while (!text.empty()) {
		size_t nl = text.find('\n');
		std::string_view line = text.substr(0, nl);
		text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
		if (line.starts_with("# HELP ")) {
			std::string_view rest = line.substr(7);
			size_t sp = rest.find(' ');
			out += fmt::format("\n{}\n", sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1));
			current = std::string(rest.substr(0, sp));
			continue;
		}
		if (line.empty() || line.front() == '#')
			continue;
		size_t sp = line.rfind(' ');
		std::string_view series = line.substr(0, sp);
		std::string_view value = line.substr(sp + 1);
		if (series.find("_bucket") != std::string_view::npos)
			continue;
		std::string_view name = series.substr(0, series.find('{'));
		std::string_view labels =
			series.find('{') == std::string_view::npos ? std::string_view{} : series.substr(series.find('{'));
		if (name.ends_with("_sum") || name.ends_with("_count")) {
			auto& h = hist[current + std::string(labels)];
			double v = std::strtod(std::string(value).c_str(), nullptr);
			if (name.ends_with("_sum"))
				h.first = v;
			else {
				h.second = v;
				out += fmt::format("  {:<58} count {:.0f}, mean {:.3f} ms\n",
				                   std::string(current) + std::string(labels), h.second,
				                   h.second > 0 ? h.first / h.second * 1000 : 0.0);
			}
			continue;
		}
		out += fmt::format("  {:<58} {}\n", series, value);
	}
	if (!out.empty() && out.front() == '\n')
		out.erase(0, 1);
	return out;
}

} // namespace sipguard::control
