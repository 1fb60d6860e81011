/*
 * Interpolative decomposition by streamed sketches.
 *
 * Halko, Martinsson & Tropp, "Finding structure with randomness", SIAM Review 53 (2011),
 * Sec. 3.2.3 (the ID: A ~ A(:, J) T with T(:, J) = I and |T_ij| small) and Sec. 5.2 with
 * Lemma 5.1 (an ID taken from a matrix whose rows span A's dominant row space to within eps
 * is one of A to within (1 + sqrt(1 + 4 k (n - k))) eps); Voronin & Martinsson, "Efficient
 * algorithms for CUR and interpolative matrix decompositions", Adv. Comput. Math. 43 (2017):
 * the ID from a truncated column-pivoted QR, A P = Q [R11 R12], T = [I  R11^-1 R12] P^T,
 * taken of the sketch Y = G (A A^T)^q A instead of A.
 *
 * Column ID (kind COLUMNS), Y = Omega (A A^T)^q A, l x n, in q + 1 passes:
 *   Z = A^T G                     pass 0, a left sketch: Z^T = G^T A = Omega A (Omega = G^T,
 *                                 G m x l Gaussian or a sparse sign map, by global row)
 *   q times:  X = orth(Z),  Z = A^T (A X)   (one pass each: the kept P = A X, co-range A^T P)
 *   q > 0:  Q_P R_P = P,  Z = Z R_P^-1 = A^T Q_P   (no pass: A's directions weighed by sigma,
 *                                 not sigma^2; kept as it was if R_P is ill-conditioned)
 *   Y = Z^T                       the same row space as Omega (A A^T)^q A; the orthonormal X
 *                                 keeps rounding out of the powers
 *   Y P = Q [R11 R12]             column-pivoted QR (DGEQP3 on rank 0, or PDGEQPF)
 *   J = P(:, 1:k),  T P = [I  R11^-1 R12]
 * Row ID (kind ROWS), the same on the column sketch Y = (A A^T)^q A Omega, m x l:
 *   Y = A Omega                   pass 0 (Omega n x l, Gaussian or sparse sign; kept rows of Y)
 *   q times:  X = orth(A^T Y),  Y = A X     (the co-range of one pass feeds the next)
 *   Y^T P = Q [R11 R12],  I = P(:, 1:k),  X P = [I  R11^-1 R12]^T,  A ~ X A(I, :)
 * With the same seed the column ID of A and the row ID of A^T (a CSC or MATLAB input streams
 * A^T) take the same Omega by A's row index and sketches that differ by an orthogonal factor
 * on the left, which the pivoted QR does not see: they choose the same indices.
 *
 * The error ||A - approximation||_F (relative to ||A||_F, which pass 0 measures):
 *   verify:  one more pass, ||A_i - A_i(:, J) T||_F^2 (rows: ||A_i - X_i A(I, :)||_F^2) summed
 *            panel by panel, exact
 *   else:    S = Theta A (Theta m x 10 Gaussian, independent of Omega) rides in the last
 *            sketch pass; ||S - S(:, J) T||_F^2 / 10 (rows: ||S - (Theta X) A(I, :)||_F^2 / 10)
 *            is unbiased for the square of the error (Tropp, Yurtsever, Udell & Cevher 2019,
 *            Sec. 6), with a chi-square 95% interval.
 * The row ID reads its k rows A(I, :) directly (not a pass).
 *
 * Assumptions: 1 <= k <= l = min(k + p, m, n); every rank passes a source of the same matrix;
 * the pass engine's P x 1 grid.  Test matrices depend only on (seed, stream, global index), so
 * the sketch is the same on any number of ranks up to the rounding of its sums, and so are the
 * pivots unless two candidates' remaining norms tie to rounding.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "id_impl.h"
#include "profile.h"
#include "rng.h"
#include "source_impl.h"

double prsvd_id_rcond_upper(int64_t l, const double *r) {
  int n = (int)l, info = 0, *iwork = malloc(sizeof(int) * (size_t)l);
  double rcond = 0.0, *work = malloc(sizeof(double) * 3 * (size_t)l);
  if (work && iwork) dtrcon_("1", "U", "N", &n, r, &n, &rcond, work, iwork, &info);
  free(work), free(iwork);
  return info ? 0.0 : rcond;
}


/* One pass of the engine, errors agreed, counted.  The first also measures max |a_ij|: an A
 * beyond the sketches' range (sketch.h) has that pass again on 2^e A, its sums started over, and
 * every later pass multiplies 2^e A too (prsvd_id_unscale brings the results back). */
