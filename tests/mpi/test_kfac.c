/*
 * The K-FAC preconditioner under mpirun -n 1..3 (no fork after MPI_Init): each rank takes its
 * block of every global minibatch, and the preconditioned gradients equal, to 1e-12, those of
 * a one-rank object (MPI_COMM_SELF) fed the whole minibatch, for every method; every rank
 * holds the same bits; the factors are spread over the ranks; an error on the owner of a
 * factor reaches every rank.  Factors decomposed by all ranks together (ScaLAPACK PDSYEVD,
 * distributed sketches) match LAPACK dsyevd on a planted spectrum, and the one-rank solvers.
 * Failure counts are combined so every rank exits alike.
 */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "kfac_impl.h"
#include "source_impl.h"
#include "prsvd_kfac.h"
#include "rng.h"

enum { N_LAYERS = 3, BATCH = 24, STEPS = 5 };
static const int64_t d_in[N_LAYERS] = {12, 9, 7}, d_out[N_LAYERS] = {9, 7, 4};
static const int bias[N_LAYERS] = {1, 1, 0};
static int rank, nprocs;

/* rows [0, BATCH) of a layer's activations or gradients at one step: decaying column scales
 * so the factors have decaying spectra (and gaps) */
static void batch_rows(int step, int layer, int which, int64_t d, double *x) {
  double *z = malloc(sizeof(double) * BATCH * d);
  prsvd_rng_fill(1000 + 10 * step + 2 * layer + which, 0, 0, d, 0, BATCH, z, d);
  for (int b = 0; b < BATCH; b++)
    for (int64_t j = 0; j < d; j++) x[b * d + j] = z[b * d + j] * pow(0.7, (double)j) + (j == 0 ? 0.3 : 0.0);
  free(z);
}

static prsvd_kfac *make(MPI_Comm comm, enum prsvd_kfac_method method, int pi_split, int64_t distribute_dim) {
  prsvd_kfac *kf = NULL;
  struct prsvd_kfac_params p = PRSVD_KFAC_PARAMS_INIT;
  int layer;
  p.method = method;
  p.rank = 4;
  p.oversample = 3;
  p.power_iters = 2;
  p.decay = 0.8;
  p.damping = 0.05;
  p.pi_split = pi_split;
  p.factor_period = 1;
  p.inverse_period = 2;
  p.distribute_dim = distribute_dim;
  ck_assert_int_eq(prsvd_kfac_create(comm, &kf), 0);
  ck_assert_int_eq(prsvd_kfac_set_params(kf, &p), 0);
  for (int l = 0; l < N_LAYERS; l++) {
    ck_assert_int_eq(prsvd_kfac_add_layer(kf, d_in[l], d_out[l], bias[l], &layer), 0);
    ck_assert_int_eq(layer, l);
  }
  return kf;
}

/* distribute_dim 0: each factor on one rank; 9: the factors of 9 and more by all ranks
 * together (ScaLAPACK or distributed sketches: the same up to rounding, 1e-10) */
