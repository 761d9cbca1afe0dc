// SPDX-License-Identifier: GPL-2.0-or-later
// The header block's line ends, found 64 bytes at a time (internal to
// parser.cpp).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "agent/sip/message.h"

namespace sipguard::sip {

namespace {

// The header block's line ends: one bit per LF of a 64-byte window, read
// only when the header loop reaches it (a body costs at most the rest of a
// window). Fast lines (see fast()) need no length, NUL or header-count
// check; next() finds any other line, out of line, for its caller to check.
// Windows are read in order and checked for a NUL (never legal in the head,
// §25.1), so nul() is the first NUL before any LF returned.
class LineEnds {
public:
	// A window and its fast LFs not yet taken.
	struct Cursor {
		const char* win;
		uint64_t bits;
	};
	struct Next {
		const char* lf; // nullptr: none before the limit
		Cursor cur;
	};

	// [base, end) may be read.
	LineEnds(const char* base, const char* end) : base_(base), end_(end), nul_(end), nul_from_(end) {}

	// The line at hs, starting after the last LF taken, is fast: its LF is
	// in the cursor's window or in one of the next ones, and is taken by
	// take(). `headers` are complete. When false, the line is taken by
	// next(), which sets a new cursor. A fast line
	//  - is at most kMaxHeaderLineBytes long (fast() reads at most that far
	//    past its start);
	//  - holds no NUL (fast windows have none, nor any window before them);
	//  - is followed by at least one byte of the buffer (an LF at the
	//    buffer's last byte is never fast);
	//  - cannot take the header count past its limit: a fast window is read
	//    when at most kMaxHeaderCount - 64 headers are complete (none after
	//    a NUL is seen), and at most 64 lines end in it.
	[[gnu::always_inline]] bool fast(Cursor& cur, const char* hs, size_t headers) const
	{
		if (cur.bits != 0) [[likely]]
			return true;
#if defined(__SSE2__)
		if (static_cast<ptrdiff_t>(headers) > fast_headers_)
			return false;
		// The next windows, while each has no NUL and the line is not too
		// long; the last one read from the buffer's last 64 bytes, shifted.
		for (;;) {
			const ptrdiff_t left = end_ - cur.win - 64; // from the next window on
			const char* const w = cur.win + 64;
			uint64_t m;
			if (left > 64) [[likely]] {
				if (!lf_bits_no_nul(w, m)) [[unlikely]]
					return false;
			} else {
				if (left <= 0 || !lf_bits_no_nul(end_ - 64, m)) // >= base_: cur.win is in the buffer
					return false;
				m = (m & ~(uint64_t{1} << 63)) >> (w - (end_ - 64));
			}
			cur = {w, m};
			if (m != 0) [[likely]]
				return true;
			if (w - hs > static_cast<ptrdiff_t>(kMaxHeaderLineBytes - 128))
				return false;
		}
#else
		(void)hs;
		(void)headers;
		return false;
#endif
	}

	[[gnu::always_inline]] static const char* take(Cursor& cur)
	{
		const char* const lf = cur.win + std::countr_zero(cur.bits);
		cur.bits &= cur.bits - 1;
		return lf;
	}

	// The start line's LF in the 64 bytes at `from` (before the buffer's end,
	// no NUL), and a cursor for the header lines after it; else false.
	[[gnu::always_inline]] bool first_in_window(const char* from, Next& out) const
	{
#if defined(__SSE2__)
		uint64_t m;
		if (end_ - from <= 64 || !lf_bits_no_nul(from, m) || m == 0)
			return false;
		out = {from + std::countr_zero(m), {from, m & (m - 1)}};
		return true;
#else
		(void)from;
		(void)out;
		return false;
#endif
	}

	// The first LF at or after `from` and before `limit` (<= the buffer's
	// end), and a cursor with the fast LFs after it; `headers` are
	// complete.
	[[gnu::noinline]] Next next(const char* from, const char* limit, size_t headers)
	{
		for (const char* w = from; w < limit; w += 64) {
			const Bits b = window(w);
			if (b.nul) [[unlikely]] {
				saw_nul_ = true;
				if (nul_ == end_)
					nul_ = first_nul(w, b.nul, nul_from_, end_);
			}
			if (b.lf == 0)
				continue;
			const char* const lf = w + std::countr_zero(b.lf);
			if (lf >= limit)
				break;
			// The LFs after it in the window are fast when allowed, except
			// one at the buffer's last byte.
			uint64_t rest = b.lf & (b.lf - 1);
			if (headers > kMaxHeaderCount - 64 || nul_ != end_) {
				fast_headers_ = -1; // for good: the count only grows, a NUL stays
				rest = 0;
			} else if (end_ - w <= 64) {
				rest &= ~(uint64_t{1} << (end_ - 1 - w));
			}
			return {lf, {w, rest}};
		}
		return {nullptr, {}};
	}

