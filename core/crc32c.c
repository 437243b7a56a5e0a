/* CRC-32C, reflected polynomial 0x82f63b78, slice-by-8: eight table lookups
 * per 8 bytes, about 1 byte per cycle, plenty next to zstd. Chosen over
 * zlib's CRC-32 for its better error detection on the short bursts a disk
 * returns, and so the spool does not depend on zlib for one function. */
#include <pthread.h>
#include <string.h>

#include "crc32c.h"

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0x82f63b78u ^ (c >> 1) : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

uint32_t nfc_crc32c(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t c = ~crc;

	pthread_once(&table_once, table_init);
	for (; n && ((uintptr_t)b & 7); n--)
		c = table[0][(c ^ *b++) & 0xff] ^ (c >> 8);
	for (; n >= 8; n -= 8, b += 8) {
		uint32_t lo, hi;

		/* little-endian loads (x86, arm64); the tables are for that order */
		memcpy(&lo, b, 4);
		memcpy(&hi, b + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		lo = __builtin_bswap32(lo);
		hi = __builtin_bswap32(hi);
#endif
		lo ^= c;
		c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
		    table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
		    table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
	}
	while (n--)
		c = table[0][(c ^ *b++) & 0xff] ^ (c >> 8);
	return ~c;
}
