/*
 * The IR: one function of SSA values over tensors. Each value has a dtype and
 * a shape whose dims are constants or the batch symbol B. Nodes are kept in a
 * topological order; every allocation lives in the graph's arena.
 */
#ifndef SF_IR_H
#define SF_IR_H

#include "ir/base.h"

#define SF_MAX_RANK 8
#define SF_DIM_B (-1) /* the symbolic batch dimension */
#define SF_DIM_MAX ((int64_t)INT32_MAX) /* keeps shape arithmetic far from overflow */

/* bool: a mask, from comparisons; stored as f32 0.0 or 1.0 (4 bytes), so
 * every kernel moves it as an f32 and only the ops with SF_OPF_MASKS take it */
typedef enum sf_dtype { SF_F32, SF_F16, SF_BF16, SF_BOOL } sf_dtype;

typedef struct sf_type {
    sf_dtype dtype;
    int rank;
    int64_t dim[SF_MAX_RANK];
} sf_type;

typedef enum sf_opcode {
#define OP(id, ...) SF_OP_##id,
#include "ir/ops.def"
    SF_OP_COUNT
} sf_opcode;

/* What kind of computation an op is; passes and backends ask this, never a
 * list of their own. */
typedef enum sf_opcls {
    SF_OPCLS_SOURCE,   /* input, param: values from outside, no kernel */
    SF_OPCLS_CONSTANT, /* a value from its attributes alone */
    SF_OPCLS_PRODUCT,  /* matrix products and convolutions: weights, optional bias */
    SF_OPCLS_NORM,     /* normalisation along some dims (statistics, then a map) */
    SF_OPCLS_UNARY,    /* elementwise, one operand */
    SF_OPCLS_BINARY,   /* elementwise, two operands, broadcasting */
    SF_OPCLS_SELECT,   /* elementwise, three operands, broadcasting: where(c, a, b) */
    SF_OPCLS_REDUCE,   /* a reduction over dims */
    SF_OPCLS_VIEW,     /* same elements in the same order: no data moves */
    SF_OPCLS_MOVE,     /* data movement: elements selected, joined or permuted */
} sf_opcls;

enum {
    SF_OPF_COMMUTATIVE = 1 << 0, /* two operands that may swap */
    SF_OPF_INPLACE = 1 << 1,     /* the result may take an operand's buffer */
    SF_OPF_FOLDABLE = 1 << 2,    /* pure: constant operands give a constant */
    SF_OPF_STRIDED = 1 << 3,     /* can be a strided view of its operand instead of a copy */
    SF_OPF_LINEAR = 1 << 4,      /* x·Wᵀ + b over x's last dim (per group when grouped): weight operand 1 */
    SF_OPF_CONV = 1 << 5,        /* a convolution: stride, padding, dilation, groups; weight [O, C/groups, k...] */
    SF_OPF_MASKS = 1 << 6,       /* takes bool operands (views, moves, comparisons, where, maximum/minimum) */
};

typedef enum sf_attr_kind {
    SF_AK_INT,
    SF_AK_FLOAT,
    SF_AK_BOOL,
    SF_AK_INTS,  /* list of integers */
    SF_AK_SHAPE, /* list of dims, where B is allowed */
} sf_attr_kind;

typedef enum sf_attr_id {
#define ATTR(id, name, kind) SF_ATTR_##id,
#include "ir/ops.def"
    SF_ATTR_COUNT
} sf_attr_id;

typedef struct sf_attr_spec {
    sf_attr_id id;
    const char *name;
    sf_attr_kind kind;
} sf_attr_spec;

extern const sf_attr_spec sf_attrs[SF_ATTR_COUNT];

typedef struct sf_attr {
    bool set;
    int64_t i;    /* INT, BOOL */
    double f;     /* FLOAT */
    int n;        /* INTS, SHAPE */
    int64_t *ints;
} sf_attr;

typedef struct sf_op_info {
    const char *name;
    int min_in, max_in; /* max_in < 0: any number */
    int nres;           /* 0: one result per entry of the sizes attribute */
    sf_opcls cls;
    unsigned flags;     /* SF_OPF_* */
    const sf_attr_spec *const *attrs;
    int nattrs;
} sf_op_info;

extern const sf_op_info sf_ops[SF_OP_COUNT];

