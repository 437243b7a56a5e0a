/* CRC-32C (Castagnoli, the iSCSI/ext4/Btrfs checksum), slice-by-8. */
#ifndef NFC_CRC32C_H
#define NFC_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc of p[0..n) continuing from `crc` (0 to start). */
uint32_t nfc_crc32c(uint32_t crc, const void *p, size_t n);

#endif
