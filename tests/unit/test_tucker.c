/* The Tucker decomposition's kernels: the mode product against loops, the slab source of an
 * N-D dataset (io/h5source.c's N-D path with sample axis 0, as prsvd tucker opens it) against
 * the values written, chunked and compressed, and the plan's sketch widths. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prsvd_h5.h"
#include "error.h"
#include "rng.h"
#include "source_impl.h"
#include "suites.h"
#include "tucker_impl.h"

/* x x_n op(M) by loops: out[a, j, b] = sum_i op(M)[j, i] x[a, i, b]. */
static void ttm_loops(const double *x, int nd, const int64_t *dims, int n, const double *m, int64_t ldm,
                      int64_t out_dim, int trans, double *out) {
  const int64_t L = prsvd_dims_prod(dims, 0, n), in = dims[n], R = prsvd_dims_prod(dims, n + 1, nd);
  for (int64_t a = 0; a < L; a++)
    for (int64_t j = 0; j < out_dim; j++)
      for (int64_t b = 0; b < R; b++) {
        double s = 0.0;
        for (int64_t i = 0; i < in; i++) s += (trans ? m[j * ldm + i] : m[i * ldm + j]) * x[(a * in + i) * R + b];
        out[(a * out_dim + j) * R + b] = s;
      }
}

START_TEST(mode_product_matches_loops) {
  const int64_t dims[4] = {4, 3, 5, 2};
  double x[120], m[64], got[256], want[256];
  prsvd_rng_fill(7, PRSVD_STREAM_OMEGA, 0, 120, 0, 1, x, 120);
  for (int n = 0; n < 4; n++)
    for (int trans = 0; trans < 2; trans++) {
      const int64_t out = 6 - n, in = dims[n], ldm = trans ? in : out;
      const int64_t total = 120 / in * out;
      prsvd_rng_fill(9, PRSVD_STREAM_PROBE, 0, ldm, 0, trans ? out : in, m, ldm);
      prsvd_ttm(x, 4, dims, n, m, ldm, out, trans, got);
      ttm_loops(x, 4, dims, n, m, ldm, out, trans, want);
      for (int64_t i = 0; i < total; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= 1e-13 * (1 + fabs(want[i])), "mode %d trans %d entry %lld: %g vs %g",
                      n, trans, (long long)i, got[i], want[i]);
    }
}
END_TEST

static char dir[] = "/tmp/prsvd-tucker-XXXXXX";

/* A 7 x 3 x 4 x 2 int32 dataset, chunked 2 x 3 x 2 x 1 and deflated, a[i][j][k][l] =
 * 1000 i + 100 j + 10 k + l. */
static void write_files(const char *p) {
  hsize_t dims[4] = {7, 3, 4, 2}, chunk[4] = {2, 3, 2, 1};
  int v[168];
  for (int i = 0, t = 0; i < 7; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 4; k++)
        for (int l = 0; l < 2; l++) v[t++] = 1000 * i + 100 * j + 10 * k + l;
  hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), s = H5Screate_simple(4, dims, NULL);
  H5Pset_chunk(dcpl, 4, chunk);
  H5Pset_deflate(dcpl, 4);
  hid_t d = H5Dcreate2(f, "/T", H5T_STD_I32LE, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
  H5Dclose(d), H5Sclose(s), H5Pclose(dcpl), H5Fclose(f);
}

START_TEST(slab_source_reads_the_unfolding) {
  char p[600];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(p, sizeof p, "%s/t.h5", dir);
  write_files(p);
  struct prsvd_h5_features f = {0};
  struct prsvd_h5_info info;
  const struct prsvd_h5_input how = {PRSVD_H5_READ_POSIX, PRSVD_H5_PANELS_ROWS, 0, 0, 0, &f};
  prsvd_source *src = NULL;
  ck_assert_int_eq(prsvd_h5_open_input(MPI_COMM_SELF, p, "/T", &how, &info, &src), 0);
  ck_assert_int_eq(f.ndims, 4);
  ck_assert_int_eq(f.sample_axis, 0);
  ck_assert_int_eq(prsvd_source_rows(src), 7);
  ck_assert_int_eq(prsvd_source_cols(src), 24);
  ck_assert(info.chunked && info.chunk_rows == 2 && info.chunk_cols == 6);
  ck_assert_str_eq(info.type, "int32");
  ck_assert_ptr_nonnull(strstr(info.filters, "gzip(4)"));
  double buf[3 * 24];
  const int starts[3] = {0, 2, 5}, counts[3] = {2, 3, 2}; /* panels across the chunk grid */
  for (int t = 0; t < 3; t++) {
    ck_assert_int_eq(prsvd_source_read(src, starts[t], counts[t], buf), 0);
    for (int r = 0; r < counts[t]; r++)
      for (int c = 0; c < 24; c++) { /* column c = (j, k, l) in C order */
        const int i = starts[t] + r, j = c / 8, k = c / 2 % 4, l = c % 2;
        ck_assert_msg(buf[r * 24 + c] == 1000 * i + 100 * j + 10 * k + l, "slab %d value %d: %g", i, c, buf[r * 24 + c]);
      }
  }
  prsvd_source_destroy(&src);
  prsvd_h5_features_free(&f);
  unlink(p);
  rmdir(dir);
}
END_TEST

