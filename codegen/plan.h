/* The kernel plan: one per compiled model, computed once from the
 * optimised graph, and what both backends build and run from. It decides
 * which nodes form one kernel (chains of product -> activations ->
 * product, a product and its epilogue, or one node), under which key
 * kernels share code, what each kernel's arguments are (values and the
 * element offset added to each pointer, as linear functions of the batch)
 * and where every activation lives (the memory plan, with what a chain
 * keeps on chip left out). How a kernel's work is split (threads, blocks)
 * is each backend's own. */
#ifndef SF_PLAN_H
#define SF_PLAN_H

#include "passes/memplan.h"
#include "passes/pass.h"

/* c0 + cb * B: element offsets, flops and bytes are linear in the batch */
typedef struct sf_linear {
    double c0, cb;
} sf_linear;

static inline double sf_linear_at(sf_linear l, int64_t B) { return l.c0 + l.cb * (double)B; }

typedef struct sf_plan_arg {
    int value;       /* value id */
    int node;        /* the member whose operand or result it is */
    int index;       /* which operand (or nin + which result) of that node */
    sf_linear offset; /* elements added to the value's pointer */
} sf_plan_arg;

/* Who runs a kernel on the CPU where this build has the library: the
 * generated code is compiled either way (a package made with the library
 * runs without it), so this is a choice, not a requirement. sf_plan_build
 * decides by sf_plan_lib_for, the rule docs/cpu-backend.md measures. */
typedef enum sf_plan_lib {
    SF_LIB_GENERATED,  /* sheaf's own kernel */
    SF_LIB_DNNL_CONV,  /* a one-node convolution kernel: oneDNN's convolution */
    SF_LIB_COUNT
} sf_plan_lib;

typedef struct sf_plan_kernel {
    int first, last;  /* node indices: the kernel runs the nodes first..last but the inputs and parameters
                         declared among them (sf_plan_members) */
    int code;         /* which distinct kernel: kernels with one key share code */
    int nargs;
    sf_plan_arg *args; /* the first member's operands, the last's other operands (a chain), the last's results */
    sf_linear flops;  /* arithmetic of all members */
    sf_linear bytes;  /* what it reads and writes */
    int lib;          /* sf_plan_lib */
} sf_plan_kernel;

typedef struct sf_plan {
    const sf_graph *g;
    sf_plan_kernel *kernels; /* in run order */
    size_t nkernels;
    char **keys;             /* by code: the key (node signatures, '|' between a chain's) */
    int *code_kernel;        /* by code: the plan kernel that represents it */
    int ncodes;
    int *kernel_of;          /* by node index: its plan kernel, or -1 (sources, views) */
    bool *unstored;          /* by value id: kept inside a chain, never in memory */
    sf_memplan mem;          /* contiguous tensors, unstored values left out */
} sf_plan;

/* Builds the plan and checks it (sf_plan_verify): a plan that fails is an
 * internal error, refused. */
sf_status sf_plan_build(const sf_graph *g, sf_plan *p, sf_error *err);
void sf_plan_free(sf_plan *p);

/* Checks a plan against its graph p->g (plan_verify.c says what sound
 * means): SF_ERR_VERIFY naming the kernel or value when it is not. */
sf_status sf_plan_verify(const sf_plan *p, sf_error *err);

/* The plan as bytes, the package's plan section (docs/package.md): node
 * indices and value ids are g's as the package's IR parses. Decoding checks
 * every byte (SF_ERR_FORMAT) and then the plan (sf_plan_verify). */
sf_status sf_plan_encode(const sf_plan *p, unsigned char **bytes, size_t *len, sf_error *err);
sf_status sf_plan_decode(const sf_graph *g, const unsigned char *bytes, size_t len, sf_plan *p, sf_error *err);
/* src's plan over g, a graph with src->g's node order and value ids (a
 * copy of it); checked as a decoded one is. */
sf_status sf_plan_copy(const sf_plan *src, const sf_graph *g, sf_plan *dst, sf_error *err);
/* A kernel's key: its members' signatures, '|' between (malloc'd; NULL:
 * out of memory). */
char *sf_plan_key(const sf_plan *p, const sf_plan_kernel *k);

/* The library for a kernel of these members (SF_LIB_GENERATED: none). */
sf_plan_lib sf_plan_lib_for(const sf_node *const *members, int count);

/* A kernel's members in order (at most 64); their count. */
/* A kernel's members in order (at most 64): the nodes first..last that
 * compute (neither sources nor views: a chain's reshape in front of a
 * product over all groups is not a member); their count. */
int sf_plan_members(const sf_plan *p, const sf_plan_kernel *k, const sf_node **out);

/* Chains: products of at most SF_CHAIN_MAX_HIDDEN outputs (per group)
 * feeding the next; at most SF_CHAIN_MAX_PRODUCTS products; a product over
 * all groups only where sf_sums_groups (passes/pass.h: canonicalize keeps
 * a shared product grouped for it) holds. */
enum { SF_CHAIN_MAX_HIDDEN = 4096, SF_CHAIN_MAX_PRODUCTS = 8 };

/* Whether nodes[0..count) may run as one chain kernel on every backend: a
 * linear or grouped product, then unary ops and products of the same kind
 * (grouped ones per group, of the same groups) in any order; after grouped
 * ones, optionally a linear over all groups (sf_sums_groups) and unary
 * ops after it. A product reads the member before it; the one over all
 * groups reads it through a reshape [..., G, H] -> [..., G*H]. */
bool sf_plan_chain_fits(const sf_node *const *nodes, int count);
/* Whether a chain (sf_plan_chain_fits holds) ends in a product over all
 * groups: its first product grouped, its last a linear. */
bool sf_plan_chain_sums(const sf_node *const *nodes, int count);
/* The value member n of a chain reads from the member before it: its
 * operand, or for a linear reading a reshape the reshape's operand (a
 * chain may span that reshape, sf_plan_chain_fits says when). */
const sf_value *sf_plan_chain_link(const sf_node *n);

#endif
