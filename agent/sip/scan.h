// SPDX-License-Identifier: GPL-2.0-or-later
// Internal scanning helpers shared by the SIP and SDP parsers: inline SSE2
// byte searches and class runs (fields are tens of bytes, too short for a
// libc call) and word-wise compares with literals and name tables.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string_view>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SIPGUARD_SCAN_WIDE_STORES 1
#endif

namespace sipguard::sip::scan {

// The first byte equal to `c` in [p, e), or nullptr. Never reads outside
// [p, e); 32 bytes a step while it can, as most lines end within two steps.
inline const char* find(const char* p, const char* e, char c)
{
#if defined(__SSE2__)
	const __m128i v = _mm_set1_epi8(c);
	for (const char* const stop = p + ((e - p) & ~std::ptrdiff_t{31}); p != stop; p += 32) {
		const unsigned lo = static_cast<unsigned>(
		    _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), v)));
		const unsigned hi = static_cast<unsigned>(
		    _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)), v)));
		if (const unsigned mask = lo | hi << 16)
			return p + __builtin_ctz(mask);
	}
	if (e - p >= 16) {
		const int mask = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), v));
		if (mask)
			return p + __builtin_ctz(static_cast<unsigned>(mask));
		p += 16;
	}
#endif
	for (; p < e; ++p)
		if (*p == c)
			return p;
	return nullptr;
}

// The first byte equal to `a` or `b` in [p, e), or nullptr.
inline const char* find2(const char* p, const char* e, char a, char b)
{
#if defined(__SSE2__)
	const __m128i va = _mm_set1_epi8(a);
	const __m128i vb = _mm_set1_epi8(b);
	while (e - p >= 16) {
		const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
		const int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)));
		if (mask)
			return p + __builtin_ctz(static_cast<unsigned>(mask));
		p += 16;
	}
#endif
	for (; p < e; ++p)
		if (*p == a || *p == b)
			return p;
	return nullptr;
}

// The same, reading 16-byte blocks up to `lim` (>= e, the end of readable
// memory) so a search near e needs no byte loop; a match at or past e is none.
inline const char* find2_in(const char* p, const char* e, const char* lim, char a, char b)
{
#if defined(__SSE2__)
	const __m128i va = _mm_set1_epi8(a);
	const __m128i vb = _mm_set1_epi8(b);
	for (; p < e && lim - p >= 16; p += 16) {
		const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
		if (const int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)))) {
			const char* const f = p + __builtin_ctz(static_cast<unsigned>(mask));
			return f < e ? f : nullptr;
		}
	}
#endif
	(void)lim;
	for (; p < e; ++p)
		if (*p == a || *p == b)
			return p;
	return nullptr;
}

#if defined(__SSE2__)
// 0xff in each byte of x in [Lo, Hi] (unsigned, Hi - Lo < 127), 0 elsewhere:
// one add moves [Lo, Hi] to the bottom of the signed range, one compare.
template <unsigned char Lo, unsigned char Hi>
inline __m128i in_range(__m128i x)
{
	static_assert(Lo <= Hi && Hi - Lo < 127);
	const __m128i t = _mm_add_epi8(x, _mm_set1_epi8(static_cast<char>(0x80 - Lo)));
	return _mm_cmplt_epi8(t, _mm_set1_epi8(static_cast<char>(0x80 + (Hi - Lo + 1))));
}

template <char C, char... Set>
constexpr bool has = ((C == Set) || ...);

// 0xff in each byte of x that is an ASCII digit, a letter (when Letters) or
// one of Extra..., 0 elsewhere. '-' and '.' (0x2d, 0x2e), when both are in
// Extra, share one range with the digits (0x30-0x39) less '/' (0x2f).
template <bool Letters, char... Extra>
inline __m128i class_mask(__m128i x)
{
	constexpr bool dash_dot = has<'-', Extra...> && has<'.', Extra...>;
	__m128i in;
	if constexpr (dash_dot)
		in = _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('/')), in_range<'-', '9'>(x));
	else
		in = in_range<'0', '9'>(x);
	if constexpr (Letters)
		in = _mm_or_si128(in, in_range<'a', 'z'>(_mm_or_si128(x, _mm_set1_epi8(0x20))));
	[[maybe_unused]] auto add = [&](char c) {
		if (!dash_dot || (c != '-' && c != '.'))
			in = _mm_or_si128(in, _mm_cmpeq_epi8(x, _mm_set1_epi8(c)));
	};
	(add(Extra), ...);
	return in;
}
#endif

