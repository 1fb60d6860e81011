/* The idx reader (cli/idx.h): every element type, plain and gzipped files, 3-D items read as
 * rows in uneven panels, 1-D labels as a column; and each bad file's message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "error.h"
#include "idx.h"
#include "suites.h"

static char dir[] = "/tmp/prsvd-idx-XXXXXX";
static char path[512];
static unsigned char buf[1 << 16];

static void make_dir(void) {
  static int made;
  if (!made) {
    ck_assert_ptr_nonnull(mkdtemp(dir));
    made = 1;
  }
}

static size_t put_be(unsigned char *p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; i--, v >>= 8) p[i] = (unsigned char)(v & 0xff);
  return (size_t)bytes;
}

/* The value of item i, entry j, for a type: negative ones for the signed types. */
static double value(int type, int64_t k) {
  double v = (double)(k * 7 % 251);
  switch (type) {
  case 0x08: return v;
  case 0x09: return v - 120;
  case 0x0B: return (v - 120) * 211;
  case 0x0C: return (v - 120) * 12345679.0;
  case 0x0D: return (v - 120) * 0.375;
  default: return (v - 120) * 1e-3 + 1.0 / 3.0;
  }
}

static int type_bytes(int type) {
  return type == 0x0E ? 8 : type == 0x0C || type == 0x0D ? 4 : type == 0x0B ? 2 : 1;
}

/* An idx image in buf: header for dims, then count items of type; returns its length. */
static size_t make_idx(int type, int ndims, const int *dims) {
  size_t len = 0;
  int64_t count = 1;
  buf[len++] = 0;
  buf[len++] = 0;
  buf[len++] = (unsigned char)type;
  buf[len++] = (unsigned char)ndims;
  for (int d = 0; d < ndims; d++) len += put_be(buf + len, (uint64_t)dims[d], 4), count *= dims[d];
  for (int64_t k = 0; k < count; k++) {
    double v = value(type, k);
    uint64_t u;
    if (type == 0x0D) {
      float f = (float)v;
      uint32_t w;
      memcpy(&w, &f, 4);
      u = w;
    } else if (type == 0x0E) {
      memcpy(&u, &v, 8);
    } else {
      u = (uint64_t)(int64_t)v;
    }
    len += put_be(buf + len, u, type_bytes(type));
  }
  return len;
}

static const char *write_file(const char *name, const unsigned char *data, size_t len, int gzip) {
  make_dir();
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (gzip) {
    gzFile gz = gzopen(path, "wb");
    ck_assert_ptr_nonnull(gz);
    ck_assert_int_eq(gzwrite(gz, data, (unsigned)len), (int)len);
    ck_assert_int_eq(gzclose(gz), Z_OK);
  } else {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
  }
  return path;
}

/* Read the whole file in panels of `panel` rows and compare every value. */
static void check_read(const char *file, int type, int64_t rows, int64_t cols, int panel) {
  prsvd_idx *x = NULL;
  ck_assert_int_eq(prsvd_idx_open(file, &x), PRSVD_OK);
  const struct prsvd_idx_info *in = prsvd_idx_get_info(x);
  ck_assert_int_eq(in->type, type);
  ck_assert_int_eq(in->rows, rows);
  ck_assert_int_eq(in->cols, cols);
  double *rowbuf = malloc(sizeof(double) * (size_t)(panel * cols));
  for (int64_t r = 0; r < rows; r += panel) {
    int64_t nr = rows - r < panel ? rows - r : panel;
    ck_assert_int_eq(prsvd_idx_read_rows(x, nr, rowbuf), PRSVD_OK);
    for (int64_t k = 0; k < nr * cols; k++) {
      double want = type == 0x0D ? (double)(float)value(type, r * cols + k) : value(type, r * cols + k);
      ck_assert_msg(rowbuf[k] == want, "%s: row %lld col %lld: %g != %g", file,
                    (long long)(r + k / cols), (long long)(k % cols), rowbuf[k], want);
    }
  }
  ck_assert_int_eq(prsvd_idx_finish(x), PRSVD_OK);
  free(rowbuf);
  prsvd_idx_close(&x);
  ck_assert_ptr_null(x);
  prsvd_idx_close(&x); /* accepts NULL */
}

START_TEST(images_plain_and_gzip) {
  int dims[3] = {37, 5, 4};
  size_t len = make_idx(0x08, 3, dims);
  check_read(write_file("img", buf, len, 0), 0x08, 37, 20, 8); /* panels 8, ..., 8, 5 */
  check_read(write_file("img.gz", buf, len, 1), 0x08, 37, 20, 37);
  prsvd_idx *x = NULL;
  ck_assert_int_eq(prsvd_idx_open(path, &x), PRSVD_OK);
  ck_assert_int_eq(prsvd_idx_get_info(x)->gzipped, 1);
  ck_assert_int_eq(prsvd_idx_get_info(x)->ndims, 3);
  ck_assert_int_eq(prsvd_idx_get_info(x)->dims[2], 4);
  ck_assert_int_eq(prsvd_idx_get_info(x)->exact_in_float32, 1);
  prsvd_idx_close(&x);
}
END_TEST

