// CRC32C for LambdaStore: hardware (SSE4.2 crc32 instruction, three interleaved lanes on long
// inputs) with a slicing-by-8 fallback.
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
#include <pthread.h>

// The crc32 instruction has a latency of 3 cycles and a throughput of 1 per cycle, so one
// dependent chain runs at a third of the hardware's speed. Large inputs are therefore cut into
// three equal lanes checksummed side by side and joined by linearity: the register after
// `A || B` is `shift_|B|(reg after A) ^ (reg after B started from 0)`, where `shift_n` feeds
// n zero bytes. Each `shift_n` (n = LS_LONG or LS_SHORT) is linear over GF(2), tabulated per
// byte of the 32-bit register.
#define LS_LONG 8192
#define LS_SHORT 256
static uint32_t ls_shift_long[4][256];
static uint32_t ls_shift_short[4][256];
static pthread_once_t ls_shift_once = PTHREAD_ONCE_INIT;

__attribute__((target("sse4.2")))
static uint32_t ls_zeros_hw(uint32_t reg, size_t n) {  // n a multiple of 8
    uint64_t c = reg;
    for (size_t i = 0; i < n; i += 8) c = _mm_crc32_u64(c, 0);
    return (uint32_t)c;
}

static void ls_fill_shift(uint32_t table[4][256], size_t n) {
    uint32_t basis[32];
    for (int j = 0; j < 32; j++) basis[j] = ls_zeros_hw(1u << j, n);
    for (int k = 0; k < 4; k++) {
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t v = 0;
            for (int i = 0; i < 8; i++) if (b & (1u << i)) v ^= basis[8 * k + i];
            table[k][b] = v;
        }
    }
}

static void ls_build_shift(void) {
    ls_fill_shift(ls_shift_long, LS_LONG);
    ls_fill_shift(ls_shift_short, LS_SHORT);
}

static inline uint32_t ls_shift(uint32_t table[4][256], uint32_t c) {
    return table[0][c & 0xFF] ^ table[1][(c >> 8) & 0xFF] ^ table[2][(c >> 16) & 0xFF] ^ table[3][c >> 24];
}

static inline uint64_t ls_load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

// Checksums `3 * block` bytes at `*p` as three lanes from register `c`, joins them with the
// `shift_block` table and advances `*p`.
__attribute__((target("sse4.2")))
static inline uint64_t ls_crc3(uint64_t c, const uint8_t **p, size_t block, uint32_t table[4][256]) {
    const uint8_t *q = *p, *end = q + block;
    uint64_t c0 = c, c1 = 0, c2 = 0;
    do {
        c0 = _mm_crc32_u64(c0, ls_load64(q));
        c1 = _mm_crc32_u64(c1, ls_load64(q + block));
        c2 = _mm_crc32_u64(c2, ls_load64(q + 2 * block));
        q += 8;
    } while (q < end);
    c = ls_shift(table, (uint32_t)c0) ^ (uint32_t)c1;
    c = ls_shift(table, (uint32_t)c) ^ (uint32_t)c2;
    *p = q + 2 * block;
    return c;
}

__attribute__((target("sse4.2")))
static uint32_t ls_crc32c_hw(uint32_t crc, const void *data, size_t length) {
    const uint8_t *p = (const uint8_t *)data;
    uint64_t c = crc ^ 0xFFFFFFFFu;
    while (length && ((uintptr_t)p & 7)) { c = _mm_crc32_u8((uint32_t)c, *p++); length--; }
    if (length >= 3 * LS_SHORT) {
        pthread_once(&ls_shift_once, ls_build_shift);
        for (; length >= 3 * LS_LONG; length -= 3 * LS_LONG) c = ls_crc3(c, &p, LS_LONG, ls_shift_long);
        for (; length >= 3 * LS_SHORT; length -= 3 * LS_SHORT) c = ls_crc3(c, &p, LS_SHORT, ls_shift_short);
    }
    while (length >= 8) {
        c = _mm_crc32_u64(c, ls_load64(p));
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
