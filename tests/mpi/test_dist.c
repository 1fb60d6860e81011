/*
 * Distributed layer and the randomized SVD, under mpirun -n 1..4 (no fork after MPI_Init):
 * distributed QR and products against LAPACK on random inputs; the SVD of a planted matrix
 * against LAPACK's dgesdd.  Failure counts are combined so every rank exits alike.
 */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "prsvd_grid.h"
#include "blas.h"
#include "prsvd_planted.h"
#include "rng.h"
#include "source_impl.h"

static prsvd_grid *grid;

/* A (rows x cols) random, this rank's block filled from the global generator. */
static prsvd_dmat *random_dmat(int64_t rows, int64_t cols, uint64_t seed) {
  prsvd_dmat *a = NULL;
  int64_t r0, lr, ld;
  ck_assert_int_eq(prsvd_dmat_create(grid, rows, cols, &a), 0);
  double *d = prsvd_dmat_local(a, &r0, &lr, &ld);
  prsvd_rng_fill(seed, 0, r0, lr, 0, cols, d, ld);
  return a;
}

START_TEST(qr_matches_lapack) {
  const int64_t shapes[][2] = {{200, 7}, {31, 31}, {9, 4}, {1000, 40}};
  for (int s = 0; s < 4; s++) {
    const int64_t m = shapes[s][0], n = shapes[s][1];
    prsvd_dmat *a = random_dmat(m, n, 11 + s);
    double *full = malloc(sizeof(double) * m * n), *q = malloc(sizeof(double) * m * n);
    double *r = malloc(sizeof(double) * n * n), *g = malloc(sizeof(double) * n * n);
    ck_assert_int_eq(prsvd_dmat_allgather(a, full), 0);
    ck_assert_int_eq(prsvd_dmat_qr(a, r), 0);
    ck_assert_int_eq(prsvd_dmat_allgather(a, q), 0);
    /* Q^T Q = I */
    ck_assert_int_eq(prsvd_dmat_gram(a, g), 0);
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < n; j++) ck_assert_double_le(fabs(g[j * n + i] - (i == j)), 1e-13);
    /* Q R = A */
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double acc = 0;
        for (int64_t t = 0; t <= j; t++) acc += q[t * m + i] * r[j * n + t];
        ck_assert_double_le(fabs(acc - full[j * m + i]), 1e-12);
      }
    /* |R| equals LAPACK's (R is unique up to the signs of its rows) */
    int im = (int)m, in = (int)n, info, lwork = 64 * in;
    double *tau = malloc(sizeof(double) * n), *work = malloc(sizeof(double) * lwork);
    dgeqrf_(&im, &in, full, &im, tau, work, &lwork, &info);
    ck_assert_int_eq(info, 0);
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = i; j < n; j++)
        ck_assert_double_le(fabs(fabs(r[j * n + i]) - fabs(full[j * m + i])), 1e-12);
    free(tau), free(work), free(full), free(q), free(r), free(g);
    prsvd_dmat_destroy(&a);
    ck_assert_ptr_null(a);
  }
}
END_TEST

/* A = W diag(s) Z^T with s from 1 to 1/kappa: well-conditioned sketches take CholeskyQR2,
 * kappa = 1e10 and 1e11 (times kappa(Z) ~ 17) are detected and taken by shifted CholeskyQR3
 * (whose guarantee ends near kappa ~ 1 / (11 (m n + n (n + 1)) u) ~ 1e11 here), a numerically
 * rank-deficient one (kappa = 1e20) by Householder; all orthonormal to 1e-13 and Q R = A. */
