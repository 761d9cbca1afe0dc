// SPDX-License-Identifier: GPL-2.0-or-later
// The toll-fraud guard's metric families. Labels are bounded: a decision, a
// number class, a country table label, a list name from the config, a
// pattern name; never a number or an account.
#include <string>

#include "agent/daemon/exporter.h"
#include "agent/daemon/runtime.h"

namespace sipguard::daemon {

namespace {

using metrics::Type;

std::string country_label(const std::string& c) { return c.empty() ? "none" : c; }

} // namespace

void export_fraud(metrics::Exposition& e, const Runtime& rt)
{
	const engine::FraudGate* gate = rt.fraud ? rt.fraud->gate() : nullptr;
	const fraud::Guard* guard = rt.fraud ? rt.fraud->guard() : nullptr;
	const fraud::Counters c = guard ? guard->counters() : fraud::Counters{};

	e.family("sipguard_fraud_decisions_total", Type::Counter,
	         "Calls the toll-fraud guard decided, by decision and class of the dialled number.");
	for (size_t v = 0; v < fraud::kVerdictCount; ++v)
		for (size_t k = 0; k < fraud::kNumberClassCount; ++k) {
			const auto verdict = static_cast<fraud::Verdict>(v);
			const auto cls = static_cast<fraud::NumberClass>(k);
			e.sample("sipguard_fraud_decisions_total",
			         {{"decision", std::string(fraud::to_string(verdict))}, {"class", std::string(fraud::to_string(cls))}},
			         static_cast<double>(gate ? gate->decisions(verdict, cls) : 0));
		}
	struct PerCountry {
		const char* name;
		const char* help;
		uint64_t fraud::Summary::*value;
	};
	for (const PerCountry& f : {PerCountry{"sipguard_fraud_calls_total",
	                                       "Answered calls, by country (the country table's label, none: internal) and class.",
	                                       &fraud::Summary::calls},
	                            PerCountry{"sipguard_fraud_call_seconds_total",
	                                       "Answered time of ended calls in seconds, by country and class.",
	                                       &fraud::Summary::seconds}}) {
		e.family(f.name, Type::Counter, f.help);
		for (const fraud::Summary& s : c.summaries)
			e.sample(f.name,
			         {{"country", country_label(s.country)}, {"class", std::string(fraud::to_string(s.number_class))}},
			         static_cast<double>(s.*f.value));
	}
	e.family("sipguard_fraud_locks", Type::Gauge, "Accounts locked by the toll-fraud guard now.");
	e.sample("sipguard_fraud_locks", static_cast<double>(guard ? guard->locks(wall_now()).size() : 0));
	e.family("sipguard_fraud_locks_total", Type::Counter, "Account locks imposed since start.");
	e.sample("sipguard_fraud_locks_total", static_cast<double>(c.locks));
	e.family("sipguard_fraud_locked_calls_total", Type::Counter, "Calls of locked accounts stopped.");
	e.sample("sipguard_fraud_locked_calls_total", static_cast<double>(c.locked_stopped));
	e.family("sipguard_fraud_bad_number_hits_total", Type::Counter, "Calls to a bad-number list's entries, by list.");
	for (const auto& [name, hits] : c.bad_list_hits)
		e.sample("sipguard_fraud_bad_number_hits_total", {{"list", name}}, static_cast<double>(hits));
	e.family("sipguard_fraud_pattern_findings_total", Type::Counter,
	         "Per-account pattern thresholds reached, by pattern and level (warning: alert, critical: lock).");
	for (size_t p = 0; p < fraud::kPatternCount; ++p) {
		const std::string name(fraud::to_string(static_cast<fraud::Pattern>(p)));
		e.sample("sipguard_fraud_pattern_findings_total", {{"pattern", name}, {"level", "warning"}},
		         static_cast<double>(c.pattern_warn[p]));
		e.sample("sipguard_fraud_pattern_findings_total", {{"pattern", name}, {"level", "critical"}},
		         static_cast<double>(c.pattern_critical[p]));
	}
	e.family("sipguard_fraud_live_calls", Type::Gauge, "Calls the guard follows (set up and not ended).");
	e.sample("sipguard_fraud_live_calls", static_cast<double>(c.live_calls));
	e.family("sipguard_fraud_evictions_total", Type::Counter, "Entries evicted from the guard's full tables.");
	e.sample("sipguard_fraud_evictions_total", {{"table", "accounts"}}, static_cast<double>(c.account_evictions));
	e.sample("sipguard_fraud_evictions_total", {{"table", "live_calls"}}, static_cast<double>(c.live_call_evictions));
	e.family("sipguard_fraud_list_reloads_total", Type::Counter, "Bad-number list reloads applied.");
	e.sample("sipguard_fraud_list_reloads_total", static_cast<double>(c.bad_list_reloads));
}

} // namespace sipguard::daemon