// The first byte from p that is not an ASCII digit, a letter (when Letters)
// or one of Extra..., or e; blocks are classified up to `lim` (>= e, the end
// of readable memory). A fast subset of the callers' character classes.
template <bool Letters, char... Extra>
inline const char* skip_set(const char* p, const char* e, const char* lim)
{
#if defined(__SSE2__)
	// The first block before p is compared with e, the next ones while the
	// run has not passed e.
	while (lim - p >= 16) {
		const __m128i in = class_mask<Letters, Extra...>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
		const unsigned out = ~static_cast<unsigned>(_mm_movemask_epi8(in)) & 0xffffu;
		if (out) {
			p += __builtin_ctz(out);
			return p < e ? p : e;
		}
		p += 16;
		if (p >= e)
			return e;
	}
#endif
	(void)lim;
	for (; p < e; ++p) {
		const char c = *p;
		const bool letter = Letters && (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
		if (!((c >= '0' && c <= '9') || letter || ((c == Extra) || ...)))
			return p;
	}
	return e;
}

#if defined(__SSE2__)
// The bytes of the 32 at p (all readable) that skip_set<Letters, Extra...>
// would stop at, bit i for p[i]: two short runs found in one classification.
template <bool Letters, char... Extra>
inline uint32_t stops32(const char* p)
{
	const __m128i lo = class_mask<Letters, Extra...>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
	const __m128i hi = class_mask<Letters, Extra...>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)));
	return ~(static_cast<uint32_t>(_mm_movemask_epi8(lo)) | static_cast<uint32_t>(_mm_movemask_epi8(hi)) << 16);
}
#endif

// v.substr(pos, len) for pos <= v.size(), without substr's range check and
// its exception path, which GCC does not inline.
[[gnu::always_inline]] inline std::string_view sub(std::string_view v, size_t pos,
                                                   size_t len = std::string_view::npos)
{
	return {v.data() + pos, len < v.size() - pos ? len : v.size() - pos};
}

inline uint64_t load8(const char* p)
{
	uint64_t v;
	std::memcpy(&v, p, 8);
	return v;
}

// A lowercase literal usable as a template argument: ieq<"call-id">(p).
template <size_t N>
struct Lit {
	char s[N];
	constexpr Lit(const char (&x)[N])
	{
		for (size_t i = 0; i < N; ++i)
			s[i] = x[i];
	}
	static constexpr size_t size = N - 1;
	// Bytes [off, off+W) as a native-endian word, and the mask of its letter
	// bytes (0x20 where the literal has a lowercase letter).
	template <typename W>
	constexpr W word(size_t off) const
	{
		W v = 0;
		for (size_t i = 0; i < sizeof(W); ++i)
			v |= static_cast<W>(static_cast<unsigned char>(s[off + i])) << (8 * byte_index<W>(i));
		return v;
	}
	template <typename W>
	constexpr W mask(size_t off) const
	{
		W v = 0;
		for (size_t i = 0; i < sizeof(W); ++i)
			if (s[off + i] >= 'a' && s[off + i] <= 'z')
				v |= static_cast<W>(0x20) << (8 * byte_index<W>(i));
		return v;
	}
	template <typename W>
	static constexpr size_t byte_index(size_t i)
	{
		return std::endian::native == std::endian::little ? i : sizeof(W) - 1 - i;
	}
};

// One word of L at offset Off: (bytes | letter mask) == literal word, the
// constants folded at compile time; without Fold the mask is zero.
template <Lit L, size_t Off, typename W, bool Fold>
inline bool word_equal(const char* p)
{
	constexpr W word = L.template word<W>(Off);
	constexpr W mask = Fold ? L.template mask<W>(Off) : 0;
	W v;
	std::memcpy(&v, p + Off, sizeof(W));
	return (v | mask) == word;
}

// The L.size bytes at `p` (readable) equal the lowercase literal L, ASCII
// case ignored (exact without Fold): only bytes where L has a letter are
// OR-ed with 0x20, so it is exact for any input. Overlapping word loads.
template <Lit L, bool Fold = true>
inline bool ieq(const char* p)
{
	constexpr size_t n = L.size;
	static_assert(n >= 1 && n <= 24, "literal length");
	if constexpr (n >= 16)
		return word_equal<L, 0, uint64_t, Fold>(p) && word_equal<L, 8, uint64_t, Fold>(p)
		       && word_equal<L, n - 8, uint64_t, Fold>(p);
	else if constexpr (n >= 8)
		return word_equal<L, 0, uint64_t, Fold>(p) && word_equal<L, n - 8, uint64_t, Fold>(p);
	else if constexpr (n >= 4)
		return word_equal<L, 0, uint32_t, Fold>(p) && word_equal<L, n - 4, uint32_t, Fold>(p);
	else if constexpr (n >= 2)
		return word_equal<L, 0, uint16_t, Fold>(p) && word_equal<L, n - 2, uint16_t, Fold>(p);
	else
		return word_equal<L, 0, uint8_t, Fold>(p);
}

// Same, for a view of any length.
template <Lit L>
inline bool ieq(std::string_view v)
{
	return v.size() == L.size && ieq<L>(v.data());
}