static inline sf_opcls sf_op_cls(sf_opcode op) { return sf_ops[op].cls; }
static inline bool sf_op_has(sf_opcode op, unsigned flag) { return (sf_ops[op].flags & flag) != 0; }
/* elementwise: unary or binary, one result element per output element */
static inline bool sf_op_is_elementwise(sf_opcode op)
{
    return sf_ops[op].cls == SF_OPCLS_UNARY || sf_ops[op].cls == SF_OPCLS_BINARY;
}
/* The op whose text name is s[0..n), or SF_OP_COUNT. */
sf_opcode sf_op_by_name(const char *s, size_t n);

typedef struct sf_node sf_node;

typedef struct sf_value {
    int id;       /* index in graph->values */
    sf_type type;
    sf_node *def; /* the node producing it */
    int index;    /* which result of def */
} sf_value;

struct sf_node {
    sf_opcode op;
    int nin, nout;
    sf_value **in;
    sf_value **out;
    sf_attr *attrs;   /* sf_ops[op].nattrs entries, in spec order */
    const char *name; /* INPUT and PARAM: the value's name */
    const char *loc;  /* where it came from, for messages; may be NULL */
    int region;       /* fusion region for the backends (vfuse); 0: none */
};

/* Use counts, an analysis stored on the graph (use.c): count[id] is how
 * many node operands read value id, plus SF_USE_OUTPUT for each output it
 * is, so count 1 means read by one node and nothing else; user[id] is the
 * last node that reads it. Valid until the graph changes: sf_fill_uses
 * refreshes it (passes that need it declare SF_PASS_USES and the pass
 * manager refills it for them). */
#define SF_USE_OUTPUT 2
typedef struct sf_uses {
    int *count;
    const sf_node **user;
    size_t cap;
    size_t values, nodes; /* the graph's size when filled: what sf_uses_fresh checks */
} sf_uses;

typedef struct sf_graph {
    sf_arena arena;
    const char *name;
    sf_vec nodes;         /* sf_node*, topological order */
    sf_vec values;        /* sf_value*, by id */
    sf_vec inputs;        /* sf_value* of INPUT nodes, signature order */
    sf_vec params;        /* sf_value* of PARAM nodes, declaration order */
    sf_map param_by_name; /* name -> sf_value* */
    sf_map input_by_name; /* name -> sf_value* */
    sf_vec outputs;       /* sf_value* returned */
    sf_uses *use;         /* analyses: filled on request, owned by the graph */
    char *notes;          /* choices the passes made, one per line, for --stats (heap; passes carry it over) */
} sf_graph;

/* ---- types (type.c) ---- */
const char *sf_dtype_name(sf_dtype t);
bool sf_dtype_parse(const char *s, size_t n, sf_dtype *out);
size_t sf_dtype_size(sf_dtype t);
/* the backends compute it: f32, and bool (stored as f32) */
bool sf_dtype_runs(sf_dtype t);
bool sf_type_equal(const sf_type *a, const sf_type *b);
/* "f32[B,10]"; always NUL-terminated, truncated to cap. */
const char *sf_type_str(const sf_type *t, char *buf, size_t cap);
/* Elements for a given batch; false on overflow. */
bool sf_type_numel(const sf_type *t, int64_t batch, size_t *out);
bool sf_type_has_batch(const sf_type *t);
/* to is from with its last two dims made one ([..., G, H] -> [..., G*H],
 * neither of them the batch): how a model hands its groups' results to a
 * product over all of them. */
bool sf_type_joins_last2(const sf_type *from, const sf_type *to);
/* "[B,10]" from a list of dims (attribute printing and messages). */
const char *sf_dims_str(const int64_t *dims, int n, char *buf, size_t cap);

