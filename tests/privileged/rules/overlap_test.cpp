// SPDX-License-Identifier: GPL-2.0-or-later
// Privileged: overlapping prefix bans in every order and with every expiry order: the kernel's sets equal the projection and packets are dropped or delivered accordingly.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "rules/apply.h"
#include "rules/ban_diff.h"
#include "rules/elements.h"
#include "rules/projection.h"
#include "rules/reconcile.h"
#include "rules/table.h"
#include "tests/privileged/rules/kernel_table.h"
#include "tests/privileged/rules/probe_lab.h"

using namespace sipguard;
using namespace std::chrono_literals;

namespace {

// Inside and outside every prefix the tests ban (only inside the namespaces).
const std::vector<std::string> kProbes = {
	"172.16.5.1",    // in 172.16.5.0/24 and 172.16.0.0/12
	"172.16.200.1",  // in the /12 only
	"172.15.255.1",  // just below the /12
	"172.32.0.1",    // just above the /12
	"10.20.0.1",     // in 10.20.0.0/16 and 10.0.0.0/8
	"10.30.0.1",     // in the /8 only
	"11.0.0.1",      // outside
	"2001:db8:1::1", // in 2001:db8:1::/48 and 2001:db8::/32
	"2001:db8:2::1", // in the /32 only
	"2001:db9::1",   // outside both (inside ::/0)
};

net::Cidr cidr(const char* text)
{
	auto c = net::Cidr::parse(text);
	REQUIRE_MESSAGE(c.ok(), text);
	return *c;
}

std::string show(const std::vector<rules::ListedPiece>& listed)
{
	std::string s;
	for (const auto& p : listed)
		s += std::string(rules::set_name(p.set)) + " " + rules::piece_text(p.first, p.last) + " expires " +
		     std::to_string(p.expires_in.count()) + "ms\n";
	return s;
}

void sleep_until(rules::TimePoint t)
{
	auto d = t - rules::system_now();
	if (d > std::chrono::nanoseconds::zero())
		std::this_thread::sleep_for(d);
}

struct Matrix {
	test::ProbeLab lab{kProbes};
	std::vector<rules::BanRecord> records;

	Matrix()
	{
		rules::Status st = rules::install(lab.nl(), {}, lab.backend());
		REQUIRE_MESSAGE(st.ok(), st.message);
	}

	// What the daemon will do on every change: list, project, diff, apply.
	void apply()
	{
		const std::vector<rules::ListedPiece> listed = test::ban_pieces(lab.nl());
		rules::Projection p = rules::project(records, rules::system_now());
		rules::ElementDiff d = rules::diff_pieces(p.pieces, listed);
		rules::ApplyResult r = rules::apply_robust(lab.nl(), rules::diff_ops(d));
		REQUIRE_MESSAGE(r.ok(), (r.failures.empty() ? r.transport.message : r.failures[0].message));
		CHECK(r.transactions == (d.empty() ? 0u : 1u)); // no overlap left for the kernel to refuse
	}

	// The kernel's sets equal the projection now, and each probe is
	// dropped exactly when a record bans it now.
	void check(const char* step_name)
	{
		std::string step = step_name;
		CAPTURE(step);
		auto now = rules::system_now();
		const std::vector<rules::ListedPiece> listed = test::ban_pieces(lab.nl());
		rules::Projection p = rules::project(records, now);
		rules::ElementDiff d = rules::diff_pieces(p.pieces, listed, {.tolerance = 300ms});
		CHECK_MESSAGE(d.empty(), "kernel:\n", show(listed), d.missing(), " missing, ", d.extra(), " extra, ",
		              d.retimed, " retimed");
		auto got = lab.send_all(2);
		now = rules::system_now();
		for (const auto& probe : kProbes) {
			net::IpAddress a = *net::IpAddress::parse(probe);
			bool banned = false;
			for (const auto& r : records)
				banned = banned || (r.target.contains(a) && r.expires > now);
			CHECK_MESSAGE(got[probe] == (banned ? 0 : 2), probe, (banned ? " should be dropped" : " should pass"));
		}
	}

