/* crc32: CRC-32/IEEE (reflected polynomial 0xEDB88320), bit-for-bit the same as Go's
 * hash/crc32.ChecksumIEEE and crc32.Update(crc, crc32.IEEETable, p).
 *
 * Used where GOST hashes with CRC-32 (the `hash` selector strategy, ...). Pure functions, no
 * state, safe from any thread.
 */
#ifndef GOST_CORE_CRC32_H
#define GOST_CORE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Checksum of `len` bytes at `data` (borrowed; may be NULL when len is 0).
 * crc32_ieee("123456789", 9) == 0xCBF43926. */
uint32_t crc32_ieee(const void *data, size_t len);

/* Continues a checksum: `crc` is the result of a previous call (0 to start), like Go's
 * crc32.Update. crc32_ieee_update(crc32_ieee(a, n), b, m) == crc32_ieee(a || b, n + m). */
uint32_t crc32_ieee_update(uint32_t crc, const void *data, size_t len);

#endif
