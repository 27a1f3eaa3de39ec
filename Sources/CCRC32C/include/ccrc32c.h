#ifndef LAMBDASTORE_CCRC32C_H
#define LAMBDASTORE_CCRC32C_H
#include <stddef.h>
#include <stdint.h>

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI, ext4 and LevelDB.
/// `crc` is the running value of a previous call (start with 0); init/final XOR with
/// 0xFFFFFFFF is applied inside, so `ls_crc32c_extend(ls_crc32c_extend(0, a), b)` equals the
/// CRC of `a` followed by `b`. Uses SSE4.2 when the CPU has it, a slicing-by-8 table otherwise.
uint32_t ls_crc32c_extend(uint32_t crc, const void *data, size_t length);

/// The portable table path, exposed so tests can check both paths agree.
uint32_t ls_crc32c_extend_portable(uint32_t crc, const void *data, size_t length);

/// 1 when the hardware path is in use.
int ls_crc32c_is_hardware(void);

/// Asks the CPU to start fetching the cache line holding `p` for a read (a hint: no effect on
/// results, never faults). Lives here as the package's one C module for small shims.
static inline void ls_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
