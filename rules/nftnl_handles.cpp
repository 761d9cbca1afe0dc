// SPDX-License-Identifier: GPL-2.0-or-later
// Allocation helpers for the libnftnl owners; allocation failure is fatal like operator new.
#include "rules/nftnl_handles.h"

#include <new>

namespace sipguard::rules {

namespace {
template <typename Ptr, typename T>
Ptr checked(T* p)
{
	if (!p)
		throw std::bad_alloc();
	return Ptr(p);
}
} // namespace

TablePtr make_table() { return checked<TablePtr>(nftnl_table_alloc()); }
ChainPtr make_chain() { return checked<ChainPtr>(nftnl_chain_alloc()); }
SetPtr make_set() { return checked<SetPtr>(nftnl_set_alloc()); }
SetElemPtr make_set_elem() { return checked<SetElemPtr>(nftnl_set_elem_alloc()); }
RulePtr make_rule() { return checked<RulePtr>(nftnl_rule_alloc()); }
ExprPtr make_expr(const char* name) { return checked<ExprPtr>(nftnl_expr_alloc(name)); }

} // namespace sipguard::rules
