/* Reading a package's object code before LLVM does (elf_tls.h). */
#include "runtime/elf_tls.h"

#include <string.h>

static uint64_t rd(const unsigned char *p, int n) /* little-endian */
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Object code that uses thread-local storage: sheaf's kernels never do,
 * and LLVM's loader cannot allocate it (it would report a fatal error).
 * Reads an ELF64 little-endian object's section headers and symbol
 * tables, every offset checked; anything else is left to LLVM. */
bool sf_elf_uses_tls(const unsigned char *o, size_t size)
{
    if (size < 64 || memcmp(o, "\177ELF", 4) || o[4] != 2 || o[5] != 1)
        return false;
    uint64_t shoff = rd(o + 40, 8), shentsize = rd(o + 58, 2), shnum = rd(o + 60, 2);
    if (shentsize < 64 || shoff > size || shnum > (size - shoff) / shentsize)
        return false;
    for (uint64_t i = 0; i < shnum; i++) {
        const unsigned char *sh = o + shoff + i * shentsize;
        uint64_t type = rd(sh + 4, 4), flags = rd(sh + 8, 8), off = rd(sh + 24, 8), len = rd(sh + 32, 8);
        if (flags & 0x400) /* SHF_TLS */
            return true;
        if (type != 2 || off > size || len > size - off) /* SHT_SYMTAB */
            continue;
        for (uint64_t s = 0; s + 24 <= len; s += 24)
            if ((o[off + s + 4] & 0xf) == 6) /* STT_TLS */
                return true;
    }
    return false;
}