static void distributed_case(enum prsvd_kfac_method method, int pi_split, int64_t distribute_dim) {
  prsvd_kfac *dist = make(MPI_COMM_WORLD, method, pi_split, distribute_dim), *one = make(MPI_COMM_SELF, method, pi_split, 0);
  const double tol = distribute_dim ? 1e-10 : 1e-12;
  int64_t r0, nr;
  prsvd_row_block(BATCH, rank, nprocs, &r0, &nr);
  for (int s = 0; s < STEPS; s++) {
    for (int l = 0; l < N_LAYERS; l++) {
      double *a = malloc(sizeof(double) * BATCH * d_in[l]), *g = malloc(sizeof(double) * BATCH * d_out[l]);
      batch_rows(s, l, 0, d_in[l], a);
      batch_rows(s, l, 1, d_out[l], g);
      ck_assert_int_eq(prsvd_kfac_wants_statistics(dist), 1);
      /* this rank's block of the minibatch; the one-rank object gets all of it */
      ck_assert_int_eq(prsvd_kfac_accumulate(dist, l, nr, a + r0 * d_in[l], d_in[l], g + r0 * d_out[l], d_out[l]), 0);
      ck_assert_int_eq(prsvd_kfac_accumulate(one, l, BATCH, a, d_in[l], g, d_out[l]), 0);
      free(a), free(g);
    }
    ck_assert_int_eq(prsvd_kfac_step(dist), 0);
    ck_assert_int_eq(prsvd_kfac_step(one), 0);
    for (int l = 0; l < N_LAYERS; l++) {
      const int64_t da = d_in[l] + bias[l], n = d_out[l] * da;
      double *grad = malloc(sizeof(double) * n), *x = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n);
      double big = 0, err = 0, lo[2], hi[2];
      prsvd_rng_fill(77 + s, 1, 0, n, 0, 1, grad, n);
      ck_assert_int_eq(prsvd_kfac_precondition(dist, l, grad, da, x, da), 0);
      ck_assert_int_eq(prsvd_kfac_precondition(one, l, grad, da, y, da), 0);
      for (int64_t i = 0; i < n; i++) big = fmax(big, fabs(y[i])), err = fmax(err, fabs(x[i] - y[i]));
      if (err > tol * big)
        ck_abort_msg("method %d%s, step %d, layer %d: %d ranks differ from 1 rank by %g (max %g)",
                     (int)method, pi_split ? " pi" : "", s, l, nprocs, err, big);
      /* the same bits on every rank: min and max over ranks of two checksums agree */
      lo[0] = hi[0] = 0, lo[1] = hi[1] = 0;
      for (int64_t i = 0; i < n; i++) lo[0] += x[i], lo[1] += x[i] * (double)(i + 1);
      hi[0] = lo[0], hi[1] = lo[1];
      MPI_Allreduce(MPI_IN_PLACE, lo, 2, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
      MPI_Allreduce(MPI_IN_PLACE, hi, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      ck_assert(lo[0] == hi[0] && lo[1] == hi[1]);
      free(grad), free(x), free(y);
    }
  }
  struct prsvd_kfac_stats st;
  ck_assert_int_eq(prsvd_kfac_get_stats(dist, &st), 0);
  ck_assert_int_eq(st.steps, STEPS);
  ck_assert_int_eq(st.factor_updates, STEPS);
  ck_assert_int_eq(st.refreshes, (STEPS + 1) / 2);
  prsvd_kfac_destroy(&dist);
  prsvd_kfac_destroy(&one);
}

/* Every method, each factor on one rank (distribute_dim 0) and the larger factors decomposed by
 * all ranks together (9), with and without the pi split */
static const struct {
  enum prsvd_kfac_method method;
  int pi_split;
  int64_t distribute_dim;
} cases[] = {{PRSVD_KFAC_EIG, 0, 0}, {PRSVD_KFAC_REVD, 1, 0}, {PRSVD_KFAC_NYSTROM, 0, 0}, {PRSVD_KFAC_RSVD, 1, 0},
             {PRSVD_KFAC_EIG, 1, 9}, {PRSVD_KFAC_REVD, 0, 9}, {PRSVD_KFAC_NYSTROM, 1, 9}, {PRSVD_KFAC_RSVD, 0, 9}};
START_TEST(distributed) { distributed_case(cases[_i].method, cases[_i].pi_split, cases[_i].distribute_dim); }
END_TEST

/* A planted factor F = Q diag(lambda) Q^T (n x n row-major), Q = I - 2 v v^T / |v|^2 a
 * Householder reflector, lambda_i = 0.6^i: every rank builds the same bits. */
enum { PN = 157 };
static void planted_factor(double *f, double *lambda) {
  double v[PN], vv = 0.0;
  prsvd_rng_fill(4242, 0, 0, PN, 0, 1, v, PN);
  for (int i = 0; i < PN; i++) vv += v[i] * v[i], lambda[i] = pow(0.6, i);
  for (int i = 0; i < PN; i++)
    for (int j = 0; j < PN; j++) {
      double sum = 0.0; /* sum_k Q_ik lambda_k Q_jk */
      for (int k = 0; k < PN; k++)
        sum += ((i == k) - 2 * v[i] * v[k] / vv) * lambda[k] * ((j == k) - 2 * v[j] * v[k] / vv);
      f[i * PN + j] = sum;
    }
  for (int i = 0; i < PN; i++) /* exactly symmetric */
    for (int j = 0; j < i; j++) f[i * PN + j] = f[j * PN + i];
}

/* max over the first r eigenpairs of |lambda - lambda_ref| / lambda_ref[0] and of
 * |u_j - u_ref_j| (the same signs by construction) */
static void compare(int64_t n, int64_t r, const double *u, const double *l, const double *u_ref,
                    const double *l_ref, double *err_l, double *err_u) {
  *err_l = *err_u = 0.0;
  for (int64_t j = 0; j < r; j++) {
    *err_l = fmax(*err_l, fabs(l[j] - l_ref[j]) / l_ref[0]);
    for (int64_t i = 0; i < n; i++) *err_u = fmax(*err_u, fabs(u[j * n + i] - u_ref[j * n + i]));
  }
}

/* All ranks together (PDSYEVD on a 2-D grid, distributed sketches) against dsyevd on one rank
 * and the planted spectrum; the randomized methods also against their one-rank runs. */
START_TEST(shared_eigh_matches_dsyevd) {
  double *f = malloc(sizeof(double) * PN * PN), planted[PN], *u_ref, *l_ref, err_l, err_u;
  int64_t r_ref;
  struct prsvd_kfac_params p = PRSVD_KFAC_PARAMS_INIT;
  prsvd_source *src = NULL;
  planted_factor(f, planted);
  p.method = PRSVD_KFAC_EIG;
  ck_assert_int_eq(prsvd_kfac_eigh(&p, "F", PN, f, PN, &r_ref, &u_ref, &l_ref), 0); /* dsyevd */
  ck_assert_int_eq(r_ref, PN);
  for (int j = 0; j < PN; j++) ck_assert_double_eq_tol(l_ref[j], planted[j], 1e-14);
  ck_assert_int_eq(prsvd_source_memory(PN, PN, f, PN, &src), 0);
  static const struct { enum prsvd_kfac_method m; double tol_l, tol_u; } methods[] = {
      {PRSVD_KFAC_EIG, 1e-13, 1e-10},  /* every eigenpair */
      {PRSVD_KFAC_REVD, 1e-13, 1e-9},  /* the top 10 */
      {PRSVD_KFAC_RSVD, 1e-13, 1e-9},
      {PRSVD_KFAC_NYSTROM, 3e-4, 3e-2}, /* one pass, no power iterations: measured 1e-4, 7e-3 */
  };
  for (size_t c = 0; c < sizeof methods / sizeof methods[0]; c++) {
    double *u, *l, *u1, *l1;
    int64_t r, r1;
    p.method = methods[c].m;
    p.rank = 10;
    p.oversample = 10;
    p.power_iters = 3;
    p.seed = 7;
    ck_assert_int_eq(prsvd_kfac_eigh_source(MPI_COMM_WORLD, &p, src, &r, &u, &l), 0);
    ck_assert_int_eq(r, methods[c].m == PRSVD_KFAC_EIG ? PN : 10);
    if (methods[c].m == PRSVD_KFAC_EIG) { /* all of U: F u_j = lambda_j u_j, U^T U = I */
      double res = 0.0, orth = 0.0;
      for (int j = 0; j < PN; j++)
        for (int i = 0; i < PN; i++) {
          double fu = 0.0, uu = 0.0;
          for (int k = 0; k < PN; k++) fu += f[i * PN + k] * u[j * PN + k], uu += u[i * PN + k] * u[j * PN + k];
          res = fmax(res, fabs(fu - l[j] * u[j * PN + i]));
          orth = fmax(orth, fabs(uu - (i == j)));
        }
      if (res > 1e-14 || orth > 1e-13) ck_abort_msg("PDSYEVD on %d ranks: residual %g, orthogonality %g", nprocs, res, orth);
    }
    /* the eigenvectors of the first 10 eigenvalues (the others cluster near 0, 0.6^156) */
    compare(PN, 10, u, l, u_ref, l_ref, &err_l, &err_u);
    if (err_l > methods[c].tol_l || err_u > methods[c].tol_u)
      ck_abort_msg("method %d on %d ranks: eigenvalues off by %g, eigenvectors by %g from dsyevd", (int)methods[c].m,
                   nprocs, err_l, err_u);
    /* the randomized methods: the sketches depend only on (seed, row, column) */
    ck_assert_int_eq(prsvd_kfac_eigh(&p, "F", PN, f, PN, &r1, &u1, &l1), 0);
    compare(PN, 10, u, l, u1, l1, &err_l, &err_u);
    if (err_l > 1e-12 || err_u > 1e-10)
      ck_abort_msg("method %d: %d ranks differ from 1 rank by %g (eigenvalues), %g (eigenvectors)", (int)methods[c].m,
                   nprocs, err_l, err_u);
    free(u), free(l), free(u1), free(l1);
  }
  prsvd_source_destroy(&src);
  free(f), free(u_ref), free(l_ref);
}
END_TEST

/* A NaN read by one rank of the 2-D grid stops every rank, naming its position. */
START_TEST(shared_eigh_nan_reaches_every_rank) {
  double *f = malloc(sizeof(double) * PN * PN), planted[PN], *u = NULL, *l = NULL;
  int64_t r;
  struct prsvd_kfac_params p = PRSVD_KFAC_PARAMS_INIT;
  prsvd_source *src = NULL;
  planted_factor(f, planted);
  f[150 * PN + 3] = NAN;
  ck_assert_int_eq(prsvd_source_memory(PN, PN, f, PN, &src), 0);
  ck_assert_int_eq(prsvd_source_rename(src, "F"), 0);
  for (int m = 0; m < 2; m++) {
    p.method = m ? PRSVD_KFAC_REVD : PRSVD_KFAC_EIG;
    p.rank = 10;
    ck_assert_int_eq(prsvd_kfac_eigh_source(MPI_COMM_WORLD, &p, src, &r, &u, &l), PRSVD_ERR_INPUT);
    ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "NaN at row 150, column 3"));
    ck_assert_ptr_null(u);
  }
  prsvd_source_destroy(&src);
  free(f);
}
END_TEST

