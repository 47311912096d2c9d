#include "core/crc32c.h"

#include <string.h>

#define CRC32C_POLY_REFLECTED 0x82F63B78u

/* table[k][b]: CRC of byte b followed by k zero bytes (slicing-by-8). */
static uint32_t crc32c_table[8][256];
static bool crc32c_table_ready;

static void crc32c_table_init(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++) {
            c = (c & 1u) ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
        }
        crc32c_table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++) {
        for (int k = 1; k < 8; k++) {
            uint32_t prev = crc32c_table[k - 1][b];
            crc32c_table[k][b] = (prev >> 8) ^ crc32c_table[0][prev & 0xffu];
        }
    }
    crc32c_table_ready = true;
}

uint32_t weir_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    if (!crc32c_table_ready) {
        crc32c_table_init(); /* idempotent: a racing second init writes the same values */
    }
    const unsigned char *p = data;
    uint32_t c = ~crc;
    while (len >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        c = crc32c_table[7][lo & 0xffu] ^ crc32c_table[6][(lo >> 8) & 0xffu] ^
            crc32c_table[5][(lo >> 16) & 0xffu] ^ crc32c_table[4][lo >> 24] ^
            crc32c_table[3][p[4]] ^ crc32c_table[2][p[5]] ^ crc32c_table[1][p[6]] ^
            crc32c_table[0][p[7]];
        p += 8;
        len -= 8;
    }
    while (len-- > 0) {
        c = (c >> 8) ^ crc32c_table[0][(c ^ *p++) & 0xffu];
    }
    return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t weir_crc32c_hw(uint32_t crc, const void *data,
                                                          size_t len)
{
    const unsigned char *p = data;
    uint64_t c = ~crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8); /* x86 is little-endian, which is what the reflected CRC wants */
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len-- > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    }
    return ~c32;
}

bool weir_crc32c_hw_available(void)
{
    return __builtin_cpu_supports("sse4.2");
}
#else
uint32_t weir_crc32c_hw(uint32_t crc, const void *data, size_t len)
{
    return weir_crc32c_sw(crc, data, len);
}

bool weir_crc32c_hw_available(void)
{
    return false;
}
#endif

uint32_t weir_crc32c(uint32_t crc, const void *data, size_t len)
{
    static int hw = -1; /* decided once; the CPU does not change under us */
    if (hw < 0) {
        hw = weir_crc32c_hw_available() ? 1 : 0;
    }
    return hw ? weir_crc32c_hw(crc, data, len) : weir_crc32c_sw(crc, data, len);
}
