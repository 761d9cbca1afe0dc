// SPDX-License-Identifier: GPL-2.0-or-later
// Move-only owners for libnftnl objects (unique_ptr with the matching free function).
#pragma once

#include <memory>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

namespace sipguard::rules {

namespace detail {
// libnftnl's free functions take `const T*`, so the function is a value parameter.
template <typename T, auto Free>
struct Deleter {
	void operator()(T* p) const noexcept { Free(p); }
};
} // namespace detail

// Unlike a bare unique_ptr these are only made through the alloc helpers
// below, which never return null (allocation failure aborts like operator new).
using TablePtr = std::unique_ptr<nftnl_table, detail::Deleter<nftnl_table, nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, detail::Deleter<nftnl_chain, nftnl_chain_free>>;
using SetPtr = std::unique_ptr<nftnl_set, detail::Deleter<nftnl_set, nftnl_set_free>>;
using SetElemPtr = std::unique_ptr<nftnl_set_elem, detail::Deleter<nftnl_set_elem, nftnl_set_elem_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, detail::Deleter<nftnl_rule, nftnl_rule_free>>;
using ExprPtr = std::unique_ptr<nftnl_expr, detail::Deleter<nftnl_expr, nftnl_expr_free>>;
using UdataPtr = std::unique_ptr<nftnl_udata_buf, detail::Deleter<nftnl_udata_buf, nftnl_udata_buf_free>>;

TablePtr make_table();
ChainPtr make_chain();
SetPtr make_set();
SetElemPtr make_set_elem();
RulePtr make_rule();
ExprPtr make_expr(const char* name);

} // namespace sipguard::rules
