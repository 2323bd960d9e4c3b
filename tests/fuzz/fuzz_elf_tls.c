/* libFuzzer: the check of a package's object code for thread-local
 * storage (runtime/elf_tls.c), which reads the ELF's section headers and
 * symbol tables before LLVM sees them. Seeded with objects the fuzz build
 * writes (SHEAF_DUMP_OBJECT). */
#include "runtime/elf_tls.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    (void)sf_elf_uses_tls(data, size);
    return 0;
}
