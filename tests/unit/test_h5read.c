/* The HDF5 panel reader: every supported type, contiguous / chunked / gzip, panels that cross
 * chunk boundaries and a short last panel; and each bad input's message. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prsvd_h5.h"
#include "error.h"
#include "source_impl.h"
#include "suites.h"

enum { M = 53, N = 23 };
static char dir[] = "/tmp/prsvd-unit-XXXXXX";
static char path[512];

static double value(int i, int j, int is_unsigned) {
  int v = (i * N + j) % 97;
  return is_unsigned ? v : v - 40;
}

static void make_dir(void) {
  static int made;
  if (!made) {
    ck_assert_ptr_nonnull(mkdtemp(dir));
    made = 1;
  }
}

/* Write an M x N dataset of `type` with the given chunk (0 = contiguous) and gzip level. */
static const char *write_matrix(const char *name, hid_t type, int chunk_r, int chunk_c, int gzip) {
  make_dir();
  snprintf(path, sizeof path, "%s/%s.h5", dir, name);
  int is_unsigned = H5Tget_class(type) == H5T_INTEGER && H5Tget_sign(type) == H5T_SGN_NONE;
  double *a = malloc(sizeof(double) * M * N);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) a[i * N + j] = value(i, j, is_unsigned);
  hsize_t dims[2] = {M, N};
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t sp = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (chunk_r) {
    hsize_t cd[2] = {(hsize_t)chunk_r, (hsize_t)chunk_c};
    H5Pset_chunk(dcpl, 2, cd);
    if (gzip) H5Pset_deflate(dcpl, (unsigned)gzip);
  }
  hid_t d = H5Dcreate2(f, "/A", type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  ck_assert_int_ge(d, 0);
  ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a), 0);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(sp);
  H5Fclose(f);
  free(a);
  return path;
}

static void check_reads(const char *file, hid_t type) {
  prsvd_source *src = NULL;
  struct prsvd_h5_info info;
  int is_unsigned = H5Tget_class(type) == H5T_INTEGER && H5Tget_sign(type) == H5T_SGN_NONE;
  ck_assert_int_eq(prsvd_h5_open_source(MPI_COMM_SELF, file, "/A", &info, &src), 0);
  ck_assert_int_eq(info.rows, M);
  ck_assert_int_eq(info.cols, N);
  const int panels[] = {1, 6, 10, M};
  double *buf = malloc(sizeof(double) * M * N);
  float *buf32 = malloc(sizeof(float) * M * N);
  for (int p = 0; p < 4; p++) {
    for (int r0 = 0; r0 < M; r0 += panels[p]) {
      int nr = r0 + panels[p] > M ? M - r0 : panels[p]; /* the last panel is short */
      ck_assert_int_eq(prsvd_source_read(src, r0, nr, buf), 0);
      int exp = -1;
      ck_assert_int_eq(prsvd_source_read_f32(src, r0, nr, buf32, &exp), 0); /* values in float32's range */
      ck_assert_int_eq(exp, 0);
      for (int i = 0; i < nr; i++)
        for (int j = 0; j < N; j++) {
          ck_assert_double_eq(buf[i * N + j], value(r0 + i, j, is_unsigned));
          ck_assert_float_eq(buf32[i * N + j], (float)value(r0 + i, j, is_unsigned));
        }
    }
  }
  struct prsvd_source_layout lay;
  prsvd_source_get_layout(src, &lay);
  ck_assert_int_eq(lay.stored_float32, H5Tget_class(type) == H5T_FLOAT && H5Tget_size(type) == 4);
  free(buf);
  free(buf32);
  prsvd_source_destroy(&src);
  ck_assert_ptr_null(src);
}

START_TEST(every_type_and_layout) {
  hid_t types[] = {H5T_STD_I8LE, H5T_STD_U16LE, H5T_STD_I32BE, H5T_STD_I64LE, H5T_STD_U64LE,
                   H5T_IEEE_F32LE, H5T_IEEE_F64LE, H5T_IEEE_F64BE};
  for (unsigned t = 0; t < sizeof types / sizeof types[0]; t++) {
    check_reads(write_matrix("contiguous", types[t], 0, 0, 0), types[t]);
    check_reads(write_matrix("chunked", types[t], 7, 5, 0), types[t]);
    check_reads(write_matrix("gzip", types[t], 8, 23, 6), types[t]);
  }
}
END_TEST

/* The bytes a source's reads take from the file: one pass of panels over a gzip-chunked
 * dataset reads its compressed size once, also when panels straddle chunk rows (the chunk
 * cache keeps the row of chunks they share); reading it all again counts again. */