enum qr_path { QR_CHOLQR2, QR_SHIFTED, QR_HOUSEHOLDER };
static void qr_conditioned(double kappa, enum qr_path expect) {
  const int64_t m = 600, n = 12;
  prsvd_dmat *w = random_dmat(m, n, 21), *a = NULL;
  double r[144], z[144], g[144], s[12];
  ck_assert_int_eq(prsvd_dmat_qr(w, r), 0); /* W orthonormal */
  prsvd_rng_fill(22, 0, 0, n, 0, n, z, n);
  for (int j = 0; j < n; j++) s[j] = pow(kappa, -(double)j / (n - 1));
  for (int i = 0; i < n; i++) /* diag(s) Z^T */
    for (int j = 0; j < n; j++) z[j * n + i] = s[i] * z[i * n + j];
  ck_assert_int_eq(prsvd_dmat_create(grid, m, n, &a), 0);
  ck_assert_int_eq(prsvd_dmat_mul_small(w, n, z, n, n, a), 0);
  int64_t r0, lr, ld;
  double *al = prsvd_dmat_local(a, &r0, &lr, &ld), *a0 = malloc(sizeof(double) * (size_t)(lr * n + 1));
  for (int64_t j = 0; j < n; j++) memcpy(a0 + j * lr, al + j * ld, sizeof(double) * (size_t)lr);
  struct prsvd_qr_stats before, after;
  prsvd_qr_stats_get(&before);
  ck_assert_int_eq(prsvd_dmat_qr(a, r), 0);
  prsvd_qr_stats_get(&after);
  ck_assert_int_eq(after.cholqr2 - before.cholqr2, expect == QR_CHOLQR2);
  ck_assert_int_eq(after.shifted - before.shifted, expect == QR_SHIFTED);
  ck_assert_int_eq(after.fallbacks - before.fallbacks, expect == QR_HOUSEHOLDER);
  ck_assert_int_eq(prsvd_dmat_gram(a, g), 0);
  double orth = 0;
  for (int64_t i = 0; i < n * n; i++) orth += pow(g[i] - ((i % (n + 1)) == 0), 2);
  ck_assert_double_le(sqrt(orth), 1e-13);
  /* Q R = A to rounding relative to ||A||_2 = 1 (this rank's rows) */
  for (int64_t i = 0; i < lr; i++)
    for (int64_t j = 0; j < n; j++) {
      double acc = 0;
      for (int64_t t = 0; t <= j; t++) acc += al[t * ld + i] * r[j * n + t];
      ck_assert_double_le(fabs(acc - a0[j * lr + i]), 1e-13);
    }
  free(a0);
  prsvd_dmat_destroy(&w);
  prsvd_dmat_destroy(&a);
}

START_TEST(qr_cholesky_and_fallback) {
  qr_conditioned(1e3, QR_CHOLQR2);
  qr_conditioned(1e10, QR_SHIFTED);
  qr_conditioned(1e11, QR_SHIFTED);
  qr_conditioned(1e20, QR_HOUSEHOLDER);
}
END_TEST

/* A(:, 0:k) = A S in A's storage (row blocks of 1024: 5000 rows cross block boundaries at
 * 1-4 ranks) against the out-of-place product; A's other columns untouched. */
START_TEST(mul_small_in_place) {
  const int64_t m = 5000, l = 7, k = 4;
  double s[28];
  prsvd_rng_fill(31, 0, 0, l, 0, k, s, l);
  prsvd_dmat *a = random_dmat(m, l, 32), *ref = NULL;
  ck_assert_int_eq(prsvd_dmat_create(grid, m, k, &ref), 0);
  ck_assert_int_eq(prsvd_dmat_mul_small(a, l, s, l, k, ref), 0);
  ck_assert_int_eq(prsvd_dmat_mul_small_in_place(a, s, l, k), 0);
  int64_t r0, lr, ld, rld;
  const double *al = prsvd_dmat_local(a, &r0, &lr, &ld),
               *rl = prsvd_dmat_local(ref, NULL, NULL, &rld);
  double orig[7];
  for (int64_t i = 0; i < lr; i++) {
    prsvd_rng_fill(32, 0, r0 + i, 1, 0, l, orig, 1);
    for (int64_t j = 0; j < k; j++)
      ck_assert_double_le(fabs(al[j * ld + i] - rl[j * rld + i]),
                          1e-14 * (1 + fabs(rl[j * rld + i])));
    for (int64_t j = k; j < l; j++) ck_assert_double_eq(al[j * ld + i], orig[j]);
  }
  ck_assert_int_ne(prsvd_dmat_mul_small_in_place(a, s, l, l + 1), 0); /* more columns than A has */
  prsvd_dmat_destroy(&a);
  prsvd_dmat_destroy(&ref);
}
END_TEST