/* Six factors over the ranks: as many owners as ranks (up to 6), the largest factor on rank 0.
 * With distribute_dim 9, the factors of 9 and more belong to all ranks (-1) once there are
 * several. */
START_TEST(factors_spread_over_ranks) {
  for (int64_t dd = 0; dd <= 9; dd += 9) {
    prsvd_kfac *kf = make(MPI_COMM_WORLD, PRSVD_KFAC_EIG, 0, dd);
    int used[64] = {0}, distinct = 0, owner;
    for (int l = 0; l < N_LAYERS; l++)
      for (int w = 0; w < 2; w++) {
        const int64_t d = w ? d_out[l] : d_in[l] + bias[l];
        ck_assert_int_eq(prsvd_kfac_owner(kf, l, w ? PRSVD_KFAC_G : PRSVD_KFAC_A, &owner), 0);
        if (dd && nprocs > 1 && d >= dd) {
          ck_assert_int_eq(owner, -1);
          continue;
        }
        ck_assert_int_ge(owner, 0);
        ck_assert_int_lt(owner, nprocs);
        if (!used[owner]++) distinct++;
      }
    if (!dd) {
      ck_assert_int_eq(distinct, nprocs < 6 ? nprocs : 6);
      ck_assert_int_eq(prsvd_kfac_owner(kf, 0, PRSVD_KFAC_A, &owner), 0); /* 13 x 13, the largest */
      ck_assert_int_eq(owner, 0);
    }
    prsvd_kfac_destroy(&kf);
  }
}
END_TEST

