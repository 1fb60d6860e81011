/*
 * A truncated SVD of a matrix held in memory, with libprsvd installed:
 *
 *   cc svd_memory.c $(pkg-config --cflags --libs libprsvd) -lm -o svd_memory
 *   mpirun -n 2 ./svd_memory
 *
 * Every rank builds the same 300 x 60 matrix with a known spectrum,
 *
 *   A = H_u D H_v,  D = diag(sigma),  sigma_j = 2^-j,  H_x = I - 2 x x^T (|x| = 1),
 *
 * whose singular values are sigma exactly and whose singular vectors are the reflections of
 * the coordinate vectors.  prsvd estimates what the solve will cost (passes, bytes, memory a
 * rank), computes the top k triplets, each rank reading its own rows; rank 0 gathers U and V
 * whole, prints S, and checks S against sigma, the residuals ||A v_j - s_j u_j|| / s_j, and
 * the passes and bytes read against the estimate.  Exits 0 when all hold, 1 when not (on
 * every rank alike).
 */
#include <math.h>
#include <prsvd.h>
#include <stdio.h>
#include <stdlib.h>

enum { ROWS = 300, COLS = 60, RANK = 6 };

/* A (row-major) = H_u D H_v with u_i, v_i proportional to sin(i + 1) and cos(3 i). */
static void build(double *a, double *sigma) {
  double u[ROWS], v[COLS], c[COLS], nu = 0, nv = 0;
  for (int i = 0; i < ROWS; i++) u[i] = sin(i + 1.0), nu += u[i] * u[i];
  for (int j = 0; j < COLS; j++) v[j] = cos(3.0 * j), nv += v[j] * v[j];
  for (int i = 0; i < ROWS; i++) u[i] /= sqrt(nu);
  for (int j = 0; j < COLS; j++) v[j] /= sqrt(nv), sigma[j] = ldexp(1.0, -j);
  /* B = D H_v: B_ij = sigma_i (delta_ij - 2 v_i v_j) for i < COLS, 0 below */
  for (int i = 0; i < ROWS; i++)
    for (int j = 0; j < COLS; j++)
      a[i * COLS + j] = i < COLS ? sigma[i] * ((i == j) - 2 * v[i] * v[j]) : 0.0;
  /* A = H_u B = B - 2 u (u^T B) */
  for (int j = 0; j < COLS; j++) {
    c[j] = 0;
    for (int i = 0; i < ROWS; i++) c[j] += u[i] * a[i * COLS + j];
  }
  for (int i = 0; i < ROWS; i++)
    for (int j = 0; j < COLS; j++) a[i * COLS + j] -= 2 * u[i] * c[j];
}

/* Rank 0: S against sigma and the residuals of the gathered U and V (column-major). */
static int check(const double *a, const double *sigma, const double *s, const double *u,
                 int64_t ldu, const double *v, int64_t ldv) {
  int ok = 1;
  for (int j = 0; j < RANK; j++) {
    double r2 = 0;
    for (int i = 0; i < ROWS; i++) {
      double av = 0;
      for (int t = 0; t < COLS; t++) av += a[i * COLS + t] * v[j * ldv + t];
      r2 += (av - s[j] * u[j * ldu + i]) * (av - s[j] * u[j * ldu + i]);
    }
    const double err = fabs(s[j] - sigma[j]) / sigma[j], res = sqrt(r2) / s[j];
    printf("s_%d = %.15f  (sigma = %.15f, relative error %.1e, residual %.1e)\n", j + 1, s[j],
           sigma[j], err, res);
    if (!(err <= 1e-10 && res <= 1e-8)) ok = 0;
  }
  printf("%s\n", ok ? "ok: the known spectrum" : "wrong: not the known spectrum");
  return ok;
}

int main(int argc, char **argv) {
  static double a[ROWS * COLS];
  double sigma[COLS], *u = NULL, *v = NULL;
  const double *s = NULL;
  int64_t k = 0, rows, ldu, ldv;
  int rank, nprocs, ok = 0;
  struct prsvd_svd_estimate est;
  struct prsvd_svd_stats stats;
  prsvd_source *src = NULL;
  prsvd_svd *svd = NULL;

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
  build(a, sigma);

  struct prsvd_svd_params params = prsvd_svd_params_default();
  params.rank = RANK;
  params.power_iters = 2;
  /* the collective calls return the same status on every rank */
  int status = prsvd_source_memory(ROWS, COLS, a, COLS, &src);
  /* what the solve will cost, before it runs (not collective) */
  if (!status) status = prsvd_svd_estimate(&params, src, nprocs, &est);
  if (!status && rank == 0)
    printf("planned: %d passes of %.0f bytes, %.3g flops, %lld bytes a rank\n", est.passes, est.pass_bytes,
           est.flops, (long long)est.memory.total);
  if (!status) status = prsvd_svd_create(MPI_COMM_WORLD, &svd);
  if (!status) status = prsvd_svd_set_params(svd, &params);
  if (!status) status = prsvd_svd_solve(svd, src);
  if (!status) status = prsvd_svd_get_stats(svd, &stats);
  if (!status) status = prsvd_svd_get_rank(svd, &k);
  if (!status) status = prsvd_svd_get_singular_values(svd, &s);
  if (!status) status = prsvd_svd_gather_u(svd, 0, &u, &rows, &ldu);
  if (!status) status = prsvd_svd_gather_v(svd, 0, &v, &rows, &ldv);
  if (status)
    fprintf(stderr, "svd_memory: rank %d: %s\n", rank, prsvd_error_message());
  else if (rank == 0) {
    ok = k == RANK && check(a, sigma, s, u, ldu, v, ldv);
    /* one more pass than planned if the sketch was ill-conditioned (passes_max) */
    const int planned = stats.passes >= est.passes && stats.passes <= est.passes_max &&
                        stats.bytes_read == stats.passes * est.pass_bytes;
    printf("done: %d passes, %lld bytes read (%s)\n", stats.passes, (long long)stats.bytes_read,
           planned ? "as planned" : "not as planned");
    ok = ok && planned;
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);

  prsvd_svd_free_gathered(&u);
  prsvd_svd_free_gathered(&v);
  prsvd_svd_destroy(&svd);
  prsvd_source_destroy(&src);
  MPI_Finalize();
  return ok ? 0 : 1;
}
