/* libFuzzer: the checks of a package's object code (runtime/elf_check.c:
 * thread-local storage, relocations that reach only 2 GiB), which read the
 * ELF's section headers, symbol tables and relocations before LLVM sees them. Seeded with objects the fuzz build
 * writes (SHEAF_DUMP_OBJECT). */
#include "runtime/elf_check.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    (void)sf_elf_uses_tls(data, size);
    (void)sf_elf_distance_bound(data, size);
    return 0;
}
