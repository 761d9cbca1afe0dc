// SPDX-License-Identifier: GPL-2.0-or-later
// Verdict batching decision (see verdict_plan.h for the kernel rule it obeys).
#include "nfq/verdict_plan.h"

namespace sipguard::nfq {

size_t plan_verdicts(std::span<const PendingVerdict> pending, std::span<VerdictMsg> out)
{
	size_t n = 0;
	size_t run = 0; // accepts not yet sent
	uint32_t last_accept = 0;
	auto flush = [&] {
		if (run == 1)
			out[n++] = {last_accept, Verdict::Accept, false};
		else if (run > 1)
			out[n++] = {last_accept, Verdict::Accept, true};
		run = 0;
	};
	for (const PendingVerdict& p : pending) {
		if (p.verdict == Verdict::Accept) {
			last_accept = p.id;
			++run;
			continue;
		}
		flush();
		out[n++] = {p.id, p.verdict, false};
	}
	flush();
	return n;
}

} // namespace sipguard::nfq