START_TEST(reduce_scatter_allgather_products) {
  const int64_t m = 103, n = 6;
  int nprocs;
  MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
  double *full = malloc(sizeof(double) * m * n), *back = malloc(sizeof(double) * m * n);
  prsvd_rng_fill(5, 0, 0, m, 0, n, full, m);
  prsvd_dmat *a = NULL, *c = NULL;
  ck_assert_int_eq(prsvd_dmat_create(grid, m, n, &a), 0);
  /* every rank contributes the same full matrix: the sum is nprocs * full */
  ck_assert_int_eq(prsvd_dmat_reduce_scatter(full, a), 0);
  ck_assert_int_eq(prsvd_dmat_allgather(a, back), 0);
  for (int64_t i = 0; i < m * n; i++) ck_assert_double_le(fabs(back[i] - nprocs * full[i]), 1e-12);
  /* C = A S against a direct product; A R^-1 R = A */
  double s[6 * 3], r[36];
  prsvd_rng_fill(6, 0, 0, n, 0, 3, s, n);
  ck_assert_int_eq(prsvd_dmat_create(grid, m, 3, &c), 0);
  ck_assert_int_eq(prsvd_dmat_mul_small(a, n, s, n, 3, c), 0);
  int64_t r0, lr, ld;
  const double *cd = prsvd_dmat_local(c, &r0, &lr, &ld);
  for (int64_t i = 0; i < lr; i++)
    for (int64_t j = 0; j < 3; j++) {
      double acc = 0;
      for (int64_t t = 0; t < n; t++) acc += nprocs * full[t * m + r0 + i] * s[j * n + t];
      ck_assert_double_le(fabs(cd[j * ld + i] - acc), 1e-11);
    }
  memset(r, 0, sizeof r);
  for (int i = 0; i < 6; i++)
    for (int j = i; j < 6; j++) r[j * 6 + i] = (i == j) ? 2.0 + i : 0.5;
  ck_assert_int_eq(prsvd_dmat_solve_upper(a, r), 0);
  ck_assert_int_eq(prsvd_dmat_allgather(a, back), 0);
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double acc = 0;
      for (int64_t t = 0; t <= j; t++) acc += back[t * m + i] * r[j * 6 + t];
      ck_assert_double_le(fabs(acc - nprocs * full[j * m + i]), 1e-11);
    }
  free(full), free(back);
  prsvd_dmat_destroy(&a);
  prsvd_dmat_destroy(&c);
}
END_TEST

/* Every pr x pc grid of this many ranks: the layout of a 2-D grid.  Process column j's blocks
 * of an n-row matrix on by_cols tile column block j, the blocks tile [0, n), and each rank
 * holds at most ceil(n / P) rows of it and pr ceil(n / P) rows of X (the memory claim); the
 * reduce-scatter and allgather within a process column invert each other. */
START_TEST(grid2d_layout) {
  const int64_t n = 103, m = 57, cols = 3;
  int nprocs;
  MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
  for (int pc = 1; pc <= nprocs; pc++) {
    if (nprocs % pc) continue;
    const int pr = nprocs / pc;
    struct prsvd_grid2d *g = NULL;
    prsvd_dmat *h = NULL, *y = NULL;
    ck_assert_int_eq(prsvd_grid2d_create(MPI_COMM_WORLD, pr, pc, &g), 0);
    ck_assert_int_eq(g->i * pc + g->j, prsvd_grid_rank(grid));
    ck_assert_int_eq(prsvd_dmat_create(g->by_cols, n, cols, &h), 0);
    ck_assert_int_eq(prsvd_dmat_create(grid, m, cols, &y), 0);
    int64_t c0, nc, h0, hr, hld, r0, mr, y0, yr;
    prsvd_dmat_span(h, g->col_comm, &c0, &nc);
    double *hl = prsvd_dmat_local(h, &h0, &hr, &hld);
    prsvd_dmat_local(y, &y0, &yr, NULL);
    prsvd_dmat_span(y, g->row_comm, &r0, &mr);
    /* this rank's blocks lie inside its column block and process row's rows */
    ck_assert(h0 >= c0 && h0 + hr <= c0 + nc && y0 >= r0 && y0 + yr <= r0 + mr);
    ck_assert_int_le(hr, (n + nprocs - 1) / nprocs);
    ck_assert_int_le(nc, pr * ((n + nprocs - 1) / nprocs));
    if (pc > 1) ck_assert_int_lt(nc, n);
    /* the column blocks tile [0, n): their widths sum to n over a process row, in order */
    int64_t total = 0, first = 0;
    MPI_Allreduce(&nc, &total, 1, MPI_INT64_T, MPI_SUM, g->row_comm);
    MPI_Allreduce(&c0, &first, 1, MPI_INT64_T, MPI_MIN, g->row_comm);
    ck_assert_int_eq(total, n);
    ck_assert_int_eq(first, 0);
    /* every rank of the column contributes its block of a global matrix: the sum is pr times it */
    double *part = malloc(sizeof(double) * (size_t)(nc * cols)), *back = malloc(sizeof(double) * (size_t)(nc * cols));
    prsvd_rng_fill(8, 0, c0, nc, 0, cols, part, nc);
    ck_assert_int_eq(prsvd_dmat_reduce_scatter_within(part, g->col_comm, h), 0);
    for (int64_t c = 0; c < cols; c++)
      for (int64_t i = 0; i < hr; i++)
        ck_assert_double_le(fabs(hl[c * hld + i] - pr * part[c * nc + h0 - c0 + i]), 1e-13);
    ck_assert_int_eq(prsvd_dmat_allgather_within(h, g->col_comm, back), 0);
    for (int64_t i = 0; i < nc * cols; i++) ck_assert_double_le(fabs(back[i] - pr * part[i]), 1e-13);
    free(part), free(back);
    prsvd_dmat_destroy(&h);
    prsvd_dmat_destroy(&y);
    prsvd_grid2d_destroy(&g);
    ck_assert_ptr_null(g);
  }
}
END_TEST

