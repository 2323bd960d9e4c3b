/* Reading a package's object code before LLVM does (elf_check.h). */
#include "runtime/elf_check.h"

#include <stdio.h>
#include <string.h>

static uint64_t rd(const unsigned char *p, int n) /* little-endian */
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* the section header table of an ELF64 little-endian object, bounds checked */
static bool sections(const unsigned char *o, size_t size, uint64_t *shoff, uint64_t *shentsize, uint64_t *shnum)
{
    if (size < 64 || memcmp(o, "\177ELF", 4) || o[4] != 2 || o[5] != 1)
        return false;
    *shoff = rd(o + 40, 8), *shentsize = rd(o + 58, 2), *shnum = rd(o + 60, 2);
    return *shentsize >= 64 && *shoff <= size && *shnum <= (size - *shoff) / *shentsize;
}

bool sf_elf_uses_tls(const unsigned char *o, size_t size)
{
    uint64_t shoff, shentsize, shnum;
    if (!sections(o, size, &shoff, &shentsize, &shnum))
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

/* the section a symbol is defined in (0: undefined or out of range) */
static uint64_t symbol_section(const unsigned char *o, size_t size, const unsigned char *symtab_sh, uint64_t sym)
{
    uint64_t off = rd(symtab_sh + 24, 8), len = rd(symtab_sh + 32, 8);
    if (rd(symtab_sh + 4, 4) != 2 || off > size || len > size - off || sym >= len / 24)
        return 0;
    uint64_t shndx = rd(o + off + sym * 24 + 6, 2);
    return shndx >= 0xff00 ? 0 : shndx; /* SHN_ABS, SHN_COMMON, ...: no section of this object */
}

/* x86-64 relocation types: 1 R_X86_64_64, 2 R_X86_64_PC32, 4 R_X86_64_PLT32 */
static const char *check_rela(const unsigned char *o, size_t size, const unsigned char *sh, uint64_t shoff,
                              uint64_t shentsize, uint64_t shnum)
{
    static char why[160];
    uint64_t off = rd(sh + 24, 8), len = rd(sh + 32, 8), link = rd(sh + 40, 4), target = rd(sh + 44, 4);
    if (off > size || len > size - off || link >= shnum || target >= shnum)
        return NULL; /* malformed: LLVM refuses it */
    if (!(rd(o + shoff + target * shentsize + 8, 8) & 2)) /* SHF_ALLOC: debug data is never run */
        return NULL;
    const unsigned char *symtab = o + shoff + link * shentsize;
    for (uint64_t r = 0; r + 24 <= len; r += 24) {
        uint64_t at = rd(o + off + r, 8), info = rd(o + off + r + 8, 8), type = info & 0xffffffffu;
        if (type == 0 || type == 1)
            continue;
        if ((type == 2 || type == 4) && target != 0 && symbol_section(o, size, symtab, info >> 32) == target)
            continue;
        snprintf(why, sizeof why,
                 "relocation type %llu at offset %#llx of section %llu reaches only 2 GiB (or another section, or "
                 "an outside symbol)",
                 (unsigned long long)type, (unsigned long long)at, (unsigned long long)target);
        return why;
    }
    return NULL;
}

const char *sf_elf_distance_bound(const unsigned char *o, size_t size)
{
    uint64_t shoff, shentsize, shnum;
    if (!sections(o, size, &shoff, &shentsize, &shnum) || rd(o + 18, 2) != 62) /* EM_X86_64 only */
        return NULL;
    for (uint64_t i = 0; i < shnum; i++) {
        const unsigned char *sh = o + shoff + i * shentsize;
        if (rd(sh + 4, 4) != 4) /* SHT_RELA */
            continue;
        const char *why = check_rela(o, size, sh, shoff, shentsize, shnum);
        if (why)
            return why;
    }
    return NULL;
}
