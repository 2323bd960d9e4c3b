/* safetensors: every refusal names the key or the byte offset; good files
 * round-trip; floating dtypes convert to f32. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/* 8-byte length + header + data, in a static buffer */
static unsigned char file_buf[4096];

static size_t make(const char *header, const void *data, size_t dlen)
{
    size_t h = strlen(header);
    for (int i = 0; i < 8; i++)
        file_buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(file_buf + 8, header, h);
    if (dlen)
        memcpy(file_buf + 8 + h, data, dlen);
    return 8 + h + dlen;
}

static const char *refusal(size_t size)
{
    static sf_error e;
    memset(&e, 0, sizeof e);
    sf_st_file *f = sf_st_parse(file_buf, size, "w.safetensors", &e);
    if (f) {
        sf_st_close(f);
        fail_msg("expected a refusal");
    }
    assert_int_not_equal(e.code, SF_OK);
    assert_null(strchr(e.msg, '\n'));
    return e.msg;
}

static const float zeros[16];

#define ENTRY(key, dt, shape, b, e) "\"" key "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static void test_too_short(void **state)
{
    (void)state;
    assert_contains(refusal(5), "file is 5 bytes");
}

static void test_header_length_past_end(void **state)
{
    (void)state;
    size_t n = make("{}", NULL, 0);
    file_buf[0] = 200;
    assert_contains(refusal(n), "header length 200 (byte 0) runs past the end of the file (10 bytes)");
}

static void test_header_length_above_limit(void **state)
{
    (void)state;
    size_t n = make("{}", NULL, 0);
    file_buf[0] = 0x01, file_buf[4] = 0x01; /* 2^32 + 1 */
    assert_contains(refusal(n), "above the limit of 100000000");
}

static void test_header_not_brace(void **state)
{
    (void)state;
    assert_contains(refusal(make(" {}", NULL, 0)), "byte 8 does not start with '{'");
    assert_contains(refusal(make("[1]", NULL, 0)), "does not start with '{'");
    size_t n = make("{}", NULL, 0);
    memset(file_buf, 0, 8);
    assert_contains(refusal(n), "does not start with '{'");
}

static void test_header_not_json(void **state)
{
    (void)state;
    assert_contains(refusal(make("{\"a\": ", NULL, 0)), "header is not valid JSON at byte");
    assert_contains(refusal(make("{\"a\\u0000b\": 1}", NULL, 0)), "not valid JSON");
}

static void test_duplicate_key(void **state)
{
    (void)state;
    const char *msg = refusal(make("{" ENTRY("a", "F32", "[1]", 0, 4) "," ENTRY("a", "F32", "[1]", 4, 8) "}", zeros, 8));
    assert_contains(msg, "duplicate");
    assert_contains(msg, "at byte");
}

static void test_unknown_dtype(void **state)
{
    (void)state;
    assert_contains(refusal(make("{" ENTRY("w", "F99", "[1]", 0, 4) "}", zeros, 4)), "key 'w': unknown dtype 'F99'");
}

static void test_offsets_reversed(void **state)
{
    (void)state;
    assert_contains(refusal(make("{" ENTRY("w", "F32", "[0]", 4, 0) "}", zeros, 4)),
                    "key 'w': data_offsets [4, 0] are reversed");
}

static void test_offsets_past_end(void **state)
{
    (void)state;
    assert_contains(refusal(make("{" ENTRY("w", "F32", "[2]", 0, 8) "}", zeros, 4)),
                    "key 'w': data_offsets end 8 is past the end of the data (4 bytes)");
}

static void test_offsets_overlap(void **state)
{
    (void)state;
    assert_contains(refusal(make("{" ENTRY("a", "F32", "[2]", 0, 8) "," ENTRY("b", "F32", "[2]", 4, 12) "}", zeros, 12)),
                    "key 'b' at data bytes [4, 12) overlaps 'a' ending at 8");
}

static void test_offsets_gap(void **state)
{
    (void)state;
    assert_contains(refusal(make("{" ENTRY("a", "F32", "[1]", 0, 4) "," ENTRY("b", "F32", "[1]", 8, 12) "}", zeros, 12)),
                    "gap in the data at bytes [4, 8) before key 'b'");
}

static void test_trailing_data(void **state)
{
    (void)state;
    assert_contains(refusal(make("{" ENTRY("a", "F32", "[1]", 0, 4) "}", zeros, 12)),
                    "8 bytes of data after the last tensor");
}

static void test_shape_disagrees_with_offsets(void **state)
{
    (void)state;
    /* a reader that sizes the buffer from the shape but fills it from the
     * offsets would overflow here */
    assert_contains(refusal(make("{" ENTRY("w", "F32", "[3]", 0, 16) "}", zeros, 16)),
                    "key 'w': shape of F32 needs 12 bytes but data_offsets [0, 16] hold 16");
}