START_TEST(file_bytes_count_chunk_reads) {
  enum { R = 400, C = 23, CHUNK = 10 };
  char p[600];
  make_dir();
  snprintf(p, sizeof p, "%s/bytes.h5", dir);
  double *a = malloc(sizeof(double) * R * C);
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < R * C; i++) { /* xorshift: incompressible */
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    a[i] = (double)(x >> 11) * 0x1.0p-53;
  }
  hsize_t dims[2] = {R, C}, cd[2] = {CHUNK, C};
  hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t sp = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 2, cd);
  H5Pset_deflate(dcpl, 6);
  hid_t d = H5Dcreate2(f, "/A", H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a), 0);
  H5Dclose(d), H5Pclose(dcpl), H5Sclose(sp), H5Fclose(f);

  const int sizes[] = {CHUNK, 15, 4}; /* aligned, straddling chunk rows, inside chunk rows */
  for (int t = 0; t < 3; t++) {
    prsvd_source *src = NULL;
    struct prsvd_h5_info info;
    ck_assert_int_eq(prsvd_h5_open_source(MPI_COMM_SELF, p, "/A", &info, &src), 0);
    const int64_t storage = info.storage_bytes;
    for (int pass = 1; pass <= 2; pass++) {
      for (int r0 = 0; r0 < R; r0 += sizes[t]) {
        int nr = r0 + sizes[t] > R ? R - r0 : sizes[t];
        ck_assert_int_eq(prsvd_source_read(src, r0, nr, a), 0);
      }
      const int64_t bytes = prsvd_source_file_bytes(src);
      ck_assert_msg(bytes >= pass * storage && bytes <= pass * storage + 4096,
                    "panels of %d rows, pass %d: read %lld bytes of a %lld-byte dataset", sizes[t],
                    pass, (long long)bytes, (long long)storage);
    }
    prsvd_source_destroy(&src);
  }
  free(a);
}
END_TEST

START_TEST(info_describes_layout) {
  struct prsvd_h5_info info;
  const char *f = write_matrix("info", H5T_IEEE_F32LE, 8, 23, 4);
  ck_assert_int_eq(prsvd_h5_inspect(MPI_COMM_SELF, f, "/A", &info), 0);
  ck_assert_str_eq(info.type, "float32");
  ck_assert_int_eq(info.chunked, 1);
  ck_assert_int_eq(info.chunk_rows, 8);
  ck_assert_str_eq(info.filters, "gzip(4)");
  ck_assert_int_gt(info.storage_bytes, 0);
}
END_TEST

static void expect_input_error(const char *file, const char *ds, const char *needle) {
  struct prsvd_h5_info info;
  prsvd_error_clear();
  ck_assert_int_eq(prsvd_h5_inspect(MPI_COMM_SELF, file, ds, &info), PRSVD_ERR_INPUT);
  ck_assert_msg(strstr(prsvd_error_message(), needle), "message '%s' lacks '%s'",
                prsvd_error_message(), needle);
}