int prsvd_id_pass(struct id_run *r) {
  const int measure = r->cur.pass == 0 && !r->pass.scale_exp;
  r->cur.next_row = 0; /* the pass moves it to this rank's first row */
  r->pass.measure = measure;
  if (measure) r->pass.amax = 0.0;
  const int status = prsvd_sketch_pass(&r->pass, &r->cur);
  r->pass.measure = 0;
  PRSVD_CHECK(prsvd_error_agree(r->id->comm, status));
  r->id->stats.passes++;
  r->cur.pass++;
  if (measure) {
    int e;
    PRSVD_CHECK(prsvd_pass_range(&r->pass, r->id->comm, r->m, r->n, &e));
    if (e) { /* what the pass added into, from zero again (its kept rows it overwrites) */
      for (int t = 0; t < r->pass.n_left; t++)
        memset(r->pass.left[t].acc, 0, sizeof(double) * (size_t)(r->n * r->pass.left[t].g.dim));
      if (r->pass.corange)
        memset(r->pass.corange, 0, sizeof(double) * (size_t)(r->n * prsvd_dmat_cols(r->pass.corange_src)));
      if (r->pass.fro2) *r->pass.fro2 = 0.0;
      r->pass.scale_exp = r->id->stats.scale_exp = e;
      r->cur.pass--, r->cur.n_passes++;
      return prsvd_id_pass(r);
    }
  }
  return PRSVD_OK;
}

int prsvd_id_unscale(prsvd_id *id) {
  struct prsvd_id_stats *st = &id->stats;
  const int e = st->scale_exp;
  st->relative_error = st->norm_fro > 0 ? st->error_fro / st->norm_fro : 0.0;
  if (!e) return PRSVD_OK;
  st->norm_fro = ldexp(st->norm_fro, -e);
  st->error_fro = ldexp(st->error_fro, -e);
  st->error_ci_low = ldexp(st->error_ci_low, -e);
  st->error_ci_high = ldexp(st->error_ci_high, -e);
  if (!id->core) return PRSVD_OK;
  /* CUR: U of 2^e C, 2^e A and 2^e R is 2^-e U; C and R are A's own entries */
  for (int64_t i = 0; i < id->k * id->k; i++) {
    const double u = id->core[i];
    id->core[i] = ldexp(u, e);
    if (isinf(id->core[i]))
      PRSVD_ERR(PRSVD_ERR_NUMERIC, "an entry of U is %.17g x 2^%d, beyond the largest double", u, e);
  }
  int64_t cr, cld;
  double *c = prsvd_dmat_local(id->c_cols, NULL, &cr, &cld);
  for (int64_t j = 0; j < id->k; j++)
    for (int64_t i = 0; i < cr; i++) c[j * cld + i] = ldexp(c[j * cld + i], -e);
  for (int64_t i = 0; i < id->k * id->r_cols; i++) id->r_rows[i] = ldexp(id->r_rows[i], -e);
  return PRSVD_OK;
}

/* The probes S^T = A^T Theta on the last sketch pass (when not verifying): left sketch t. */
static void ride_probes(struct id_run *r, int t) {
  r->pass.n_left = t + 1;
  r->pass.left[t].g = (struct prsvd_testmat){PRSVD_SKETCH_GAUSSIAN, r->id->params.seed, PRSVD_STREAM_THETA, r->np};
  r->pass.left[t].acc = r->probes;
}