/* ---- graph and builder (graph.c) ---- */
sf_graph *sf_graph_new(const char *name);
void sf_graph_free(sf_graph *g);
/* appends one line to g->notes (silently dropped without memory: notes only inform) */
void sf_graph_note(sf_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
sf_value *sf_graph_input(sf_graph *g, const char *name, const sf_type *t, sf_error *err);
sf_value *sf_graph_param(sf_graph *g, const char *name, const sf_type *t, sf_error *err);
sf_value *sf_graph_param_get(const sf_graph *g, const char *name);
/* A node with its operands but no attributes and no results yet. */
sf_node *sf_node_begin(sf_graph *g, sf_opcode op, int nin, sf_value *const *in, sf_error *err);
/* Attribute writes by id; the kind must match (INT and BOOL: set_int). */
void sf_node_set_int(sf_node *n, sf_attr_id attr, int64_t v);
void sf_node_set_float(sf_node *n, sf_attr_id attr, double v);
bool sf_node_set_ints(sf_graph *g, sf_node *n, sf_attr_id attr, const int64_t *v, int count);
/* Checks attributes, infers result types, appends the node to the graph.
 * On failure the node is not part of the graph. */
sf_status sf_node_finish(sf_graph *g, sf_node *n, sf_error *err);
sf_status sf_graph_add_output(sf_graph *g, sf_value *v, sf_error *err);

/* Attribute access by id; the verifier guarantees presence. Reading an
 * attribute the op does not have is a bug in the caller: it stops the
 * program with a message naming both. Passes and backends use the typed
 * accessors below, sf_attr_<name>(node). */
const sf_attr *sf_node_attr(const sf_node *n, sf_attr_id id);
/* Same op, every attribute equal (floats by value: NaN equals nothing). */
bool sf_node_attrs_equal(const sf_node *a, const sf_node *b);
/* The slot of attribute id in op's attributes, or -1. */
int sf_op_attr_slot(sf_opcode op, sf_attr_id id);

#define SF_AK_CTYPE_INT int64_t
#define SF_AK_CTYPE_FLOAT double
#define SF_AK_CTYPE_BOOL bool
#define SF_AK_CTYPE_INTS const sf_attr *
#define SF_AK_CTYPE_SHAPE const sf_attr *
#define SF_AK_GET_INT(a) ((a)->i)
#define SF_AK_GET_FLOAT(a) ((a)->f)
#define SF_AK_GET_BOOL(a) ((a)->i != 0)
#define SF_AK_GET_INTS(a) (a)
#define SF_AK_GET_SHAPE(a) (a)
#define ATTR(id, name, kind)                                                                                           \
    static inline SF_AK_CTYPE_##kind sf_attr_##name(const sf_node *n)                                                  \
    {                                                                                                                  \
        return SF_AK_GET_##kind(sf_node_attr(n, SF_ATTR_##id));                                                         \
    }
#include "ir/ops.def"

/* One-call builders for the common shapes of node. */
sf_value *sf_build1(sf_graph *g, sf_opcode op, sf_value *a, sf_error *err);
sf_value *sf_build2(sf_graph *g, sf_opcode op, sf_value *a, sf_value *b, sf_error *err);

/* ---- analyses (use.c) ---- */
/* Refills g's use counts (a cache behind a const graph); NULL when out of
 * memory. */
const sf_uses *sf_fill_uses(const sf_graph *g);
/* Whether the counts were filled for the graph as it is now. */
bool sf_uses_fresh(const sf_graph *g);

/* ---- shape rules (shape.c) ---- */
/* Fills types[0..nres) for the node's results; the error names the op and
 * the operand shapes. */
sf_status sf_infer_shapes(const sf_node *n, sf_type *types, int nres, sf_error *err);
/* How many results a node of this op with these attributes has. */
int sf_node_result_count(const sf_node *n);

/* ---- verifier (verify.c) ---- */
sf_status sf_verify(const sf_graph *g, sf_error *err);

/* ---- text form (print.c, parse.c) and DOT (dot.c) ---- */
#include <stdio.h>
void sf_print(const sf_graph *g, FILE *out);
/* The text into a malloc'd string (caller frees); NULL when out of memory. */
char *sf_print_string(const sf_graph *g);
sf_graph *sf_parse(const char *text, size_t len, const char *filename, sf_error *err);
/* A copy of g: printed and parsed back, the text form being exact; `what`
 * names it in messages. Its inputs and parameters are declared first. */
sf_graph *sf_graph_copy(const sf_graph *g, const char *what, sf_error *err);
void sf_print_dot(const sf_graph *g, FILE *out);
/* What a node computes, without naming its operands: op, operand and result
 * types, attributes ("linear(f32[B,20],f32[10,20],f32[10]) -> f32[B,10]").
 * Nodes with equal signatures can share compiled code. malloc'd; NULL when
 * out of memory. */
char *sf_node_signature(const sf_node *n);
/* How an operand is written: "@name" for params, "%name" for inputs. */
bool sf_name_is_plain(const char *s);

/* Floating-point operations of a node / a whole graph at a batch size
 * (multiply-add counted as 2; copies and elementwise ops as 1 per element). */
double sf_node_flops(const sf_node *n, int64_t batch);
double sf_graph_flops(const sf_graph *g, int64_t batch);

#endif
