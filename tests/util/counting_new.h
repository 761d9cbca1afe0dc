// SPDX-License-Identifier: GPL-2.0-or-later
// Counting replacements for every replaceable global allocation function, for
// the tests that check a steady state allocates nothing. Include this header in
// exactly one translation unit of a test binary: it defines the replacements,
// which then count every allocation of the process, whichever form (array,
// nothrow, over-aligned) a library picks, and every form of operator delete
// frees what any form of operator new returned.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace sipguard::test {

// Calls to any form of operator new since the program started.
inline std::atomic<uint64_t> g_heap_allocations{0};

inline void* counted_alloc(std::size_t n, std::size_t align) noexcept
{
	g_heap_allocations.fetch_add(1, std::memory_order_relaxed);
	if (n == 0)
		n = 1;
	if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__)
		return std::malloc(n);
	// aligned_alloc wants a size that is a multiple of the alignment.
	return std::aligned_alloc(align, (n + align - 1) / align * align);
}

inline void* counted_alloc_or_throw(std::size_t n, std::size_t align)
{
	if (void* p = counted_alloc(n, align))
		return p;
	throw std::bad_alloc();
}

inline constexpr std::size_t kDefaultNewAlign = __STDCPP_DEFAULT_NEW_ALIGNMENT__;

} // namespace sipguard::test

// The replacements stay out of line: inlined into a caller (std::allocator,
// make_shared), GCC 12 sees free() on a pointer from ::operator new and
// reports -Wmismatched-new-delete. Replacements may not be declared inline.
[[gnu::noinline]] void* operator new(std::size_t n) { return sipguard::test::counted_alloc_or_throw(n, sipguard::test::kDefaultNewAlign); }
[[gnu::noinline]] void* operator new[](std::size_t n) { return sipguard::test::counted_alloc_or_throw(n, sipguard::test::kDefaultNewAlign); }
[[gnu::noinline]] void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return sipguard::test::counted_alloc(n, sipguard::test::kDefaultNewAlign); }
[[gnu::noinline]] void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return sipguard::test::counted_alloc(n, sipguard::test::kDefaultNewAlign); }
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t a) { return sipguard::test::counted_alloc_or_throw(n, static_cast<std::size_t>(a)); }
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t a) { return sipguard::test::counted_alloc_or_throw(n, static_cast<std::size_t>(a)); }
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept { return sipguard::test::counted_alloc(n, static_cast<std::size_t>(a)); }
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept { return sipguard::test::counted_alloc(n, static_cast<std::size_t>(a)); }

[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