/* X = orth(H) of the co-range sums, replicated in x (n x l), for the next pass's right product */
static int orth_corange(struct id_run *r, prsvd_dmat *h, double *x) {
  int status = PRSVD_OK;
  double *rr = NULL;
  PRSVD_ALLOC(rr, r->l * r->l);
  PRSVD_TRY(prsvd_dmat_reduce_scatter(r->acc, h));
  prsvd_profile_begin(PRSVD_EV_ORTH);
  PRSVD_TRY(prsvd_dmat_qr(h, rr));
  PRSVD_TRY(prsvd_dmat_allgather(h, x));
  prsvd_profile_end(PRSVD_EV_ORTH, 0.0, 4.0 * (double)r->n * (double)(r->l * r->l));
done:
  free(rr);
  return status;
}

/* Column ID: Z = (A^T A)^q A^T G (n x l, by row blocks), Y = Z^T. */
int prsvd_id_sketch_columns(struct id_run *r, prsvd_dmat **z_out) {
  int status = PRSVD_OK;
  const struct prsvd_id_params *prm = &r->id->params;
  const int q = prm->power_iters;
  prsvd_dmat *z = NULL, *p = NULL;
  double *x = NULL, *rp = NULL;
  PRSVD_TRY(prsvd_dmat_create(r->id->grid, r->n, r->l, &z));
  /* Z = A^T G (Z^T = Omega A), and ||A||_F^2 */
  r->pass.n_left = 1;
  r->pass.left[0].g = (struct prsvd_testmat){(enum prsvd_sketch_kind)prm->test_matrix, prm->seed,
                                             PRSVD_STREAM_OMEGA, r->l};
  r->pass.left[0].acc = r->acc;
  r->pass.fro2 = &r->fro2;
  r->pass.check_finite = prm->check_finite;
  if (q == 0 && r->probes) ride_probes(r, 1);
  PRSVD_TRY(prsvd_id_pass(r));
  r->pass.fro2 = NULL;
  r->pass.check_finite = 0;
  r->pass.left[1].acc = NULL;
  if (q > 0) {
    PRSVD_ALLOC(x, r->n * r->l);
    PRSVD_TRY(prsvd_dmat_create(r->id->grid, r->m, r->l, &p));
  }
  for (int j = 1; j <= q; j++) {
    /* X = orth(Z) */
    PRSVD_TRY(orth_corange(r, z, x));
    /* P = A X kept, Z = A^T P */
    memset(r->acc, 0, sizeof(double) * (size_t)(r->n * r->l));
    r->pass.n_left = 0;
    if (j == q && r->probes) ride_probes(r, 0);
    r->pass.right = x;
    r->pass.n_right = r->l;
    r->pass.n_keep = 1;
    r->pass.keep[0].dmat = p;
    r->pass.corange_src = p;
    r->pass.corange = r->acc;
    PRSVD_TRY(prsvd_id_pass(r));
  }
  PRSVD_TRY(prsvd_dmat_reduce_scatter(r->acc, z));
  if (q > 0) {
    /* Q_P R_P = P;  Z R_P^-1 = A^T Q_P: Y = Q_P^T A, the row space unchanged, A's directions
     * weighed by sigma as at q = 0 and as in the row ID of A^T (which therefore chooses the
     * same indices); kept Z = A^T P (sigma^2) when R_P is too ill-conditioned to solve with */
    PRSVD_ALLOC(rp, r->l * r->l);
    PRSVD_TRY(prsvd_dmat_qr(p, rp));
    if (prsvd_id_rcond_upper(r->l, rp) >= PRSVD_ID_RCOND_MIN) PRSVD_TRY(prsvd_dmat_solve_upper(z, rp));
  }
  *z_out = z;
  z = NULL;
done:
  prsvd_dmat_destroy(&z);
  prsvd_dmat_destroy(&p);
  free(x);
  free(rp);
  memset(&r->pass.keep, 0, sizeof r->pass.keep);
  r->pass.n_keep = 0, r->pass.right = NULL, r->pass.n_right = 0, r->pass.corange = NULL, r->pass.corange_src = NULL;
  return status;
}