/* The library API end to end on an in-memory planted matrix, against LAPACK. */
static void svd_against_lapack(enum prsvd_spectrum spectrum, double decay, int64_t m, int64_t n,
                               int64_t k, int q, int64_t memory, double tol_s) {
  struct prsvd_planted_params pp = {.rows = m, .cols = n, .spectrum = spectrum, .decay = decay,
                                    .rank = 5, .noise = 0.0, .seed = 3};
  prsvd_source *gen = NULL, *mem = NULL;
  double *a = malloc(sizeof(double) * m * n), *acopy = malloc(sizeof(double) * m * n);
  ck_assert_int_eq(prsvd_source_planted(&pp, &gen), 0);
  ck_assert_int_eq(prsvd_source_read(gen, 0, m, a), 0);
  memcpy(acopy, a, sizeof(double) * m * n);
  ck_assert_int_eq(prsvd_source_memory(m, n, a, n, &mem), 0);

  prsvd_svd *svd = NULL;
  struct prsvd_svd_params prm = PRSVD_SVD_PARAMS_INIT;
  prm.rank = k;
  prm.power_iters = q;
  prm.memory = memory;
  ck_assert_int_eq(prsvd_svd_create(MPI_COMM_WORLD, &svd), 0);
  ck_assert_int_eq(prsvd_svd_set_params(svd, &prm), 0);
  ck_assert_int_eq(prsvd_svd_solve(svd, mem), 0);
  const double *s, *u, *v;
  int64_t u0, ur, uld, v0, vr, vld;
  ck_assert_int_eq(prsvd_svd_get_singular_values(svd, &s), 0);
  ck_assert_int_eq(prsvd_svd_get_u(svd, &u, &u0, &ur, &uld), 0);
  ck_assert_int_eq(prsvd_svd_get_v(svd, &v, &v0, &vr, &vld), 0);

  /* LAPACK on the whole matrix: the reference singular values */
  int64_t mn = m < n ? m : n;
  double *sref = malloc(sizeof(double) * mn);
  int im = (int)n, in = (int)m, lwork = -1, info, *iwork = malloc(sizeof(int) * 8 * mn);
  double wq, *work;
  dgesdd_("N", &im, &in, acopy, &im, sref, NULL, &im, NULL, &in, &wq, &lwork, iwork, &info);
  lwork = (int)wq;
  work = malloc(sizeof(double) * lwork);
  dgesdd_("N", &im, &in, acopy, &im, sref, NULL, &im, NULL, &in, work, &lwork, iwork, &info);
  ck_assert_int_eq(info, 0);
  for (int64_t j = 0; j < k; j++) ck_assert_double_le(fabs(s[j] - sref[j]), tol_s * sref[0]);
  /* exact rank 5: the null directions must come out at rounding level, which the pass-
   * efficient B = H R^-1 with a singular R does not achieve (it gives ~1e-13) */
  if (spectrum == PRSVD_SPECTRUM_LOWRANK_NOISE)
    for (int64_t j = 5; j < k; j++) ck_assert_double_le(s[j], 1e-14 * s[0]);

  /* A v_j = s_j u_j on this rank's rows of U, with V gathered */
  double *vfull = calloc((size_t)(n * k), sizeof(double));
  for (int64_t i = 0; i < vr; i++)
    for (int64_t j = 0; j < k; j++) vfull[j * n + v0 + i] = v[j * vld + i];
  MPI_Allreduce(MPI_IN_PLACE, vfull, (int)(n * k), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  double worst = 0;
  for (int64_t j = 0; j < k; j++)
    for (int64_t i = 0; i < ur; i++) {
      double av = 0;
      for (int64_t t = 0; t < n; t++) av += a[(u0 + i) * n + t] * vfull[j * n + t];
      worst = fmax(worst, fabs(av - s[j] * u[j * uld + i]));
    }
  MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  /* ||A v_j - s_j u_j|| is the tail energy the sketch missed, bounded by sigma_{k+1}-ish */
  ck_assert_double_le(worst, 2.0 * sref[k < mn ? k : mn - 1] + 1e-12);
  free(a), free(acopy), free(sref), free(iwork), free(work), free(vfull);
  prsvd_svd_destroy(&svd);
  ck_assert_ptr_null(svd);
  prsvd_source_destroy(&mem);
  prsvd_source_destroy(&gen);
}

START_TEST(svd_poly) { svd_against_lapack(PRSVD_SPECTRUM_POLY, 2.0, 300, 80, 10, 2, 1 << 20, 1e-4); }
END_TEST
START_TEST(svd_exp_small_panels) {
  /* 16 rows per panel: many panels per rank */
  svd_against_lapack(PRSVD_SPECTRUM_EXP, 0.5, 240, 60, 8, 1, 16 * 60 * 8, 1e-10);
}
END_TEST
START_TEST(svd_exact_rank) {
  /* rank 5, k = 12: R is singular, the extra pass forms B = Q^T A */
  svd_against_lapack(PRSVD_SPECTRUM_LOWRANK_NOISE, 0.0, 150, 70, 12, 1, 1 << 20, 1e-12);
}
END_TEST

/* -q auto: what the estimate callback saw (the last pass's values, and how many calls). */
struct seen_estimates {
  int calls, last_iters;
  double values[16], change;
};
static void record_estimate(void *arg, int power_iters, int64_t k, const double *values,
                            double change) {
  struct seen_estimates *e = arg;
  e->calls++;
  e->last_iters = power_iters;
  e->change = change;
  for (int64_t j = 0; j < k && j < 16; j++) e->values[j] = values[j];
}

/* -q auto on a planted poly spectrum, plain and centered: the last estimate is the result (the
 * estimate is the result of stopping at that pass), the iterations stop at the first change
 * below conv_tol, and a fixed q of as many iterations gives the same S. */
START_TEST(svd_auto_estimate_is_result) {
  const int64_t m = 400, n = 120, k = 8;
  struct prsvd_planted_params pp = {.rows = m, .cols = n, .spectrum = PRSVD_SPECTRUM_POLY,
                                    .decay = 1.0, .rank = 5, .noise = 0.0, .seed = 4};
  prsvd_source *gen = NULL, *mem = NULL;
  double *a = malloc(sizeof(double) * m * n);
  ck_assert_int_eq(prsvd_source_planted(&pp, &gen), 0);
  ck_assert_int_eq(prsvd_source_read(gen, 0, m, a), 0);
  ck_assert_int_eq(prsvd_source_memory(m, n, a, n, &mem), 0);
  for (int center = 0; center < 2; center++) {
    struct seen_estimates seen = {0};
    struct prsvd_svd_params prm = PRSVD_SVD_PARAMS_INIT;
    struct prsvd_svd_stats st;
    prsvd_svd *svd = NULL;
    const double *s;
    double fixed[16];
    prm.rank = k, prm.center = center, prm.memory = 16 * n * 8; /* 16-row panels */
    prm.power_iters = PRSVD_POWER_ITERS_AUTO;
    prm.estimate = record_estimate, prm.progress_arg = &seen;
    ck_assert_int_eq(prsvd_svd_create(MPI_COMM_WORLD, &svd), 0);
    ck_assert_int_eq(prsvd_svd_set_params(svd, &prm), 0);
    ck_assert_int_eq(prsvd_svd_solve(svd, mem), 0);
    ck_assert_int_eq(prsvd_svd_get_stats(svd, &st), 0);
    ck_assert_int_eq(prsvd_svd_get_singular_values(svd, &s), 0);
    ck_assert_int_eq(seen.calls, st.power_iters + 1);
    ck_assert_int_eq(seen.last_iters, st.power_iters);
    ck_assert_int_eq(st.passes, st.power_iters + 1 + st.extra_pass);
    ck_assert(st.conv_met && st.conv_change == seen.change && st.conv_change < prm.conv_tol);
    ck_assert_int_gt(st.power_iters, 1);
    ck_assert_int_lt(st.power_iters, prm.max_power_iters);
    for (int64_t j = 0; j < k; j++) ck_assert_double_le(fabs(s[j] - seen.values[j]), 1e-12 * s[0]);
    prsvd_svd_destroy(&svd);
    /* the same iterations fixed: the same values, to rounding */
    prm.power_iters = st.power_iters;
    prm.estimate = NULL;
    ck_assert_int_eq(prsvd_svd_create(MPI_COMM_WORLD, &svd), 0);
    ck_assert_int_eq(prsvd_svd_set_params(svd, &prm), 0);
    ck_assert_int_eq(prsvd_svd_solve(svd, mem), 0);
    ck_assert_int_eq(prsvd_svd_get_singular_values(svd, &s), 0);
    memcpy(fixed, s, sizeof(double) * (size_t)k);
    for (int64_t j = 0; j < k; j++)
      ck_assert_double_le(fabs(fixed[j] - seen.values[j]), 1e-12 * fixed[0]);
    prsvd_svd_destroy(&svd);
  }
  prsvd_source_destroy(&mem);
  prsvd_source_destroy(&gen);
  free(a);
}
END_TEST

/* S, U and V (gathered, column-major) of a solve of a on a pr x pc grid. */
static void solve_on_grid(prsvd_source *a, struct prsvd_svd_params prm, int pr, int pc, double *s,
                          double *u, double *v) {
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a), k = prm.rank;
  prsvd_svd *svd = NULL;
  const double *sl, *ul, *vl;
  int64_t u0, ur, uld, v0, vr, vld;
  prm.grid_rows = pr, prm.grid_cols = pc;
  ck_assert_int_eq(prsvd_svd_create(MPI_COMM_WORLD, &svd), 0);
  ck_assert_int_eq(prsvd_svd_set_params(svd, &prm), 0);
  ck_assert_int_eq(prsvd_svd_solve(svd, a), 0);
  ck_assert_int_eq(prsvd_svd_get_singular_values(svd, &sl), 0);
  ck_assert_int_eq(prsvd_svd_get_u(svd, &ul, &u0, &ur, &uld), 0);
  ck_assert_int_eq(prsvd_svd_get_v(svd, &vl, &v0, &vr, &vld), 0);
  memcpy(s, sl, sizeof(double) * (size_t)k);
  memset(u, 0, sizeof(double) * (size_t)(m * k));
  memset(v, 0, sizeof(double) * (size_t)(n * k));
  for (int64_t j = 0; j < k; j++) {
    for (int64_t i = 0; i < ur; i++) u[j * m + u0 + i] = ul[j * uld + i];
    for (int64_t i = 0; i < vr; i++) v[j * n + v0 + i] = vl[j * vld + i];
  }
  MPI_Allreduce(MPI_IN_PLACE, u, (int)(m * k), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, v, (int)(n * k), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  prsvd_svd_destroy(&svd);
}

static double max_diff(const double *a, const double *b, int64_t count) {
  double d = 0;
  for (int64_t i = 0; i < count; i++) d = fmax(d, fabs(a[i] - b[i]));
  return d;
}

/* Every pr x pc grid of this many ranks gives the P x 1 result to 1e-10: plain, centred (PCA),
 * with panels of 16 rows (many per-panel sums), and with an ill-conditioned R (the extra pass
 * gathers Q's rows over the process row). */
static void grid2d_matches_1d(enum prsvd_spectrum spectrum, double decay, int64_t m, int64_t n, int64_t k,
                              int center, int64_t memory) {
  struct prsvd_planted_params pp = {.rows = m, .cols = n, .spectrum = spectrum, .decay = decay,
                                    .rank = 5, .noise = 0.0, .seed = 4};
  prsvd_source *gen = NULL, *mem = NULL;
  double *a = malloc(sizeof(double) * m * n);
  int nprocs;
  MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
  ck_assert_int_eq(prsvd_source_planted(&pp, &gen), 0);
  ck_assert_int_eq(prsvd_source_read(gen, 0, m, a), 0);
  for (int64_t i = 0; center && i < m * n; i++) a[i] += 0.02 + 1e-3 * (double)(i % n); /* column offsets */
  ck_assert_int_eq(prsvd_source_memory(m, n, a, n, &mem), 0);
  struct prsvd_svd_params prm = PRSVD_SVD_PARAMS_INIT;
  prm.rank = k, prm.power_iters = 2, prm.memory = memory, prm.center = center;
  double *s1 = malloc(sizeof(double) * k), *u1 = malloc(sizeof(double) * m * k), *v1 = malloc(sizeof(double) * n * k);
  double *s2 = malloc(sizeof(double) * k), *u2 = malloc(sizeof(double) * m * k), *v2 = malloc(sizeof(double) * n * k);
  solve_on_grid(mem, prm, nprocs, 1, s1, u1, v1);
  for (int pc = 2; pc <= nprocs; pc++) {
    if (nprocs % pc) continue;
    solve_on_grid(mem, prm, nprocs / pc, pc, s2, u2, v2);
    ck_assert_double_le(max_diff(s1, s2, k), 1e-12 * s1[0]);
    if (spectrum != PRSVD_SPECTRUM_LOWRANK_NOISE) {
      ck_assert_double_le(max_diff(u1, u2, m * k), 1e-10);
      ck_assert_double_le(max_diff(v1, v2, n * k), 1e-10);
      continue;
    }
    /* five unit singular values: only the span of U's first five columns is determined */
    double worst = 0;
    for (int64_t i = 0; i < m; i++)
      for (int64_t t = 0; t < m; t++) {
        double p1 = 0, p2 = 0;
        for (int64_t j = 0; j < 5; j++) p1 += u1[j * m + i] * u1[j * m + t], p2 += u2[j * m + i] * u2[j * m + t];
        worst = fmax(worst, fabs(p1 - p2));
      }
    ck_assert_double_le(worst, 1e-10);
    for (int64_t j = 5; j < k; j++) ck_assert_double_le(s2[j], 1e-14); /* the extra pass's B = Q^T A */
  }
  free(s1), free(u1), free(v1), free(s2), free(u2), free(v2), free(a);
  prsvd_source_destroy(&mem);
  prsvd_source_destroy(&gen);
}

START_TEST(svd_grid2d) {
  grid2d_matches_1d(PRSVD_SPECTRUM_EXP, 0.3, 200, 61, 6, 0, 1 << 20);
  grid2d_matches_1d(PRSVD_SPECTRUM_EXP, 0.1, 200, 61, 6, 1, 16 * 61 * 8);
  grid2d_matches_1d(PRSVD_SPECTRUM_LOWRANK_NOISE, 0.0, 150, 47, 9, 0, 1 << 20);
}
END_TEST

START_TEST(svd_rejects_bad_rank) {
  double a[12] = {0};
  prsvd_source *mem = NULL;
  prsvd_svd *svd = NULL;
  struct prsvd_svd_params prm = PRSVD_SVD_PARAMS_INIT;
  ck_assert_int_eq(prsvd_source_memory(4, 3, a, 3, &mem), 0);
  ck_assert_int_eq(prsvd_svd_create(MPI_COMM_WORLD, &svd), 0);
  prm.rank = 4;
  prsvd_svd_set_params(svd, &prm);
  ck_assert_int_eq(prsvd_svd_solve(svd, mem), 1);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "must be between 1 and min(rows, cols) = 3"));
  prsvd_svd_destroy(&svd);
  prsvd_source_destroy(&mem);
}
END_TEST