START_TEST(bad_inputs) {
  char p2[600], text[600];
  make_dir();
  snprintf(p2, sizeof p2, "%s/odd.h5", dir);
  hid_t f = H5Fcreate(p2, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t g = H5Gcreate2(f, "/grp", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t d1[1] = {5}, d3[3] = {2, 3, 4}, d2[2] = {3, 3};
  hid_t s1 = H5Screate_simple(1, d1, NULL), s3 = H5Screate_simple(3, d3, NULL), s2 = H5Screate_simple(2, d2, NULL);
  hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, 8);
  hid_t cmp = H5Tcreate(H5T_COMPOUND, 16);
  H5Tinsert(cmp, "a", 0, H5T_NATIVE_DOUBLE);
  H5Tinsert(cmp, "b", 8, H5T_NATIVE_DOUBLE);
  H5Dclose(H5Dcreate2(f, "/vec", H5T_NATIVE_DOUBLE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Dclose(H5Dcreate2(f, "/cube", H5T_NATIVE_DOUBLE, s3, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Dclose(H5Dcreate2(f, "/strings", str, s2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Dclose(H5Dcreate2(f, "/pairs", cmp, s2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Tclose(str), H5Tclose(cmp), H5Sclose(s1), H5Sclose(s2), H5Sclose(s3), H5Gclose(g), H5Fclose(f);
  snprintf(text, sizeof text, "%s/text.h5", dir);
  FILE *t = fopen(text, "w");
  fputs("not an hdf5 file\n", t);
  fclose(t);

  expect_input_error("/nonexistent/x.h5", "/A", "cannot open '/nonexistent/x.h5'");
  expect_input_error(text, "/A", "is not an HDF5 file");
  expect_input_error(p2, "/missing", "has no dataset '/missing'");
  expect_input_error(p2, "/no/such/path", "'/no' does not exist");
  expect_input_error(p2, "/grp", "is a group, not a dataset");
  expect_input_error(p2, "/vec", "is 1-D, expected a 2-D matrix");
  expect_input_error(p2, "/cube", "is 3-D");
  expect_input_error(p2, "/strings", "has string type");
  expect_input_error(p2, "/pairs", "has compound type");
}
END_TEST

START_TEST(spec_parsing) {
  char *f, *d;
  ck_assert_int_eq(prsvd_h5_parse_spec("data.h5:/X", &f, &d), 0);
  ck_assert_str_eq(f, "data.h5");
  ck_assert_str_eq(d, "/X");
  free(f), free(d);
  ck_assert_int_eq(prsvd_h5_parse_spec("C:/dir/a:b.h5:/g/X", &f, &d), 0);
  ck_assert_str_eq(f, "C:/dir/a:b.h5");
  ck_assert_str_eq(d, "/g/X");
  free(f), free(d);
  const char *bad[] = {"data.h5", "data.h5:", ":/X", "data.h5:X", "data.h5:/"};
  for (int i = 0; i < 5; i++) {
    ck_assert_int_eq(prsvd_h5_parse_spec(bad[i], &f, &d), PRSVD_ERR_INPUT);
    ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "expected FILE:/path/to/dataset"));
  }
}
END_TEST

/* prsvd_h5_write_csr: a 3 x 4 CSR group that the sparse reader densifies back, and each bad
 * CSR refused (offsets going down, a column out of range, rows not adding up) with nothing
 * committed. */
START_TEST(csr_writer) {
  char out[600];
  prsvd_h5_writer *w = NULL;
  make_dir();
  snprintf(out, sizeof out, "%s/csr.h5", dir);
  const int64_t ptr[4] = {0, 2, 2, 3}, idx[3] = {0, 3, 1};
  const double val[3] = {1.5, -2.0, 1e-300};
  ck_assert_int_eq(prsvd_h5_writer_create(MPI_COMM_SELF, out, 1, &w), 0);
  ck_assert_int_eq(prsvd_h5_write_csr(w, "/g/M", 3, 4, 3, ptr, idx, val), 0);
  ck_assert_int_eq(prsvd_h5_writer_commit(&w), 0);
  prsvd_source *src = NULL;
  struct prsvd_h5_info info;
  ck_assert_int_eq(prsvd_h5_open_source(MPI_COMM_SELF, out, "/g/M", &info, &src), 0);
  ck_assert(info.sparse && info.rows == 3 && info.cols == 4 && info.nnz == 3);
  double a[12], want[12] = {1.5, 0, 0, -2.0, 0, 0, 0, 0, 0, 1e-300, 0, 0};
  ck_assert_int_eq(prsvd_source_read(src, 0, 3, a), 0);
  for (int e = 0; e < 12; e++) ck_assert(a[e] == want[e]);
  prsvd_source_destroy(&src);

  const int64_t down[4] = {0, 2, 1, 3}, wide[3] = {0, 4, 1};
  snprintf(out, sizeof out, "%s/csr_bad.h5", dir);
  for (int c = 0; c < 3; c++) {
    ck_assert_int_eq(prsvd_h5_writer_create(MPI_COMM_SELF, out, 1, &w), 0);
    const int st = c == 0   ? prsvd_h5_write_csr(w, "/M", 3, 4, 3, down, idx, val)
                   : c == 1 ? prsvd_h5_write_csr(w, "/M", 3, 4, 3, ptr, wide, val)
                            : prsvd_h5_write_csr(w, "/M", 4, 4, 3, ptr, idx, val);
    ck_assert_int_eq(st, PRSVD_ERR_USAGE);
    ck_assert_ptr_nonnull(strstr(prsvd_error_message(), c < 2 ? "decreasing offsets or a column outside [0, 4)"
                                                              : "add up to 3, not 4"));
    prsvd_h5_writer_abort(&w);
    ck_assert_int_ne(access(out, F_OK), 0);
  }
}
END_TEST

/* An N-D dataset as the matrix of its sample axis (struct prsvd_h5_features): for every axis
 * of a chunked 4-D dataset, panels of 1, 2 and all samples equal the axis moved to the front
 * and the rest flattened in C order (the permuted hyperslabs); under --missing drop a NaN
 * flags its feature and zeroes its column, and weights multiply the columns after that. */
static const hsize_t ND[4] = {3, 5, 4, 2};
static double nd_value(const hsize_t *at) { return (double)(at[0] * 1000 + at[1] * 100 + at[2] * 10 + at[3]) + 0.5; }

START_TEST(nd_sample_axes) {
  make_dir();
  snprintf(path, sizeof path, "%s/nd.h5", dir);
  double a[120];
  for (hsize_t i = 0; i < 120; i++) {
    const hsize_t at[4] = {i / 40, i / 8 % 5, i / 2 % 4, i % 2};
    a[i] = nd_value(at);
  }
  a[1 * 40 + 3 * 8 + 2 * 2 + 1] = NAN; /* sample 1 along axis 0 */
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), sp = H5Screate_simple(4, ND, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  const hsize_t chunk[4] = {2, 3, 3, 1};
  H5Pset_chunk(dcpl, 4, chunk);
  hid_t d = H5Dcreate2(f, "T", H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a);
  H5Dclose(d), H5Pclose(dcpl), H5Sclose(sp), H5Fclose(f);
  for (int axis = 0; axis < 4; axis++) {
    char spec[8];
    snprintf(spec, sizeof spec, "%d", axis);
    struct prsvd_h5_features feat;
    memset(&feat, 0, sizeof feat);
    feat.sample_dim = spec;
    struct prsvd_h5_input how = {PRSVD_H5_READ_POSIX, PRSVD_H5_PANELS_ROWS, 1 << 20, 0, 0, &feat};
    struct prsvd_h5_info info;
    prsvd_source *src = NULL;
    ck_assert_int_eq(prsvd_h5_open_input(MPI_COMM_WORLD, path, "/T", &how, &info, &src), PRSVD_OK);
    const int64_t m = (int64_t)ND[axis], n = 120 / m;
    ck_assert_int_eq(info.rows, m);
    ck_assert_int_eq(info.cols, n);
    ck_assert_int_eq(feat.n, n);
    double panel[120];
    const int64_t steps[3] = {1, 2, m};
    for (int si = 0; si < 3; si++)
      for (int64_t r0 = 0, step = steps[si]; r0 < m; r0 += step) {
        const int64_t nr = r0 + step <= m ? step : m - r0;
        ck_assert_int_eq(prsvd_source_read(src, r0, nr, panel), PRSVD_OK);
        for (int64_t i = 0; i < nr; i++)
          for (int64_t j = 0; j < n; j++) { /* j's indices over the other axes, in C order */
            hsize_t at[4];
            int64_t rest = j;
            for (int ax = 3; ax >= 0; ax--) {
              if (ax == axis) continue;
              at[ax] = (hsize_t)(rest % (int64_t)ND[ax]);
              rest /= (int64_t)ND[ax];
            }
            at[axis] = (hsize_t)(r0 + i);
            const double want = nd_value(at), got = panel[i * n + j];
            if (at[0] == 1 && at[1] == 3 && at[2] == 2 && at[3] == 1) ck_assert(isnan(got));
            else ck_assert_msg(got == want, "axis %d, sample %lld, feature %lld: %g, not %g", axis,
                               (long long)(r0 + i), (long long)j, got, want);
          }
      }
    prsvd_source_destroy(&src);
    prsvd_h5_features_free(&feat);
  }
  /* --missing drop and weights, sample axis 2: the NaN's feature is (1, 3, 1) = 1 * 10 + 3 * 2 + 1 */
  struct prsvd_h5_features feat;
  memset(&feat, 0, sizeof feat);
  feat.sample_dim = "2";
  feat.missing = PRSVD_H5_MISSING_DROP;
  struct prsvd_h5_input how = {PRSVD_H5_READ_POSIX, PRSVD_H5_PANELS_ROWS, 1 << 20, 0, 0, &feat};
  struct prsvd_h5_info info;
  prsvd_source *src = NULL;
  ck_assert_int_eq(prsvd_h5_open_input(MPI_COMM_WORLD, path, "/T", &how, &info, &src), PRSVD_OK);
  double panel[120];
  ck_assert_int_eq(prsvd_source_read(src, 0, 2, panel), PRSVD_OK); /* samples 0, 1: no NaN yet */
  ck_assert_int_eq(feat.n_dropped, 0);
  ck_assert_int_eq(prsvd_source_read(src, 2, 2, panel), PRSVD_OK); /* sample 2 holds it */
  ck_assert_int_eq(feat.n_dropped, 1);
  ck_assert_int_eq(feat.fewest_dropped, 0); /* the first panel used the feature */
  ck_assert(feat.dropped[17]);
  for (int i = 0; i < 2; i++) {
    ck_assert(panel[i * 30 + 17] == 0.0);
    ck_assert(panel[i * 30 + 16] == nd_value((const hsize_t[4]){1, 3, (hsize_t)(2 + i), 0}));
  }
  prsvd_source_destroy(&src);
  prsvd_h5_features_free(&feat);
}
END_TEST

Suite *h5read_suite(void) {
  Suite *s = suite_create("h5read");
  TCase *t = tcase_create("reader");
  tcase_set_timeout(t, 60);
  tcase_add_test(t, every_type_and_layout);
  tcase_add_test(t, info_describes_layout);
  tcase_add_test(t, file_bytes_count_chunk_reads);
  tcase_add_test(t, bad_inputs);
  tcase_add_test(t, spec_parsing);
  tcase_add_test(t, csr_writer);
  tcase_add_test(t, nd_sample_axes);
  suite_add_tcase(s, t);
  return s;
}