/* Row ID: Y = (A A^T)^q A Omega (m x l, by row blocks). */
static int sketch_rows(struct id_run *r, prsvd_dmat **y_out) {
  int status = PRSVD_OK;
  const struct prsvd_id_params *prm = &r->id->params;
  const int q = prm->power_iters;
  prsvd_dmat *y = NULL, *h = NULL;
  double *x = NULL;
  struct prsvd_sparse_right omega;
  memset(&omega, 0, sizeof omega);
  PRSVD_TRY(prsvd_dmat_create(r->id->grid, r->m, r->l, &y));
  PRSVD_ALLOC(x, r->n * r->l);
  if (q > 0) PRSVD_TRY(prsvd_dmat_create(r->id->grid, r->n, r->l, &h));
  /* Y = A Omega (and H = A^T Y for the next pass), ||A||_F^2 */
  if (prm->test_matrix == PRSVD_TEST_SPARSE) {
    PRSVD_TRY(prsvd_sparse_right_create(prm->seed, PRSVD_STREAM_OMEGA, r->n, r->l, &omega));
    r->pass.right_sparse = &omega;
  } else {
    prsvd_rng_fill(prm->seed, PRSVD_STREAM_OMEGA, 0, r->n, 0, r->l, x, r->n);
    r->pass.right = x;
  }
  r->pass.n_right = r->l;
  r->pass.n_keep = 1;
  r->pass.keep[0].dmat = y;
  r->pass.fro2 = &r->fro2;
  r->pass.check_finite = prm->check_finite;
  for (int j = 0; j <= q; j++) {
    if (j == q && r->probes) ride_probes(r, 0);
    r->pass.corange_src = j < q ? y : NULL; /* H = A^T Y feeds the next pass */
    r->pass.corange = j < q ? r->acc : NULL;
    if (j < q) memset(r->acc, 0, sizeof(double) * (size_t)(r->n * r->l));
    PRSVD_TRY(prsvd_id_pass(r));
    r->pass.fro2 = NULL;
    r->pass.check_finite = 0;
    if (j == q) break;
    /* X = orth(A^T Y);  the next pass keeps Y = A X */
    PRSVD_TRY(orth_corange(r, h, x));
    r->pass.right = x;
    r->pass.right_sparse = NULL;
  }
  *y_out = y;
  y = NULL;
done:
  prsvd_dmat_destroy(&y);
  prsvd_dmat_destroy(&h);
  prsvd_sparse_right_free(&omega);
  free(x);
  r->pass.right = NULL, r->pass.right_sparse = NULL, r->pass.n_right = 0, r->pass.n_keep = 0;
  memset(&r->pass.keep, 0, sizeof r->pass.keep);
  r->pass.corange = NULL, r->pass.corange_src = NULL;
  return status;
}

/* The rows A(rows[c], :) for c < k on every rank (k x n row-major, so that it is the
 * column-major n x k A(I, :)^T): each rank reads the rows in its own block of the passes, then
 * one sum.  A source with collective reads gets the same number of reads from every rank. */
int prsvd_id_read_rows(struct id_run *r, const int64_t *rows, double *out) {
  int status = PRSVD_OK, count;
  const prsvd_grid *g = r->id->grid;
  int64_t row0, lr;
  long mine = 0, most = 0;
  struct prsvd_source_layout lay;
  prsvd_source_get_layout(r->a, &lay);
  prsvd_row_block(r->m, prsvd_grid_rank(g), prsvd_grid_nprocs(g), &row0, &lr);
  memset(out, 0, sizeof(double) * (size_t)(r->k * r->n));
  for (int64_t c = 0; c < r->k; c++) mine += rows[c] >= row0 && rows[c] < row0 + lr;
  if (lay.collective_reads) /* before the first read: each is collective */
    PRSVD_MPI(MPI_Allreduce(&mine, &most, 1, MPI_LONG, MPI_MAX, prsvd_grid_comm(g)));
  prsvd_profile_begin(PRSVD_EV_READ);
  for (int64_t c = 0; c < r->k; c++) /* collective: every read made, whatever failed before */
    if (rows[c] >= row0 && rows[c] < row0 + lr && (!status || lay.collective_reads)) {
      const int read = prsvd_source_read(r->a, rows[c], 1, out + c * r->n);
      if (!status) status = read;
    }
  if (lay.collective_reads) { /* zero-row reads until every rank has made as many */
    for (long t = mine; t < most; t++) {
      const int joined = prsvd_source_read(r->a, row0 + lr, 0, out);
      if (!status) status = joined;
    }
  }
  prsvd_profile_end(PRSVD_EV_READ, 8.0 * (double)mine * (double)r->n, 0.0);
  PRSVD_CHECK(prsvd_error_agree(r->id->comm, status));
  PRSVD_CHECK(prsvd_to_int(r->k * r->n, "the chosen rows", &count));
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, out, count, MPI_DOUBLE, MPI_SUM, r->id->comm));
  if (r->pass.scale_exp) /* rows of 2^e A, as the passes multiply */
    for (int64_t i = 0; i < r->k * r->n; i++) out[i] = ldexp(out[i], r->pass.scale_exp);
  return PRSVD_OK;
}

