// CRC32C for LambdaStore: hardware (SSE4.2 crc32 instruction) with a slicing-by-8 fallback.
#include "ccrc32c.h"
#include <string.h>

#define LS_POLY 0x82F63B78u

static uint32_t ls_table[8][256];
static int ls_table_ready = 0;

static void ls_build_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ LS_POLY : (c >> 1);
        ls_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = ls_table[0][n];
        for (int k = 1; k < 8; k++) {
            c = ls_table[0][c & 0xFF] ^ (c >> 8);
            ls_table[k][n] = c;
        }
    }
    __atomic_store_n(&ls_table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t ls_crc32c_extend_portable(uint32_t crc, const void *data, size_t length) {
    if (!__atomic_load_n(&ls_table_ready, __ATOMIC_ACQUIRE)) ls_build_table();
    const uint8_t *p = (const uint8_t *)data;
    uint32_t c = crc ^ 0xFFFFFFFFu;
    while (length >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo ^= c;
        c = ls_table[7][lo & 0xFF] ^ ls_table[6][(lo >> 8) & 0xFF] ^
            ls_table[5][(lo >> 16) & 0xFF] ^ ls_table[4][lo >> 24] ^
            ls_table[3][hi & 0xFF] ^ ls_table[2][(hi >> 8) & 0xFF] ^
            ls_table[1][(hi >> 16) & 0xFF] ^ ls_table[0][hi >> 24];
        p += 8;
        length -= 8;
    }
    while (length--) c = ls_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

#if defined(__x86_64__)
#include <nmmintrin.h>
__attribute__((target("sse4.2")))
static uint32_t ls_crc32c_hw(uint32_t crc, const void *data, size_t length) {
    const uint8_t *p = (const uint8_t *)data;
    uint64_t c = crc ^ 0xFFFFFFFFu;
    while (length && ((uintptr_t)p & 7)) { c = _mm_crc32_u8((uint32_t)c, *p++); length--; }
    while (length >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        length -= 8;
    }
    while (length--) c = _mm_crc32_u8((uint32_t)c, *p++);
    return (uint32_t)c ^ 0xFFFFFFFFu;
}
#endif

static int ls_hw_state = -1; // -1 unknown, 0 no, 1 yes

int ls_crc32c_is_hardware(void) {
    int s = __atomic_load_n(&ls_hw_state, __ATOMIC_ACQUIRE);
    if (s < 0) {
#if defined(__x86_64__)
        __builtin_cpu_init();
        s = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
        s = 0;
#endif
        __atomic_store_n(&ls_hw_state, s, __ATOMIC_RELEASE);
    }
    return s;
}

uint32_t ls_crc32c_extend(uint32_t crc, const void *data, size_t length) {
#if defined(__x86_64__)
    if (ls_crc32c_is_hardware()) return ls_crc32c_hw(crc, data, length);
#endif
    return ls_crc32c_extend_portable(crc, data, length);
}