static void test_shape_product_wraps(void **state)
{
    (void)state;
    /* 2^32 * 2^32 wraps to 0 in a 64-bit product: must be an error, not an empty tensor */
    assert_contains(refusal(make("{" ENTRY("w", "F32", "[4294967296,4294967296]", 0, 0) "}", NULL, 0)),
                    "key 'w': shape overflows");
    assert_contains(refusal(make("{" ENTRY("w", "F64", "[2305843009213693952]", 0, 0) "}", NULL, 0)),
                    "key 'w': byte size of the shape overflows");
}

static void test_malformed_entries(void **state)
{
    (void)state;
    assert_contains(refusal(make("{\"w\": 5}", NULL, 0)), "key 'w': entry is not an object");
    assert_contains(refusal(make("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", NULL, 0)), "key 'w': needs dtype");
    assert_contains(refusal(make("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", zeros, 4)),
                    "key 'w': shape entry 0 is not a non-negative integer");
    assert_contains(refusal(make("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", zeros, 4)),
                    "key 'w': data_offsets must be two");
    assert_contains(refusal(make("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", zeros, 4)),
                    "key 'w': data_offsets must be two non-negative integers");
    assert_contains(refusal(make("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", zeros, 4)),
                    "key 'w': unknown field 'x'");
    assert_contains(refusal(make("{\"__metadata__\":{\"a\":1}}", NULL, 0)), "__metadata__ entry 'a' is not a string");
    assert_contains(refusal(make("{\"__metadata__\":[]}", NULL, 0)), "__metadata__ is not an object");
}

static void test_good_file_with_metadata(void **state)
{
    (void)state;
    float data[3] = {1.5f, -2.0f, 3.25f};
    size_t n = make("{\"__metadata__\":{\"format\":\"pt\"}," ENTRY("b", "F32", "[1]", 8, 12) ","
                    ENTRY("a", "F32", "[2]", 0, 8) "," ENTRY("empty", "F32", "[0,3]", 12, 12) "}", data, 12);
    sf_error e = {0};
    sf_st_file *f = sf_st_parse(file_buf, n, "ok", &e);
    if (!f)
        fail_msg("%s", e.msg);
    assert_int_equal(f->count, 3);
    assert_int_equal(f->meta_count, 1);
    assert_string_equal(f->meta_keys[0], "format");
    assert_string_equal(f->meta_vals[0], "pt");
    sf_tensor_set *s = sf_tensors_new();
    assert_int_equal(sf_st_to_tensors(f, "ok", s, &e), SF_OK);
    const sf_tensor *a = sf_tensors_get(s, "a"), *b = sf_tensors_get(s, "b");
    assert_close(a->data, (const float[]){1.5f, -2.0f}, 2, 0, 0);
    assert_close(b->data, (const float[]){3.25f}, 1, 0, 0);
    assert_int_equal(sf_tensors_get(s, "empty")->dim[1], 3);
    sf_tensors_free(s);
    sf_st_close(f);
}

static void test_dtype_conversion(void **state)
{
    (void)state;
    /* F16 1.0 = 0x3c00, -2.5 = 0xc100; BF16 1.0 = 0x3f80, 0.5 = 0x3f00;
     * F64 0.1; I64 num_batches_tracked is skipped */
    unsigned char data[4 + 4 + 8 + 8] = {0x00, 0x3c, 0x00, 0xc1, 0x80, 0x3f, 0x00, 0x3f};
    double d = 0.1;
    memcpy(data + 8, &d, 8);
    size_t n = make("{" ENTRY("h", "F16", "[2]", 0, 4) "," ENTRY("bf", "BF16", "[2]", 4, 8) ","
                    ENTRY("d", "F64", "[1]", 8, 16) "," ENTRY("bn.num_batches_tracked", "I64", "[]", 16, 24) "}",
                    data, sizeof data);
    sf_error e = {0};
    sf_st_file *f = sf_st_parse(file_buf, n, "conv", &e);
    assert_non_null(f);
    sf_tensor_set *s = sf_tensors_new();
    assert_int_equal(sf_st_to_tensors(f, "conv", s, &e), SF_OK);
    assert_close(sf_tensors_get(s, "h")->data, (const float[]){1.0f, -2.5f}, 2, 0, 0);
    assert_close(sf_tensors_get(s, "bf")->data, (const float[]){1.0f, 0.5f}, 2, 0, 0);
    assert_close(sf_tensors_get(s, "d")->data, (const float[]){0.1f}, 1, 0, 0);
    assert_null(sf_tensors_get(s, "bn.num_batches_tracked"));
    sf_tensors_free(s);
    sf_st_close(f);

    /* integer tensors (index buffers) become f32 integers, signed where the dtype is, exact up to 2^24 */
    unsigned char ints[] = {0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0xfe};
    n = make("{" ENTRY("idx", "I32", "[2]", 0, 8) "," ENTRY("l", "I64", "[1]", 8, 16) "," ENTRY("m", "BOOL", "[1]", 16, 17)
             "," ENTRY("u", "U8", "[1]", 17, 18) "}", ints, sizeof ints);
    f = sf_st_parse(file_buf, n, "int", &e);
    assert_non_null(f);
    s = sf_tensors_new();
    assert_int_equal(sf_st_to_tensors(f, "int", s, &e), SF_OK);
    assert_close(sf_tensors_get(s, "idx")->data, (const float[]){-1, 7}, 2, 0, 0);
    assert_close(sf_tensors_get(s, "l")->data, (const float[]){-3}, 1, 0, 0);
    assert_close(sf_tensors_get(s, "m")->data, (const float[]){1}, 1, 0, 0);
    assert_close(sf_tensors_get(s, "u")->data, (const float[]){254}, 1, 0, 0);
    sf_tensors_free(s);
    sf_st_close(f);

    /* past 2^24 they would not be exact: refused by name; 8-bit floats too */
    unsigned char big[8] = {1, 0, 0, 1};
    n = make("{" ENTRY("idx", "I32", "[1]", 0, 4) "}", big, 4);
    f = sf_st_parse(file_buf, n, "int", &e);
    s = sf_tensors_new();
    assert_int_equal(sf_st_to_tensors(f, "int", s, &e), SF_ERR_UNSUPPORTED);
    assert_contains(e.msg, "key 'idx': element 0 of this I32 tensor is beyond 2^24");
    sf_tensors_free(s);
    sf_st_close(f);
    n = make("{" ENTRY("q", "F8_E4M3", "[1]", 0, 1) "}", zeros, 1);
    f = sf_st_parse(file_buf, n, "f8", &e);
    s = sf_tensors_new();
    assert_int_equal(sf_st_to_tensors(f, "f8", s, &e), SF_ERR_UNSUPPORTED);
    assert_contains(e.msg, "key 'q': dtype F8_E4M3 is not supported");
    sf_tensors_free(s);
    sf_st_close(f);
}