int prsvd_id_verify_pass(struct id_run *r, const double *m_rep, const prsvd_dmat *k_src, const int64_t *k_cols) {
  double res2 = 0.0;
  prsvd_id *id = r->id;
  r->pass.n_left = 0;
  r->pass.resid = &res2;
  r->pass.resid_k = r->k;
  r->pass.resid_m = m_rep;
  r->pass.resid_src = k_src;
  r->pass.resid_cols = k_src ? NULL : k_cols;
  const int status = prsvd_id_pass(r);
  r->pass.resid = NULL, r->pass.resid_src = NULL, r->pass.resid_cols = NULL;
  PRSVD_CHECK(status);
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, &res2, 1, MPI_DOUBLE, MPI_SUM, id->comm));
  id->stats.error_fro = sqrt(fmax(res2, 0.0));
  id->stats.error_verified = 1;
  return PRSVD_OK;
}

int prsvd_id_theta_times(const struct id_run *r, const double *b, int64_t b0, int64_t br, int64_t ld,
                         double *out) {
  int status = PRSVD_OK;
  const int64_t k = r->k, np = r->np;
  double *theta = NULL;
  PRSVD_ALLOC(theta, (br > 0 ? br : 1) * np);
  prsvd_rng_fill(r->id->params.seed, PRSVD_STREAM_THETA, b0, br, 0, np, theta, br > 0 ? br : 1);
  for (int64_t i = 0; i < k; i++)
    for (int64_t s = 0; s < np; s++) {
      double acc = 0.0;
      for (int64_t j = 0; j < br; j++) acc += theta[s * br + j] * b[i * ld + j];
      out[i * np + s] = acc;
    }
  PRSVD_MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, out, (int)(np * k), MPI_DOUBLE, MPI_SUM, r->id->comm));
done:
  free(theta);
  return status;
}

int prsvd_id_estimate_from(struct id_run *r, double sum) {
  prsvd_id *id = r->id;
  const int64_t np = r->np;
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_DOUBLE, MPI_SUM, id->comm));
  id->stats.error_fro = sqrt(sum / (double)np);
  id->stats.error_verified = 0;
  if (np == 10) { /* chi-square with 10 degrees of freedom: 3.247 and 20.483 */
    id->stats.error_ci_low = id->stats.error_fro * sqrt(10.0 / 20.483);
    id->stats.error_ci_high = id->stats.error_fro * sqrt(10.0 / 3.247);
  }
  return PRSVD_OK;
}

/* The estimate from the probes S = Theta A (probes: S^T, n x np, summed): columns
 * E = S - S(:, J) T over this rank's columns of T; rows E = S - (Theta X) A(I, :) over this
 * rank's block of A's columns, with a_i = A(I, :) (k x n row-major). */