START_TEST(every_type) {
  static const int types[] = {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E};
  int dims[2] = {11, 6};
  for (int t = 0; t < 6; t++) {
    size_t len = make_idx(types[t], 2, dims);
    char name[32];
    snprintf(name, sizeof name, "t%02x.gz", types[t]);
    check_read(write_file(name, buf, len, 1), types[t], 11, 6, 3);
    snprintf(name, sizeof name, "t%02x", types[t]);
    check_read(write_file(name, buf, len, 0), types[t], 11, 6, 4);
  }
}
END_TEST

START_TEST(labels_are_a_column) {
  int dims[1] = {25};
  size_t len = make_idx(0x08, 1, dims);
  check_read(write_file("labels.gz", buf, len, 1), 0x08, 25, 1, 10);
}
END_TEST

/* open (and read, and finish) must fail with PRSVD_ERR_INPUT and a message holding `what`
 * and the file's name. */
static void check_bad(const char *file, const char *what) {
  prsvd_idx *x = NULL;
  int status = prsvd_idx_open(file, &x);
  if (status == PRSVD_OK) {
    const struct prsvd_idx_info *in = prsvd_idx_get_info(x);
    double *rows = malloc(sizeof(double) * (size_t)(in->rows * in->cols));
    status = prsvd_idx_read_rows(x, in->rows, rows);
    if (status == PRSVD_OK) status = prsvd_idx_finish(x);
    free(rows);
  }
  prsvd_idx_close(&x);
  ck_assert_int_eq(status, PRSVD_ERR_INPUT);
  ck_assert_msg(strstr(prsvd_error_message(), what) != NULL, "message '%s' lacks '%s'",
                prsvd_error_message(), what);
  ck_assert_msg(strstr(prsvd_error_message(), file) != NULL, "message '%s' lacks the file name",
                prsvd_error_message());
  prsvd_error_clear();
}

START_TEST(bad_files) {
  int dims[3] = {9, 3, 3};
  size_t len = make_idx(0x08, 3, dims);
  unsigned char copy[1024];
  memcpy(copy, buf, len);

  copy[0] = 0x1f; /* e.g. a file of another format */
  check_bad(write_file("magic", copy, len, 0), "bad magic number 0x1f000803");
  check_bad(write_file("magic.gz", copy, len, 1), "not an idx file");
  memcpy(copy, buf, len);
  copy[2] = 0x0A;
  check_bad(write_file("type.gz", copy, len, 1), "unknown idx element type 0x0a");
  memcpy(copy, buf, len);
  copy[3] = 0;
  check_bad(write_file("ndims.gz", copy, len, 1), "gives 0 dimensions");
  memcpy(copy, buf, len);
  copy[4 + 4 + 3] = 0; /* dims[1] = 0 */
  check_bad(write_file("zero.gz", copy, len, 1), "dimension 2 of the idx header is 0");

  check_bad(write_file("short", buf, 3, 0), "holds only 3 bytes");
  check_bad(write_file("header.gz", buf, 10, 1), "header ends in dimension 2 of 3");
  check_bad(write_file("trunc", buf, len - 5, 0), "is truncated: its header promises 9 x 9 uint8");
  check_bad(write_file("trunc.gz", buf, len - 20, 1), "the data ends in row 6");
  memcpy(copy, buf, len);
  memcpy(copy + len, "extra", 5);
  check_bad(write_file("extra", copy, len + 5, 0), "holds 5 bytes after the 9 x 9 uint8 values");
  check_bad(write_file("extra.gz", copy, len + 5, 1), "holds data after the 9 x 9 uint8 values");

  /* a gzip file cut short: the data are whole but the CRC trailer is missing */
  write_file("cut.gz", buf, len, 1);
  FILE *f = fopen(path, "rb");
  size_t glen = fread(copy, 1, sizeof copy, f);
  fclose(f);
  check_bad(write_file("cut.gz", copy, glen - 6, 0), "truncated or corrupt at the end of its gzip stream");
  /* a corrupt gzip stream: the CRC of the data does not match */
  copy[glen - 8] ^= 0xff;
  check_bad(write_file("crc.gz", copy, glen, 0), "is corrupt: gzip stream error");

  check_bad("/nonexistent/t10k.gz", "cannot open input '/nonexistent/t10k.gz'");
}
END_TEST

Suite *idx_suite(void) {
  Suite *s = suite_create("idx");
  TCase *tc = tcase_create("read");
  tcase_add_test(tc, images_plain_and_gzip);
  tcase_add_test(tc, every_type);
  tcase_add_test(tc, labels_are_a_column);
  suite_add_tcase(s, tc);
  tc = tcase_create("bad files");
  tcase_add_test(tc, bad_files);
  suite_add_tcase(s, tc);
  return s;
}
