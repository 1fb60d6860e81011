/*
 * CUR decomposition by streamed sketches: A ~ C U R with C = A(:, J), R = A(I, :).
 *
 * Voronin & Martinsson, "Efficient algorithms for CUR and interpolative matrix
 * decompositions", Adv. Comput. Math. 43 (2017): the columns J from an interpolative
 * decomposition of A (here of its sketch, id.c), the rows I from the row ID of C = A(:, J)
 * itself (C ~ X C(I, :)); U is then the best one for that C and R in the Frobenius norm,
 * U = C^+ A R^+ (Stewart 1999; Mahoney & Drineas 2009), formed from one more pass:
 *
 *   Y = Omega (A A^T)^q A,  J = its first k pivots     q + 1 passes (id.c)
 *   C = A(:, J),  H = A^T C                            one pass: C's rows kept through a
 *                                                      selection map, and their co-range
 *   C^T P = Q [R11 R12],  I = the first k pivots       the row ID of C (no pass)
 *   R = A(I, :)                                        k rows, read directly
 *   Q_C R_C = C,  A^T Q_C = H R_C^-1                   (by one more pass if R_C is
 *                                                      ill-conditioned)
 *   Q_R R_R = R^T,  W = Q_C^T A Q_R = (A^T Q_C)^T Q_R
 *   U = R_C^-1 W R_R^-T,  so C U R = Q_C W Q_R^T       A projected onto range(C) and
 *                                                      range(R^T): U = C^+ A R^+
 * The error ||A - C U R||_F: one more pass, ||A_i - Q_C,i (Q_R W^T)^T||_F^2 summed, or the
 * estimate from the probes S = Theta A that rode in the sketch, ||S - (Theta Q_C) W Q_R^T||^2
 * / 10 (as id.c).
 *
 * Assumptions: those of id.c; A(:, J) of full rank k (refused otherwise: the rows would be
 * chosen by rounding).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "id_impl.h"
#include "profile.h"
#include "rng.h"
#include "source_impl.h"

/* The selection map S_J (n x k): column J[c] of A goes to column c, every other column to
 * nothing (a sign map with one entry a column, 0 where not chosen): A_i S_J = A_i(:, J) costs
 * one multiply-add per entry of A_i, not k. */
static int selection(int64_t n, int64_t k, const int64_t *j, struct prsvd_sparse_right *s) {
  int status = PRSVD_OK;
  memset(s, 0, sizeof *s);
  s->dim = k, s->zeta = 1;
  PRSVD_ALLOC(s->pos, n);
  PRSVD_ALLOC(s->sign, n);
  for (int64_t c = 0; c < k; c++) s->pos[j[c]] = (int)c, s->sign[j[c]] = 1.0;
done:
  return status;
}

/* C = A(:, J) kept (m x k) and H = A^T C (n x k) from one pass. */
static int columns_pass(struct id_run *r, prsvd_dmat *c, prsvd_dmat *h) {
  int status = PRSVD_OK;
  struct prsvd_sparse_right sel;
  PRSVD_TRY(selection(r->n, r->k, r->id->chosen, &sel));
  memset(r->acc, 0, sizeof(double) * (size_t)(r->n * r->k));
  r->pass.n_left = 0;
  r->pass.right_sparse = &sel;
  r->pass.n_right = r->k;
  r->pass.n_keep = 1;
  r->pass.keep[0].dmat = c;
  r->pass.corange_src = c;
  r->pass.corange = r->acc;
  PRSVD_TRY(prsvd_id_pass(r));
  PRSVD_TRY(prsvd_dmat_reduce_scatter(r->acc, h));
done:
  r->pass.right_sparse = NULL, r->pass.n_right = 0, r->pass.n_keep = 0;
  memset(&r->pass.keep, 0, sizeof r->pass.keep);
  r->pass.corange_src = NULL, r->pass.corange = NULL;
  prsvd_sparse_right_free(&sel);
  return status;
}