/* The two-pass sketch widths: by default 2r + 10 (at most d), and on the Z route (Z and its
 * truncation within the memory budget) mode 1 3r + 10 where Z still fits and the whole of
 * modes 2..N; on the sketched core's route
 * cut by one fraction of r + 10 for every mode where the small core would pass 2^24 entries,
 * and never below r; a -p given is kept. */
START_TEST(plan_widths_default_and_cut) {
  static const double one = 0.0;
  prsvd_source *src = NULL;
  struct prsvd_tucker_params prm = PRSVD_TUCKER_PARAMS_INIT;
  struct prsvd_tucker_plan plan;
  const int64_t small[3] = {50, 40, 30}, big[3] = {300, 300, 300};
  ck_assert_int_eq(prsvd_source_memory(50, 1200, &one, 1200, &src), 0);
  prm.ranks[0] = 6, prm.ranks[1] = 6, prm.ranks[2] = 12;
  ck_assert_int_eq(prsvd_tucker_plan(&prm, src, 3, small, 1, &plan), 0); /* Z: 8 (28 + 6) 1200 + 16 40^2 */
  ck_assert(plan.route == PRSVD_TUCKER_ROUTE_Z && plan.z_bytes == 352000);
  ck_assert(plan.sketch[0] == 28 && plan.sketch[1] == 40 && plan.sketch[2] == 30 && plan.core_sketch[0] == 0);
  prm.memory = plan.z_bytes - 1; /* mode 1 at 3r + 10 beyond it, at 2r + 10 within: 8 (22 + 6) 1200 + 16 40^2 */
  ck_assert_int_eq(prsvd_tucker_plan(&prm, src, 3, small, 1, &plan), 0);
  ck_assert(plan.route == PRSVD_TUCKER_ROUTE_Z && plan.z_bytes == 294400 && plan.sketch[0] == 22);
  prm.memory = plan.z_bytes - 1;
  ck_assert_int_eq(prsvd_tucker_plan(&prm, src, 3, small, 1, &plan), 0);
  ck_assert(plan.route == PRSVD_TUCKER_ROUTE_CORE && plan.z_bytes == 294400);
  ck_assert(plan.sketch[0] == 22 && plan.sketch[1] == 22 && plan.sketch[2] == 30 && plan.core_sketch[0] == 0);
  prm.oversample = 3, prm.memory = 100000; /* Z: 8 (9 + 6) 1200 + 16 40^2 = 169600 */
  ck_assert_int_eq(prsvd_tucker_plan(&prm, src, 3, small, 1, &plan), 0);
  ck_assert(plan.sketch[0] == 9 && plan.sketch[1] == 9 && plan.sketch[2] == 15);
  prsvd_source_destroy(&src);
  ck_assert_int_eq(prsvd_source_memory(300, 90000, &one, 90000, &src), 0);
  prm.oversample = PRSVD_TUCKER_OVERSAMPLE_AUTO;
  prm.memory = 64 << 20; /* a 270 x 300 x 300 Z (194 MB) beyond it: the sketched core */
  prm.ranks[0] = prm.ranks[1] = prm.ranks[2] = 130; /* 270^3 > 2^24: p = 140 * 14 / 16 = 122 */
  ck_assert_int_eq(prsvd_tucker_plan(&prm, src, 3, big, 1, &plan), 0);
  ck_assert_int_eq(plan.sketch[0], 252);
  ck_assert(plan.sketch[0] * plan.sketch[1] * plan.sketch[2] <= (1 << 24));
  prm.ranks[0] = prm.ranks[1] = prm.ranks[2] = 290; /* 290^3 > 2^24 already: no oversampling */
  ck_assert_int_eq(prsvd_tucker_plan(&prm, src, 3, big, 1, &plan), 0);
  ck_assert_int_eq(plan.sketch[2], 290);
  prm.oversample = 140; /* given: kept */
  prm.ranks[0] = prm.ranks[1] = prm.ranks[2] = 130;
  ck_assert_int_eq(prsvd_tucker_plan(&prm, src, 3, big, 1, &plan), 0);
  ck_assert_int_eq(plan.sketch[1], 270);
  prsvd_source_destroy(&src);
}
END_TEST

Suite *tucker_suite(void) {
  Suite *s = suite_create("tucker");
  TCase *tc = tcase_create("kernels");
  tcase_add_test(tc, mode_product_matches_loops);
  tcase_add_test(tc, slab_source_reads_the_unfolding);
  tcase_add_test(tc, plan_widths_default_and_cut);
  suite_add_tcase(s, tc);
  return s;
}