static int estimate(struct id_run *r, const double *a_i) {
  int status = PRSVD_OK;
  prsvd_id *id = r->id;
  const int64_t n = r->n, k = r->k, np = r->np;
  int64_t c0, cr, ld;
  const double *c = prsvd_dmat_local(id->coef, &c0, &cr, &ld);
  double sum = 0.0, *tx = NULL;
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, r->probes, (int)(n * np), MPI_DOUBLE, MPI_SUM, id->comm));
  if (id->params.kind == PRSVD_ID_COLUMNS) {
    /* E(:, j) = S(:, j) - S(:, J) T(:, j) for this rank's columns j of T */
    for (int64_t j = 0; j < cr; j++)
      for (int64_t s = 0; s < np; s++) {
        double e = r->probes[s * n + c0 + j];
        for (int64_t i = 0; i < k; i++) e -= r->probes[s * n + id->chosen[i]] * c[i * ld + j];
        sum += e * e;
      }
  } else {
    /* Theta X (np x k) */
    int64_t b0, br;
    PRSVD_ALLOC(tx, np * k);
    PRSVD_TRY(prsvd_id_theta_times(r, c, c0, cr, ld, tx));
    /* E(:, j) = S(:, j) - (Theta X) A(I, j) over a block of A's columns */
    prsvd_row_block(n, prsvd_grid_rank(id->grid), prsvd_grid_nprocs(id->grid), &b0, &br);
    for (int64_t j = b0; j < b0 + br; j++)
      for (int64_t s = 0; s < np; s++) {
        double e = r->probes[s * n + j];
        for (int64_t i = 0; i < k; i++) e -= tx[i * np + s] * a_i[i * n + j];
        sum += e * e;
      }
  }
  PRSVD_TRY(prsvd_id_estimate_from(r, sum));
done:
  free(tx);
  return status;
}

int prsvd_id_check_rank(const struct id_run *r, const double *rdiag, int64_t l, const char *subject,
                        const char *what, double *ratio) {
  int64_t rank = 0;
  while (rank < l && rdiag[rank] > PRSVD_ID_RANK_TOL * rdiag[0]) rank++;
  *ratio = rdiag[0] > 0 ? rdiag[r->k - 1] / rdiag[0] : 0.0;
  if (rdiag[0] == 0.0)
    PRSVD_ERR(PRSVD_ERR_NUMERIC, "'%s' is zero: no %s to choose", prsvd_source_name(r->a), what);
  if (rank < r->k)
    PRSVD_ERR(PRSVD_ERR_NUMERIC,
              "%s of '%s' has numerical rank %lld < k = %lld (|R_kk| / |R_11| = %.2e of its pivoted QR): "
              "%lld more %s would be chosen by rounding; ask for -k %lld%s",
              subject, prsvd_source_name(r->a), (long long)rank, (long long)r->k, *ratio,
              (long long)(r->k - rank), what, (long long)rank,
              r->id->params.power_iters > 0 && !strcmp(subject, "the sketch")
                  ? " (or -q 0, whose sketch weighs A's directions by sigma, not sigma^2)" : "");
  return PRSVD_OK;
}

static int cmp_index(const void *x, const void *y) {
  const int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return (a > b) - (a < b);
}

void prsvd_id_sort(const int64_t *chosen, int64_t k, int64_t *ascending) {
  memcpy(ascending, chosen, sizeof(int64_t) * (size_t)k);
  qsort(ascending, (size_t)k, sizeof(int64_t), cmp_index);
}

int prsvd_id_begin(struct id_run *r, prsvd_id *id, prsvd_source *a, const struct prsvd_id_plan *plan) {
  int status = PRSVD_OK;
  const struct prsvd_id_params *prm = &id->params;
  memset(r, 0, sizeof *r);
  r->id = id, r->a = a;
  r->m = prsvd_source_rows(a), r->n = prsvd_source_cols(a);
  r->k = prm->rank, r->l = plan->sketch_dim;
  r->np = prm->verify ? 0 : (prm->n_probes > 0 ? prm->n_probes : 10);
  r->engine = prsvd_id_engine_params(prm, prsvd_grid_nprocs(id->grid));
  id->k = r->k;
  id->stats.panel_rows = plan->panel_rows;
  id->stats.single = plan->single;
  id->stats.qr_distributed = plan->qr_distributed;
  const int64_t big = r->l > r->np ? r->l : r->np;
  PRSVD_ALLOC(r->work, prsvd_pass_work_size(plan->panel_rows, r->l, big));
  PRSVD_ALLOC(r->acc, r->n * r->l);
  if (r->np) PRSVD_ALLOC(r->probes, r->n * r->np);
  PRSVD_ALLOC(id->chosen, r->k);
  PRSVD_ALLOC(id->ascending, r->k);
  r->pass.a = a;
  r->pass.panel_rows = plan->panel_rows;
  r->pass.work = r->work;
  r->pass.params = &r->engine;
  r->pass.row_grid = id->grid;
  r->cur.n_passes = plan->passes;
done:
  return status;
}