/* H = A^T Q by a pass of the co-range alone (no right product). */
static int corange_pass(struct id_run *r, prsvd_dmat *q, prsvd_dmat *h) {
  memset(r->acc, 0, sizeof(double) * (size_t)(r->n * r->k));
  r->pass.corange_src = q;
  r->pass.corange = r->acc;
  const int status = prsvd_id_pass(r);
  r->pass.corange_src = NULL, r->pass.corange = NULL;
  PRSVD_CHECK(status);
  PRSVD_CHECK(prsvd_dmat_reduce_scatter(r->acc, h));
  r->id->stats.extra_pass = 1;
  return PRSVD_OK;
}

/* out (k x k) = a^T b over the row blocks of two n x k matrices, summed */
static int cross(const prsvd_dmat *a, const prsvd_dmat *b, int64_t k, double *out, MPI_Comm comm) {
  int64_t nr, lda, ldb;
  const double *x = prsvd_dmat_local(a, NULL, &nr, &lda), *y = prsvd_dmat_local(b, NULL, NULL, &ldb);
  const int ik = (int)k, inr = (int)nr, ila = (int)lda, ilb = (int)ldb;
  const double one = 1.0, zero = 0.0;
  memset(out, 0, sizeof(double) * (size_t)(k * k));
  if (nr > 0) dgemm_("T", "N", &ik, &ik, &inr, &one, x, &ila, y, &ilb, &zero, out, &ik);
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, out, ik * ik, MPI_DOUBLE, MPI_SUM, comm));
  return PRSVD_OK;
}

/* The estimate of ||A - Q_C W Q_R^T||_F from the probes S = Theta A (r->probes: S^T, n x np,
 * this rank's part): G = (Theta Q_C) W, then ||S(:, j) - G Q_R(j, :)^T|| over this rank's rows
 * j of Q_R. */
static int estimate(struct id_run *r, const prsvd_dmat *qc, const double *w, const prsvd_dmat *qr) {
  int status = PRSVD_OK;
  prsvd_id *id = r->id;
  const int64_t n = r->n, k = r->k, np = r->np;
  int64_t c0, cr, cld, q0, qn, qld;
  const double *c = prsvd_dmat_local(qc, &c0, &cr, &cld), *q = prsvd_dmat_local(qr, &q0, &qn, &qld);
  double *tq = NULL, *g = NULL, sum = 0.0;
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, r->probes, (int)(n * np), MPI_DOUBLE, MPI_SUM, id->comm));
  PRSVD_ALLOC(tq, np * k);
  PRSVD_ALLOC(g, np * k);
  /* Theta Q_C (np x k) */
  PRSVD_TRY(prsvd_id_theta_times(r, c, c0, cr, cld, tq));
  /* G = (Theta Q_C) W */
  for (int64_t i = 0; i < k; i++)
    for (int64_t s = 0; s < np; s++) {
      double acc = 0.0;
      for (int64_t t = 0; t < k; t++) acc += tq[t * np + s] * w[i * k + t];
      g[i * np + s] = acc;
    }
  /* E(:, j) = S(:, j) - G Q_R(j, :)^T */
  for (int64_t j = 0; j < qn; j++)
    for (int64_t s = 0; s < np; s++) {
      double e = r->probes[s * n + q0 + j];
      for (int64_t i = 0; i < k; i++) e -= g[i * np + s] * q[i * qld + j];
      sum += e * e;
    }
  PRSVD_TRY(prsvd_id_estimate_from(r, sum));
done:
  free(tq), free(g);
  return status;
}

/* U (chosen orders: rows of U by J as chosen, columns by I as chosen) into the ascending
 * orders of both. */
/* Where each of the k indices as chosen sits among them in ascending order. */
static void place(int64_t k, const int64_t *chosen, const int64_t *ascending, int64_t *at) {
  for (int64_t a = 0; a < k; a++) {
    int64_t p = 0;
    while (ascending[p] != chosen[a]) p++;
    at[a] = p;
  }
}

/* The factors as they are returned: C's columns and R's rows in ascending J and I, copies of
 * C (before its QR) and of R (before its transpose's). */