// Names[I] (Names: a constexpr array of std::string_view) as a Lit,
// lowercased when Fold (for ieq), then Suffix unless it is '\0'.
template <const auto& Names, size_t I, bool Fold, char Suffix = '\0'>
constexpr auto lit_of()
{
	constexpr std::string_view n = Names[I];
	char s[n.size() + (Suffix ? 2 : 1)] = {};
	for (size_t k = 0; k < n.size(); ++k)
		s[k] = Fold && n[k] >= 'A' && n[k] <= 'Z' ? static_cast<char>(n[k] | 0x20) : n[k];
	if constexpr (Suffix != '\0')
		s[n.size()] = Suffix;
	return Lit(s);
}

namespace names {

template <const auto& Names, bool Fold, size_t Len, size_t I>
[[gnu::always_inline]] inline bool equal_at(const char* p)
{
	if constexpr (Names[I].size() != Len)
		return false;
	else
		return ieq<lit_of<Names, I, Fold>(), Fold>(p);
}

template <const auto& Names, bool Fold, size_t From, size_t Len, size_t... I>
[[gnu::always_inline]] inline size_t find_of_length(const char* p, std::index_sequence<I...>)
{
	size_t found = std::size(Names);
	(void)((equal_at<Names, Fold, Len, From + I>(p) && (found = From + I, true)) || ...);
	return found;
}

// A chain of compares of s.size() with each length a name has, which GCC
// and clang turn into one switch.
template <const auto& Names, bool Fold, size_t From, size_t Shortest, size_t... L>
[[gnu::always_inline]] inline size_t find_by_length(std::string_view s, std::index_sequence<L...>)
{
	constexpr auto entries = std::make_index_sequence<std::size(Names) - From>{};
	size_t found = std::size(Names);
	(void)((s.size() == Shortest + L
	        && (found = find_of_length<Names, Fold, From, Shortest + L>(s.data(), entries), true))
	       || ...);
	return found;
}

template <const auto& Names, size_t From>
constexpr size_t shortest()
{
	size_t n = SIZE_MAX;
	for (size_t i = From; i < std::size(Names); ++i)
		n = Names[i].size() < n ? Names[i].size() : n;
	return n;
}

template <const auto& Names, size_t From>
constexpr size_t longest()
{
	size_t n = 0;
	for (size_t i = From; i < std::size(Names); ++i)
		n = Names[i].size() > n ? Names[i].size() : n;
	return n;
}

} // namespace names

// The index of the name in Names[From..] (a constexpr array of 1-24 byte
// std::string_views) equal to `s`, ASCII case ignored when Fold, or
// std::size(Names): a switch on the length, one word compare per name.
template <const auto& Names, bool Fold, size_t From = 0>
inline size_t find_name(std::string_view s)
{
	constexpr size_t shortest = names::shortest<Names, From>();
	static_assert(shortest >= 1 && names::longest<Names, From>() <= 24);
	return names::find_by_length<Names, Fold, From, shortest>(
	    s, std::make_index_sequence<names::longest<Names, From>() - shortest + 1>{});
}

// Zeroes N bytes with 16-byte stores: a constant-size memset of a few
// hundred bytes becomes `rep stosq`, whose start-up cost is a large share
// of a short message's parse. Used to reset trivially copyable results.
// (GCC turns the loop back into `rep stosq` unless told not to.)
template <size_t N>
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
inline void zero_fixed(unsigned char* d)
{
#if defined(__SSE2__)
	const __m128i z = _mm_setzero_si128();
	size_t i = 0;
	// Fully unrolled: the loop counter and branch would otherwise double the
	// instruction count of a reset.
#pragma GCC unroll 128
	for (; i + 16 <= N; i += 16)
		_mm_storeu_si128(reinterpret_cast<__m128i*>(d + i), z);
	if constexpr (N % 16 != 0)
		std::memset(d + N - N % 16, 0, N % 16);
#else
	std::memset(d, 0, N);
#endif
}

// The same with 32-byte AVX2 stores, on CPUs that have them
// (wide_stores()): half as many stores, which is what a Message reset is
// bound by. Out of line and compiled for AVX2 alone, so the rest of the
// binary keeps running on any x86-64.
#if defined(SIPGUARD_SCAN_WIDE_STORES)
template <size_t N>
[[gnu::target("avx2"), gnu::noinline]]
#if !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
void zero_fixed_wide(unsigned char* d)
{
	static_assert(N >= 32);
	const __m256i z = _mm256_setzero_si256();
#pragma GCC unroll 64
	for (size_t i = 0; i + 32 <= N; i += 32)
		_mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i), z);
	if constexpr (N % 32 != 0) // the last bytes by one overlapping store
		_mm256_storeu_si256(reinterpret_cast<__m256i*>(d + N - 32), z);
}

// Whether the CPU has AVX2 (asked once).
inline bool wide_stores()
{
	static const bool has = [] {
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx2") != 0;
	}();
	return has;
}
#else
template <size_t N>
void zero_fixed_wide(unsigned char* d)
{
	zero_fixed<N>(d);
}

inline bool wide_stores()
{
	return false;
}
#endif

} // namespace sipguard::sip::scan
