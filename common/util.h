/*
 * util.h -- small helpers shared by ekkod and ekko.
 */
#ifndef EKKO_UTIL_H
#define EKKO_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

uint64_t	 util_now_ms(void);
uint64_t	 util_now_ns(void);
int		 util_parse_long(const char *, long, long, long *);
int		 util_parse_seconds(const char *, double, int *);
size_t		 util_strlcpy(char *, const char *, size_t);
size_t		 util_utf8_len(const unsigned char *, size_t);
void		 util_text_safe(char *, const uint8_t *, size_t, int);
int		 util_write_all(int, const void *, size_t);

#endif