/* The gathered U or V of svd on rank root (PRSVD_ALL_RANKS: every rank) equals, bit for bit,
 * the blocks every rank holds (summed into place: x + 0 is exact). */
static void gathered_equals_blocks(const prsvd_svd *svd, int which_v, int root, int64_t rows,
                                   int64_t k) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const double *block;
  double *full = NULL, *ref = calloc((size_t)(rows * k), sizeof(double));
  int64_t r0, lr, ld, grows = -1, gld = -1;
  if (which_v) {
    ck_assert_int_eq(prsvd_svd_get_v(svd, &block, &r0, &lr, &ld), 0);
    ck_assert_int_eq(prsvd_svd_gather_v(svd, root, &full, &grows, &gld), 0);
  } else {
    ck_assert_int_eq(prsvd_svd_get_u(svd, &block, &r0, &lr, &ld), 0);
    ck_assert_int_eq(prsvd_svd_gather_u(svd, root, &full, &grows, &gld), 0);
  }
  for (int64_t j = 0; j < k; j++)
    for (int64_t i = 0; i < lr; i++) ref[j * rows + r0 + i] = block[j * ld + i];
  MPI_Allreduce(MPI_IN_PLACE, ref, (int)(rows * k), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  ck_assert_int_eq(grows, rows);
  ck_assert_int_eq(gld, rows);
  if (root == PRSVD_ALL_RANKS || root == rank) {
    ck_assert_ptr_nonnull(full);
    for (int64_t t = 0; t < rows * k; t++) ck_assert_double_eq(full[t], ref[t]);
  } else {
    ck_assert_ptr_null(full);
  }
  prsvd_svd_free_gathered(&full);
  ck_assert_ptr_null(full);
  free(ref);
}

