/*
 * cidr.h -- numeric addresses and CIDR blocks, IPv4 and IPv6.
 *
 * Every address is kept as 16 bytes: IPv4 as the IPv4-mapped IPv6 form
 * ::ffff:a.b.c.d, so one comparison serves a v4 peer on a v4 socket and
 * the same peer seen through a dual-stack v6 socket.
 */
#ifndef EKKO_CIDR_H
#define EKKO_CIDR_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

struct cidr {
	uint8_t		 addr[16];
	unsigned int	 prefix;	/* 0..128, in the 16-byte form */
};

int	 cidr_parse(const char *, struct cidr *, char *, size_t);
int	 cidr_match(const struct cidr *, const uint8_t *);
int	 cidr_match_list(const struct cidr *, size_t, const uint8_t *);
int	 cidr_addr_of(const struct sockaddr *, uint8_t *);
int	 cidr_format(const struct cidr *, char *, size_t);

#endif
