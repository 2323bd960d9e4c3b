/*
 * safetensors: 8-byte little-endian header length N, N bytes of JSON, then
 * the data buffer. Each tensor entry gives dtype, shape and data_offsets
 * relative to the buffer. Stricter than the reference reader: the tensors
 * must tile the buffer exactly, duplicate keys and unknown fields are
 * refused, and the header must start with '{'.
 */
#ifndef SF_SAFETENSORS_H
#define SF_SAFETENSORS_H

#include "ir/tensor.h"

#define SF_ST_MAX_HEADER 100000000u
#define SF_ST_MAX_RANK 16

typedef enum sf_st_dtype {
    SF_ST_BOOL, SF_ST_U8, SF_ST_I8, SF_ST_F8_E5M2, SF_ST_F8_E4M3, SF_ST_I16, SF_ST_U16, SF_ST_F16,
    SF_ST_BF16, SF_ST_I32, SF_ST_U32, SF_ST_F32, SF_ST_F64, SF_ST_I64, SF_ST_U64, SF_ST_DTYPE_COUNT
} sf_st_dtype;

typedef struct sf_st_tensor {
    const char *name;
    sf_st_dtype dtype;
    int rank;
    int64_t shape[SF_ST_MAX_RANK];
    size_t begin, end;         /* offsets into the data buffer */
    const unsigned char *data; /* begin, resolved; may be unaligned */
} sf_st_tensor;

typedef struct sf_st_file {
    sf_arena arena;         /* names, entries */
    unsigned char *owned;   /* the file's bytes, when read from a path */
    sf_st_tensor *tensors;  /* header order */
    size_t count;
    const char **meta_keys; /* __metadata__, header order */
    const char **meta_vals;
    size_t meta_count;
} sf_st_file;

const char *sf_st_dtype_name(sf_st_dtype d);
size_t sf_st_dtype_size(sf_st_dtype d);

/* Parses bytes in memory; the result points into buf, which must outlive it. */
sf_st_file *sf_st_parse(const unsigned char *buf, size_t size, const char *what, sf_error *err);
sf_st_file *sf_st_open(const char *path, sf_error *err);
void sf_st_close(sf_st_file *f);

/* Floating tensors (F32, F64, F16, BF16) as f32 into a set. Integer
 * tensors are refused by name, except BatchNorm's num_batches_tracked,
 * which PyTorch saves and inference does not use. */
sf_status sf_st_to_tensors(const sf_st_file *f, const char *what, sf_tensor_set *set, sf_error *err);
sf_status sf_st_load(const char *path, sf_tensor_set *set, sf_error *err);

/* Writes every tensor of a set as F32, in set order, atomically. */
sf_status sf_st_save(const char *path, const sf_tensor_set *set, sf_error *err);

#endif