static void test_write_read_round_trip(void **state)
{
    (void)state;
    sf_tensor_set *s = tset(3, (tensor_lit[]){LIT("layers.0.weight", 2, DIMS(2, 3), 1, 2, 3, 4, 5, 6),
                                              LIT("b", 1, DIMS(1), -7), LIT("scalar", 0, DIMS(0), 42)});
    const char *path = tmp_path("rt.safetensors");
    sf_error e = {0};
    assert_int_equal(sf_st_save(path, s, &e), SF_OK);
    /* the header is padded so that data starts 8-byte aligned */
    FILE *fp = fopen(path, "rb");
    unsigned char len8[8];
    assert_int_equal(fread(len8, 1, 8, fp), 8);
    fclose(fp);
    assert_int_equal(len8[0] % 8, 0);
    sf_tensor_set *back = sf_tensors_new();
    assert_int_equal(sf_st_load(path, back, &e), SF_OK);
    assert_int_equal(sf_tensors_count(back), 3);
    EXPECT(back, "layers.0.weight", 2, DIMS(2, 3), 1, 2, 3, 4, 5, 6);
    EXPECT(back, "b", 1, DIMS(1), -7);
    EXPECT(back, "scalar", 0, DIMS(0), 42);
    /* header order is kept */
    assert_string_equal(back->names.items[0], "layers.0.weight");
    sf_tensors_free(s), sf_tensors_free(back);
}

static void test_open_refusals(void **state)
{
    (void)state;
    sf_error e = {0};
    assert_null(sf_st_open("/nonexistent/w.safetensors", &e));
    assert_int_equal(e.code, SF_ERR_IO);
    assert_contains(e.msg, "/nonexistent/w.safetensors: cannot open");
    assert_null(sf_st_open("/tmp", &e));
    assert_contains(e.msg, "not a regular file");
    const char *path = tmp_path("trunc.safetensors");
    write_bytes(path, "\x10\x00\x00", 3);
    assert_null(sf_st_open(path, &e));
    assert_contains(e.msg, "trunc.safetensors: file is 3 bytes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_too_short),
        cmocka_unit_test(test_header_length_past_end),
        cmocka_unit_test(test_header_length_above_limit),
        cmocka_unit_test(test_header_not_brace),
        cmocka_unit_test(test_header_not_json),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_unknown_dtype),
        cmocka_unit_test(test_offsets_reversed),
        cmocka_unit_test(test_offsets_past_end),
        cmocka_unit_test(test_offsets_overlap),
        cmocka_unit_test(test_offsets_gap),
        cmocka_unit_test(test_trailing_data),
        cmocka_unit_test(test_shape_disagrees_with_offsets),
        cmocka_unit_test(test_shape_product_wraps),
        cmocka_unit_test(test_malformed_entries),
        cmocka_unit_test(test_good_file_with_metadata),
        cmocka_unit_test(test_dtype_conversion),
        cmocka_unit_test(test_write_read_round_trip),
        cmocka_unit_test(test_open_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