/* prsvd_svd_gather_u/v against the distributed blocks: on rank 0, the last rank and every rank,
 * after solves on every pr x pc grid of this many ranks (V then lives on the by_cols grid,
 * whose rank order differs), and for a symmetric method (V = U); the errors: no result yet, a
 * root that is no rank (on every rank alike, nothing allocated). */
START_TEST(svd_gather) {
  const int64_t m = 91, n = 37, k = 5;
  struct prsvd_planted_params pp = {
      .rows = m, .cols = n, .spectrum = PRSVD_SPECTRUM_EXP, .decay = 0.2, .seed = 5};
  prsvd_source *gen = NULL, *mem = NULL;
  double *a = malloc(sizeof(double) * m * m), *u = NULL;
  int nprocs;
  int64_t rows, ld;
  MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
  ck_assert_int_eq(prsvd_source_planted(&pp, &gen), 0);
  ck_assert_int_eq(prsvd_source_read(gen, 0, m, a), 0);
  ck_assert_int_eq(prsvd_source_memory(m, n, a, n, &mem), 0);
  prsvd_svd *svd = NULL;
  struct prsvd_svd_params prm = prsvd_svd_params_default();
  prm.rank = k;
  ck_assert_int_eq(prsvd_svd_create(MPI_COMM_WORLD, &svd), 0);
  ck_assert_int_eq(prsvd_svd_gather_u(svd, 0, &u, &rows, &ld), PRSVD_ERR_USAGE);
  ck_assert_ptr_null(u);
  for (int pc = 1; pc <= nprocs; pc++) {
    if (nprocs % pc) continue;
    prm.grid_rows = nprocs / pc, prm.grid_cols = pc;
    ck_assert_int_eq(prsvd_svd_set_params(svd, &prm), 0);
    ck_assert_int_eq(prsvd_svd_solve(svd, mem), 0);
    const int roots[3] = {0, nprocs - 1, PRSVD_ALL_RANKS};
    for (int r = 0; r < 3; r++) {
      gathered_equals_blocks(svd, 0, roots[r], m, k);
      gathered_equals_blocks(svd, 1, roots[r], n, k);
    }
  }
  ck_assert_int_eq(prsvd_svd_gather_u(svd, nprocs, &u, &rows, &ld), PRSVD_ERR_USAGE);
  ck_assert_ptr_null(u);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "cannot gather U on rank"));
  ck_assert_int_eq(prsvd_svd_gather_v(svd, -2, &u, &rows, &ld), PRSVD_ERR_USAGE);
  ck_assert_ptr_null(u);
  prsvd_source_destroy(&mem);
  prsvd_source_destroy(&gen);

  /* symmetric PSD, Nystrom: V is U */
  pp.cols = m, pp.symmetric = 1;
  ck_assert_int_eq(prsvd_source_planted(&pp, &gen), 0);
  ck_assert_int_eq(prsvd_source_read(gen, 0, m, a), 0);
  ck_assert_int_eq(prsvd_source_memory(m, m, a, m, &mem), 0);
  prm = prsvd_svd_params_default();
  prm.rank = k, prm.method = PRSVD_METHOD_NYSTROM;
  ck_assert_int_eq(prsvd_svd_set_params(svd, &prm), 0);
  ck_assert_int_eq(prsvd_svd_solve(svd, mem), 0);
  double *v = NULL;
  ck_assert_int_eq(prsvd_svd_gather_u(svd, PRSVD_ALL_RANKS, &u, &rows, &ld), 0);
  ck_assert_int_eq(prsvd_svd_gather_v(svd, PRSVD_ALL_RANKS, &v, &rows, &ld), 0);
  ck_assert_int_eq(rows, m);
  for (int64_t t = 0; t < m * k; t++) ck_assert_double_eq(u[t], v[t]);
  prsvd_svd_free_gathered(&u);
  prsvd_svd_free_gathered(&v);
  prsvd_svd_free_gathered(NULL);
  prsvd_svd_destroy(&svd);
  prsvd_source_destroy(&mem);
  prsvd_source_destroy(&gen);
  free(a);
}
END_TEST