	void ban(const char* c, std::chrono::milliseconds for_)
	{
		records.push_back({cidr(c), rules::system_now() + for_});
	}
	void unban(const char* c)
	{
		std::erase_if(records, [&](const rules::BanRecord& r) { return r.target == cidr(c); });
	}
	void clear()
	{
		records.clear();
		apply();
		check("cleared");
	}
};

} // namespace

TEST_CASE("overlap matrix: nested prefixes in either order, an unbanned cover, ::/0; kernel and traffic follow the records")
{
	test::require_root_or_skip();
	Matrix m;
	m.check("empty");

	// /24 inside /12: the /12 used to be refused (EEXIST) and 172.16.200.1 delivered.
	m.ban("172.16.5.0/24", 600s);
	m.apply();
	m.check("/24");
	m.ban("172.16.0.0/12", 300s);
	m.apply();
	m.check("/24 then a shorter-lived /12");
	m.clear();

	// /12 then /24, and the /24 outliving the /12.
	m.ban("172.16.0.0/12", 300s);
	m.apply();
	m.check("/12");
	m.ban("172.16.5.0/24", 600s);
	m.apply();
	m.check("/12 then a longer-lived /24");
	m.clear();

	// /16 inside a live /8, then the /8 unbanned: the /16 must stay.
	m.ban("10.0.0.0/8", 600s);
	m.ban("10.20.0.0/16", 300s);
	m.apply();
	m.check("/16 inside /8");
	m.unban("10.0.0.0/8");
	m.apply();
	m.check("/8 unbanned, /16 left");
	m.clear();

	// ::/48 then ::/32, both lifetimes orders.
	m.ban("2001:db8:1::/48", 600s);
	m.apply();
	m.ban("2001:db8::/32", 300s);
	m.apply();
	m.check("/48 then a shorter-lived /32");
	m.unban("2001:db8::/32");
	m.ban("2001:db8::/32", 900s);
	m.apply();
	m.check("/48 inside a longer-lived /32");

	// ::/0 with a /48 active used to leave a partial interval.
	m.ban("::/0", 300s);
	m.apply();
	m.check("::/0 over a longer-lived /48 and /32");
	m.unban("::/0");
	m.apply();
	m.check("::/0 unbanned");
	m.clear();
}

TEST_CASE("expiry in every order: the kernel alone expires the pieces and still equals the projection")
{
	test::require_root_or_skip();
	Matrix m;
	// Short expiries; the agent does nothing after apply(). Each pair runs
	// both orders at once in disjoint space: covering first / covered first.
	m.ban("172.16.0.0/12", 2s);   // cover ends first
	m.ban("172.16.5.0/24", 4s);
	m.ban("10.0.0.0/8", 4s);      // covered ends first
	m.ban("10.20.0.0/16", 2s);
	m.ban("2001:db8::/32", 2s);   // cover ends first
	m.ban("2001:db8:1::/48", 4s);
	auto t0 = rules::system_now();
	m.apply();
	m.check("all live");
	sleep_until(t0 + 2500ms);
	m.check("after the 2 s expiries");
	sleep_until(t0 + 4500ms);
	m.check("after the 4 s expiries");

	// ::/0 ending before, then after, a /48 inside it.
	m.records.clear();
	m.ban("::/0", 2s);
	m.ban("2001:db8:1::/48", 4s);
	t0 = rules::system_now();
	m.apply();
	m.check("::/0 and /48 live");
	sleep_until(t0 + 2500ms);
	m.check("::/0 expired, /48 left");
	m.records.clear();
	m.ban("::/0", 4s);
	m.ban("2001:db8:1::/48", 2s);
	t0 = rules::system_now();
	m.apply();
	sleep_until(t0 + 2500ms);
	m.check("/48 expired inside a live ::/0");
	sleep_until(t0 + 4500ms);
	m.check("both expired");
}