/* A NaN in a factor decomposed by one rank fails the refresh on every rank alike. */
START_TEST(owner_error_reaches_every_rank) {
  prsvd_kfac *kf = make(MPI_COMM_WORLD, PRSVD_KFAC_REVD, 0, 0);
  int owner;
  for (int l = 0; l < N_LAYERS; l++)
    for (int w = 0; w < 2; w++) {
      const int64_t d = w ? d_out[l] : d_in[l] + bias[l];
      double *f = calloc((size_t)(d * d), sizeof(double));
      for (int64_t i = 0; i < d; i++) f[i * d + i] = 1.0 + (double)i;
      if (l == 2 && w == 1) f[1 * d + 2] = f[2 * d + 1] = NAN;
      ck_assert_int_eq(prsvd_kfac_set_factor(kf, l, w ? PRSVD_KFAC_G : PRSVD_KFAC_A, f, d), 0);
      free(f);
    }
  ck_assert_int_eq(prsvd_kfac_owner(kf, 2, PRSVD_KFAC_G, &owner), 0);
  ck_assert_int_eq(prsvd_kfac_refresh(kf), PRSVD_ERR_INPUT);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "'layer 2/G' has NaN at row 1, column 2"));
  double grad[4 * 7] = {0};
  ck_assert_int_eq(prsvd_kfac_precondition(kf, 2, grad, 7, grad, 7), PRSVD_ERR_USAGE);
  prsvd_kfac_destroy(&kf);
}
END_TEST

int main(int argc, char **argv) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
  Suite *s = suite_create("kfac-distributed");
  TCase *t = tcase_create("kfac");
  tcase_set_timeout(t, 120);
  tcase_add_loop_test(t, distributed, 0, (int)(sizeof cases / sizeof cases[0]));
  tcase_add_test(t, shared_eigh_matches_dsyevd);
  tcase_add_test(t, shared_eigh_nan_reaches_every_rank);
  tcase_add_test(t, factors_spread_over_ranks);
  tcase_add_test(t, owner_error_reaches_every_rank);
  suite_add_tcase(s, t);
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, rank == 0 ? CK_NORMAL : CK_SILENT);
  int failed = srunner_ntests_failed(sr), any;
  srunner_free(sr);
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any ? EXIT_FAILURE : EXIT_SUCCESS;
}
