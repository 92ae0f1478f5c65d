/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Addresses as the maps hold them: 16 bytes, IPv4 v4-mapped, so IPv4, IPv6
 * and a dual-stack socket's ::ffff:a.b.c.d share one key shape. */
#ifndef AIGW_BPF_LIB_ADDR_H
#define AIGW_BPF_LIB_ADDR_H

#define AF_INET 2
#define AF_INET6 10

static __always_inline void addr_v4mapped(__u8 out[16], __u32 addr_be)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &addr_be, 4);
}

static __always_inline bool addr_is_v4mapped(const __u32 a[4])
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0x0000ffff);
}

/* Context fields are written one 32-bit word at a time, each from ctx
 * itself: the verifier refuses access through a pointer derived from ctx
 * (the compiler's ctx + 8), and any wider access to user_ip6. */
static __always_inline void ctx_set_ip6(struct bpf_sock_addr *ctx, const __u8 a[16])
{
	__u32 w[4];

	__builtin_memcpy(w, a, 16);
	ctx->user_ip6[0] = w[0];
	asm volatile("" ::: "memory");
	ctx->user_ip6[1] = w[1];
	asm volatile("" ::: "memory");
	ctx->user_ip6[2] = w[2];
	asm volatile("" ::: "memory");
	ctx->user_ip6[3] = w[3];
}

static __always_inline bool addr_equal(const __u8 a[16], const __u8 b[16])
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1];
}

#endif