void prsvd_id_end(struct id_run *r) {
  prsvd_pass_free(&r->pass);
  free(r->work), free(r->acc), free(r->probes);
  r->work = r->acc = r->probes = NULL;
}

int prsvd_id_run(prsvd_id *id, prsvd_source *a, const struct prsvd_id_plan *plan) {
  int status = PRSVD_OK;
  const struct prsvd_id_params *prm = &id->params;
  const int rows = prm->kind == PRSVD_ID_ROWS;
  struct id_run r;
  prsvd_dmat *w = NULL;
  double *rdiag = NULL, *m_rep = NULL;
  PRSVD_TRY(prsvd_id_begin(&r, id, a, plan));
  PRSVD_ALLOC(rdiag, r.l);
  PRSVD_ALLOC(m_rep, r.n * r.k);

  /* the sketch: Y^T (columns, n x l) or Y (rows, m x l) */
  if (rows) PRSVD_TRY(sketch_rows(&r, &w));
  else PRSVD_TRY(prsvd_id_sketch_columns(&r, &w));
  PRSVD_MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, &r.fro2, 1, MPI_DOUBLE, MPI_SUM, id->comm));
  id->stats.norm_fro = sqrt(r.fro2);
  /* W ~ T W(J, :) from the column-pivoted QR of W^T: J, and T = [I  R11^-1 R12]^T P^T */
  prsvd_profile_begin(PRSVD_EV_PIVOTED_QR);
  PRSVD_TRY(prsvd_dmat_row_id(w, r.k, plan->qr_distributed, id->chosen, rdiag, &id->coef));
  prsvd_profile_end(PRSVD_EV_PIVOTED_QR, 0.0, 4.0 * (double)plan->sketch_len * (double)(r.l * r.k));
  prsvd_dmat_destroy(&w);
  PRSVD_TRY(prsvd_id_check_rank(&r, rdiag, r.l, "the sketch", rows ? "rows" : "columns", &id->stats.rdiag_ratio));
  prsvd_id_sort(id->chosen, r.k, id->ascending);
  { /* max |T_ij| */
    int64_t cr, ld;
    const double *c = prsvd_dmat_local(id->coef, NULL, &cr, &ld);
    double mx = 0.0;
    for (int64_t i = 0; i < r.k; i++)
      for (int64_t j = 0; j < cr; j++) mx = fmax(mx, fabs(c[i * ld + j]));
    PRSVD_MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, &mx, 1, MPI_DOUBLE, MPI_MAX, id->comm));
    id->stats.max_abs_coef = mx;
  }
  /* M for the residual: T^T (columns) or A(I, :)^T (rows, read directly) */
  if (rows) PRSVD_TRY(prsvd_id_read_rows(&r, id->chosen, m_rep));
  else if (prm->verify) PRSVD_TRY(prsvd_dmat_allgather(id->coef, m_rep));
  if (prm->verify) PRSVD_TRY(prsvd_id_verify_pass(&r, m_rep, rows ? id->coef : NULL, id->chosen));
  else PRSVD_TRY(estimate(&r, m_rep));
  PRSVD_TRY(prsvd_id_unscale(id));
  id->stats.bytes_read = (int64_t)((double)id->stats.passes * plan->pass_bytes);
done:
  prsvd_id_end(&r);
  prsvd_dmat_destroy(&w);
  free(rdiag), free(m_rep);
  return status;
}