static int keep_factors(prsvd_id *id, const prsvd_dmat *c, const double *r, int64_t n) {
  int status = PRSVD_OK;
  const int64_t k = id->k;
  int64_t *at = NULL, c0, cr, cld, d0, dr, dld;
  PRSVD_ALLOC(at, k);
  PRSVD_TRY(prsvd_dmat_create(id->grid, prsvd_dmat_rows(c), k, &id->c_cols));
  const double *from = prsvd_dmat_local(c, &c0, &cr, &cld);
  double *to = prsvd_dmat_local(id->c_cols, &d0, &dr, &dld);
  place(k, id->chosen, id->ascending, at);
  for (int64_t a = 0; a < k; a++) memcpy(to + at[a] * dld, from + a * cld, sizeof(double) * (size_t)cr);
  PRSVD_ALLOC(id->r_rows, k * n);
  id->r_cols = n;
  place(k, id->rows_chosen, id->rows_ascending, at);
  for (int64_t a = 0; a < k; a++) memcpy(id->r_rows + at[a] * n, r + a * n, sizeof(double) * (size_t)n);
done:
  free(at);
  return status;
}

static void to_ascending(const prsvd_id *id, int64_t k, const double *u, double *out) {
  for (int64_t a = 0; a < k; a++)
    for (int64_t b = 0; b < k; b++) {
      int64_t pa = 0, pb = 0;
      while (id->ascending[pa] != id->chosen[a]) pa++;
      while (id->rows_ascending[pb] != id->rows_chosen[b]) pb++;
      out[pb * k + pa] = u[b * k + a];
    }
}

