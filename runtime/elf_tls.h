/* Object code that uses thread-local storage: sheaf's kernels never do,
 * and LLVM's loader cannot allocate it (it reports a fatal error). Reads an
 * ELF64 little-endian object's section flags and symbol types, every
 * offset checked against size; anything else is left to LLVM (false). */
#ifndef SF_ELF_TLS_H
#define SF_ELF_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool sf_elf_uses_tls(const unsigned char *object, size_t size);

#endif
