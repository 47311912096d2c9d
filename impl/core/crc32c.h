/* CRC-32C (Castagnoli), the checksum of Kafka's v2 record batches and of
 * producer-state snapshots.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run
 * time), a slicing-by-8 table otherwise. Both give identical results; the
 * tests compare them on the standard vectors and on random buffers.
 */
#ifndef WEIR_CORE_CRC32C_H
#define WEIR_CORE_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over len bytes. crc32c("123456789") = 0xE3069283. */
uint32_t weir_crc32c(uint32_t crc, const void *data, size_t len);

/* The table implementation, always available (tests and benchmarks). */
uint32_t weir_crc32c_sw(uint32_t crc, const void *data, size_t len);

/* The hardware implementation; only call it when weir_crc32c_hw_available(). */
uint32_t weir_crc32c_hw(uint32_t crc, const void *data, size_t len);
bool weir_crc32c_hw_available(void);

#endif