int prsvd_cur_run(prsvd_id *id, prsvd_source *a, const struct prsvd_id_plan *plan) {
  int status = PRSVD_OK;
  const struct prsvd_id_params *prm = &id->params;
  struct id_run r;
  prsvd_dmat *z = NULL, *t = NULL, *c = NULL, *h = NULL, *x = NULL, *qr = NULL;
  double *rdiag = NULL, *rrows = NULL, *rc = NULL, *rr = NULL, *w = NULL, *u = NULL, *q_full = NULL,
         *m_rep = NULL;
  PRSVD_TRY(prsvd_id_begin(&r, id, a, plan));
  const int64_t m = r.m, n = r.n, k = r.k;
  const int ik = (int)k;
  const double one = 1.0;
  PRSVD_ALLOC(rdiag, r.l);
  PRSVD_ALLOC(id->rows_chosen, k);
  PRSVD_ALLOC(id->rows_ascending, k);
  PRSVD_ALLOC(id->core, k * k);
  PRSVD_ALLOC(rrows, k * n);
  PRSVD_ALLOC(rc, k * k);
  PRSVD_ALLOC(rr, k * k);
  PRSVD_ALLOC(w, k * k);
  PRSVD_ALLOC(u, k * k);

  /* J: the column ID of the sketch Y = Omega (A A^T)^q A */
  PRSVD_TRY(prsvd_id_sketch_columns(&r, &z));
  PRSVD_MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, &r.fro2, 1, MPI_DOUBLE, MPI_SUM, id->comm));
  id->stats.norm_fro = sqrt(r.fro2);
  prsvd_profile_begin(PRSVD_EV_PIVOTED_QR);
  PRSVD_TRY(prsvd_dmat_row_id(z, k, plan->qr_distributed, id->chosen, rdiag, &t));
  prsvd_profile_end(PRSVD_EV_PIVOTED_QR, 0.0, 4.0 * (double)n * (double)(r.l * k));
  prsvd_dmat_destroy(&z);
  prsvd_dmat_destroy(&t);
  PRSVD_TRY(prsvd_id_check_rank(&r, rdiag, r.l, "the sketch", "columns", &id->stats.rdiag_ratio));
  prsvd_id_sort(id->chosen, k, id->ascending);

  /* C = A(:, J), H = A^T C */
  PRSVD_TRY(prsvd_dmat_create(id->grid, m, k, &c));
  PRSVD_TRY(prsvd_dmat_create(id->grid, n, k, &h));
  PRSVD_TRY(columns_pass(&r, c, h));
  /* I: the row ID of C, C ~ X C(I, :) */
  prsvd_profile_begin(PRSVD_EV_PIVOTED_QR);
  PRSVD_TRY(prsvd_dmat_row_id(c, k, plan->rows_qr_distributed, id->rows_chosen, rdiag, &x));
  prsvd_profile_end(PRSVD_EV_PIVOTED_QR, 0.0, 4.0 * (double)m * (double)(k * k));
  prsvd_dmat_destroy(&x);
  PRSVD_TRY(prsvd_id_check_rank(&r, rdiag, k, "A(:, J)", "rows", &id->stats.rows_rdiag_ratio));
  prsvd_id_sort(id->rows_chosen, k, id->rows_ascending);
  /* R = A(I, :): k x n row-major, the column-major R^T */
  PRSVD_TRY(prsvd_id_read_rows(&r, id->rows_chosen, rrows));
  PRSVD_TRY(keep_factors(id, c, rrows, n));

  prsvd_profile_begin(PRSVD_EV_SMALL_SVD);
  /* Q_C R_C = C;  A^T Q_C = H R_C^-1, or by one more pass */
  PRSVD_TRY(prsvd_dmat_qr(c, rc));
  id->stats.c_rcond = prsvd_id_rcond_upper(k, rc);
  if (id->stats.c_rcond >= PRSVD_ID_RCOND_MIN) PRSVD_TRY(prsvd_dmat_solve_upper(h, rc));
  else PRSVD_TRY(corange_pass(&r, c, h));
  /* Q_R R_R = R^T */
  PRSVD_TRY(prsvd_dmat_create(id->grid, n, k, &qr));
  {
    int64_t q0, qn, qld;
    double *q = prsvd_dmat_local(qr, &q0, &qn, &qld);
    for (int64_t i = 0; i < k; i++) memcpy(q + i * qld, rrows + i * n + q0, sizeof(double) * (size_t)qn);
  }
  PRSVD_TRY(prsvd_dmat_qr(qr, rr));
  if (prsvd_id_rcond_upper(k, rr) < DBL_EPSILON)
    PRSVD_FAIL(PRSVD_ERR_NUMERIC, "the chosen rows A(I, :) of '%s' are linearly dependent to rounding", prsvd_source_name(a));
  /* W = (A^T Q_C)^T Q_R;  U = R_C^-1 W R_R^-T */
  PRSVD_TRY(cross(h, qr, k, w, id->comm));
  memcpy(u, w, sizeof(double) * (size_t)(k * k));
  dtrsm_("L", "U", "N", "N", &ik, &ik, &one, rc, &ik, u, &ik);
  dtrsm_("R", "U", "T", "N", &ik, &ik, &one, rr, &ik, u, &ik);
  to_ascending(id, k, u, id->core);
  prsvd_profile_end(PRSVD_EV_SMALL_SVD, 0.0, 2.0 * (double)n * (double)(k * k));

  /* ||A - C U R||_F = ||A - Q_C (Q_R W^T)^T||_F */
  if (prm->verify) {
    const double zero = 0.0;
    const int in = (int)n;
    PRSVD_ALLOC(q_full, n * k);
    PRSVD_ALLOC(m_rep, n * k);
    PRSVD_TRY(prsvd_dmat_allgather(qr, q_full));
    dgemm_("N", "T", &in, &ik, &ik, &one, q_full, &in, w, &ik, &zero, m_rep, &in);
    PRSVD_TRY(prsvd_id_verify_pass(&r, m_rep, c, NULL));
  } else {
    PRSVD_TRY(estimate(&r, c, w, qr));
  }
  PRSVD_TRY(prsvd_id_unscale(id));
  id->stats.bytes_read = (int64_t)((double)id->stats.passes * plan->pass_bytes);
done:
  prsvd_id_end(&r);
  prsvd_dmat_destroy(&z), prsvd_dmat_destroy(&t), prsvd_dmat_destroy(&c), prsvd_dmat_destroy(&h);
  prsvd_dmat_destroy(&x), prsvd_dmat_destroy(&qr);
  free(rdiag), free(rrows), free(rc), free(rr), free(w), free(u), free(q_full), free(m_rep);
  return status;
}