int main(int argc, char **argv) {
  int provided, rank;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (prsvd_grid_create(MPI_COMM_WORLD, &grid)) MPI_Abort(MPI_COMM_WORLD, 1);
  Suite *s = suite_create("distributed");
  TCase *t = tcase_create("dmat");
  tcase_set_timeout(t, 120);
  tcase_add_test(t, qr_matches_lapack);
  tcase_add_test(t, qr_cholesky_and_fallback);
  tcase_add_test(t, mul_small_in_place);
  tcase_add_test(t, reduce_scatter_allgather_products);
  tcase_add_test(t, grid2d_layout);
  suite_add_tcase(s, t);
  t = tcase_create("svd");
  tcase_set_timeout(t, 120);
  tcase_add_test(t, svd_poly);
  tcase_add_test(t, svd_exp_small_panels);
  tcase_add_test(t, svd_exact_rank);
  tcase_add_test(t, svd_auto_estimate_is_result);
  tcase_add_test(t, svd_grid2d);
  tcase_add_test(t, svd_rejects_bad_rank);
  tcase_add_test(t, svd_gather);
  suite_add_tcase(s, t);
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, rank == 0 ? CK_NORMAL : CK_SILENT);
  int failed = srunner_ntests_failed(sr), any;
  srunner_free(sr);
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  prsvd_grid_destroy(&grid);
  MPI_Finalize();
  return any ? EXIT_FAILURE : EXIT_SUCCESS;
}
