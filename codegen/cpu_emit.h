/* Internal to the CPU backend: emitting one kernel per node. */
#ifndef SF_CPU_EMIT_H
#define SF_CPU_EMIT_H

#include <llvm-c/Core.h>

#include "ir.h"

typedef struct emit {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef f32, i64, ptr, kernel_type;
    LLVMValueRef fn, bufs, batch; /* the kernel being emitted: its buf table and B */
} emit;

/* A nested loop counter. */
typedef struct loop {
    LLVMBasicBlockRef head, body, exit;
    LLVMValueRef index, next;
} loop;

void em_loop_begin(emit *e, loop *l, LLVMValueRef limit, const char *name);
void em_loop_end(emit *e, loop *l);
LLVMValueRef em_const(emit *e, int64_t v);
/* a dim as an i64 value: the constant, or B */
LLVMValueRef em_dim(emit *e, int64_t d);
/* product of dims [from, to) of a type */
LLVMValueRef em_prod(emit *e, const sf_type *t, int from, int to);
/* the float* of a value, loaded from the buffer table */
LLVMValueRef em_buf(emit *e, const sf_value *v);
LLVMValueRef em_load(emit *e, LLVMValueRef base, LLVMValueRef index);
void em_store(emit *e, LLVMValueRef base, LLVMValueRef index, LLVMValueRef v);
LLVMValueRef em_call_f32(emit *e, const char *name, LLVMValueRef x);

/* Emits kernel `name` for node n into e->mod; false (err set) when unsupported. */
bool em_kernel(emit *e, const sf_node *n, const char *name, sf_error *err);

#endif
