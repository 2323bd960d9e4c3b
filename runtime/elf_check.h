/* Reading a package's object code before LLVM does. Objects come from
 * package files, so these read ELF64 little-endian section headers, symbol
 * tables and relocations with every offset checked against size; what they
 * do not recognise is left to LLVM. */
#ifndef SF_ELF_CHECK_H
#define SF_ELF_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* thread-local storage: sheaf's kernels never use it, and LLVM's loader
 * cannot allocate it (it reports a fatal error) */
bool sf_elf_uses_tls(const unsigned char *object, size_t size);

/* NULL when every x86-64 relocation of the object reaches its target from
 * any distance: 64-bit absolute, or 32-bit PC-relative within one section.
 * Otherwise why not (the relocation type, its offset and section): such an
 * object is correct only while the loader places its sections, its GOT and
 * the libraries it calls within 2 GiB of each other, which nothing
 * guarantees in a process like PyTorch's (a jump through a truncated
 * address, then a crash). The text is static, valid until the next call. */
const char *sf_elf_distance_bound(const unsigned char *object, size_t size);

#endif