	// The header block starts at p, just after the start line's LF, which
	// was taken with cursor `cur`: NULs before p (in the start line, which
	// its own parser checks) do not count.
	Cursor begin_headers(Cursor cur, const char* p)
	{
		nul_from_ = p;
		if (saw_nul_) [[unlikely]] {
			nul_ = first_nul(cur.win, window(cur.win).nul, nul_from_, end_);
			if (nul_ != end_) {
				fast_headers_ = -1;
				cur.bits = 0;
			}
		}
		return cur;
	}

	// The first NUL from begin_headers() on in the windows read so far, or
	// the buffer's end.
	const char* nul() const { return nul_; }

private:
	struct Bits {
		uint64_t lf;
		uint64_t nul;
	};

#if defined(__SSE2__)
	[[gnu::always_inline]] static uint64_t lf_bits(__m128i x0, __m128i x1, __m128i x2, __m128i x3)
	{
		const __m128i lf = _mm_set1_epi8('\n');
		return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x0, lf))))
		       | static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x1, lf)))) << 16
		       | static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x2, lf)))) << 32
		       | static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x3, lf)))) << 48;
	}
	// The LF bits of the 64 bytes at w, unless they hold a NUL.
	[[gnu::always_inline]] static bool lf_bits_no_nul(const char* w, uint64_t& m)
	{
		const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
		const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 16));
		const __m128i x2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 32));
		const __m128i x3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 48));
		m = lf_bits(x0, x1, x2, x3);
		return !has_zero(x0, x1, x2, x3);
	}
	// Any zero byte: the unsigned minimum of the four blocks has one.
	[[gnu::always_inline]] static bool has_zero(__m128i x0, __m128i x1, __m128i x2, __m128i x3)
	{
		const __m128i lo = _mm_min_epu8(_mm_min_epu8(x0, x1), _mm_min_epu8(x2, x3));
		return _mm_movemask_epi8(_mm_cmpeq_epi8(lo, _mm_setzero_si128())) != 0;
	}
	[[gnu::always_inline]] static uint64_t eq_bits(__m128i x, char c)
	{
		return static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(c))));
	}
#endif

	// LF and NUL bits of the window at w, bits past the buffer's end clear;
	// near the end the buffer's last bytes are loaded and shifted instead.
	Bits window(const char* w) const
	{
#if defined(__SSE2__)
		if (end_ - base_ >= 64) {
			const char* const q = end_ - w >= 64 ? w : end_ - 64;
			const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
			const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16));
			const __m128i x2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 32));
			const __m128i x3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 48));
			Bits b{lf_bits(x0, x1, x2, x3) >> (w - q), 0};
			if (has_zero(x0, x1, x2, x3)) [[unlikely]]
				b.nul = (eq_bits(x0, '\0') | eq_bits(x1, '\0') << 16 | eq_bits(x2, '\0') << 32
				         | eq_bits(x3, '\0') << 48)
				        >> (w - q);
			return b;
		}
#endif
		Bits b{0, 0};
		const ptrdiff_t n = std::min<ptrdiff_t>(64, end_ - w);
#if defined(__SSE2__)
		if (end_ - base_ >= 16) {
			for (ptrdiff_t k = 0; k < n; k += 16) {
				const char* const p = w + k;
				const char* const q = end_ - p >= 16 ? p : end_ - 16;
				const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
				b.lf |= eq_bits(x, '\n') >> (p - q) << k;
				b.nul |= eq_bits(x, '\0') >> (p - q) << k;
			}
			return b;
		}
#endif
		for (ptrdiff_t k = 0; k < n; ++k) {
			b.lf |= static_cast<uint64_t>(w[k] == '\n') << k;
			b.nul |= static_cast<uint64_t>(w[k] == '\0') << k;
		}
		return b;
	}

	// The first NUL of z (the window at w) at or after `from`, or `end`.
	static const char* first_nul(const char* w, uint64_t z, const char* from, const char* end)
	{
		if (from > w) // bits before it dropped; a shift of 64 or more drops all
			z = from - w >= 64 ? 0 : z >> (from - w) << (from - w);
		return z ? w + std::countr_zero(z) : end;
	}

	const char* base_;
	const char* end_;
	ptrdiff_t fast_headers_ = kMaxHeaderCount - 64; // fast() reads windows only up to this many headers
	const char* nul_;
	const char* nul_from_; // no NUL counts before begin_headers()
	bool saw_nul_ = false;
};

} // namespace

} // namespace sipguard::sip
