// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the toll-fraud guard: any bytes as a dialled number
// (first byte: which plan, UK or NANP, and which account), through
// normalise(), classification and Guard::decide(). Asserts the number is
// E.164 digits of at most 15, every unparsable number says why, normalising
// "+<e164>" again gives the same number and country, and emergency numbers
// are never dropped.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "agent/fraud/guard.h"
#include "agent/fraud/number.h"

using namespace sipguard;
using namespace sipguard::fraud;

namespace {

Config plan_config(bool nanp)
{
	Config c;
	c.enabled = true;
	c.data_dir = SIPGUARD_FRAUD_DATA;
	c.country_code = nanp ? "1" : "44";
	c.national_prefix = nanp ? "1" : "0";
	c.international_prefixes = {nanp ? "011" : "00"};
	c.dial_out_prefix = nanp ? "" : "9";
	c.emergency = {"101"};
	c.allow_countries = {"FR", "1876"};
	c.business_hours = "08:00-18:00";
	c.pattern.calls_per_minute = {3, 6};
	c.max_accounts = 64;
	c.max_live_calls = 64;
	c.max_locks = 16;
	return c;
}

struct State {
	std::unique_ptr<Guard> guard[2];
	std::unique_ptr<NumberingPlan> plan[2];
	int64_t clock = 1796637600;
	uint64_t calls = 0;

	State()
	{
		for (int i = 0; i < 2; ++i) {
			const Config c = plan_config(i == 1);
			auto g = Guard::create(c);
			if (!g)
				std::abort();
			guard[i] = std::move(*g);
			std::vector<std::string> paths;
			for (const auto& t : c.number_tables)
				paths.push_back(c.data_dir + "/" + t);
			auto tables = NumberTables::load(paths);
			if (!tables)
				std::abort();
			auto p = NumberingPlan::create(c, *tables);
			if (!p)
				std::abort();
			plan[i] = std::make_unique<NumberingPlan>(std::move(*p));
		}
	}
};

void check_number(const NumberingPlan& plan, const Number& n)
{
	if (n.length > kMaxDigits || n.digits[n.length] != '\0')
		__builtin_trap();
	for (size_t i = 0; i < n.length; ++i)
		if (n.digits[i] < '0' || n.digits[i] > '9')
			__builtin_trap();
	if (n.number_class == NumberClass::Unparsable && n.why.empty())
		__builtin_trap();
	const bool needs_digits = n.number_class != NumberClass::Unparsable && n.number_class != NumberClass::Internal &&
	                          n.number_class != NumberClass::Emergency;
	if (needs_digits != (n.length > 0))
		__builtin_trap();
	if (needs_digits) {
		// The E.164 form is a fixed point.
		std::string plus = "+" + std::string(n.e164());
		Number again;
		plan.normalise(plus, again);
		if (again.e164() != n.e164() || again.country != n.country)
			__builtin_trap();
	}
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	static State state;
	if (size == 0)
		return 0;
	const int which = data[0] & 1;
	const std::string account = "acct" + std::to_string((data[0] >> 1) & 7);
	const std::string_view dialled(reinterpret_cast<const char*>(data + 1), size - 1);

	Number n;
	state.plan[which]->normalise(dialled, n);
	check_number(*state.plan[which], n);

	CallAttempt a;
	a.dialled = dialled;
	a.account = account;
	const std::string call_id = "fuzz-" + std::to_string(state.calls++);
	a.call_id = call_id;
	a.source_class = (data[0] & 0x40) ? SourceClass::Trunk : SourceClass::Extension;
	a.direction = (data[0] & 0x80) ? CallDirection::ToTrunk : CallDirection::ToPbx;
	state.clock += data[0] & 0x0f;
	const util::TimePoint now{std::chrono::seconds(state.clock)};
	Guard& g = *state.guard[which];
	const Decision d = g.decide(a, now);
	if (n.number_class == NumberClass::Emergency && d.drop())
		__builtin_trap();
	if (d.has_event && (d.event.dialled.back() != '\0' || d.event.number.back() != '\0'))
		__builtin_trap();
	if (d.has_event && d.event.to_json().empty())
		__builtin_trap();
	if (!d.drop())
		g.on_answered(call_id, now);
	if (data[0] & 0x20)
		g.on_ended(call_id, now);
	if ((state.calls & 63) == 0) {
		g.on_tick(now);
		(void)g.unlock(account);
	}
	return 0;
}
