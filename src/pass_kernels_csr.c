/*
 * The sketch updates of one CSR panel (sketch.h), in O(nnz) per sketch column: the sparse
 * counterpart of one_panel() in pass.c, which has scanned the panel.  The products are those
 * of 2^scale_exp A: each stored value is scaled once as it is read (exact, as scaling the
 * small operand would be, but for values 2^-1022 below the largest, which no sketch can keep),
 * except in the core Z += G_i^T P_i, whose P_i is such a product already.
 */
#include <math.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "pass_impl.h"
#include "rng.h"

/* The products of one row at a time go through a block of CSR_BLOCK of their columns, held
 * row-major on the stack while the row's stored entries are in cache. */
enum { CSR_BLOCK = 64 };

/* y (w) += v x (w): 8 then 4 at a time, fixed counts and no aliasing, so that it vectorizes */
static inline void row_axpy(double *restrict y, double v, const double *restrict x, int64_t w) {
  int64_t q = 0;
  for (; q + 8 <= w; q += 8)
    for (int k = 0; k < 8; k++) y[q + k] += v * x[q + k];
  if (q + 4 <= w) {
    for (int k = 0; k < 4; k++) y[q + k] += v * x[q + k];
    q += 4;
  }
  for (; q < w; q++) y[q] += v * x[q];
}

/* The cache lines of x[0 .. w), wanted soon (for writing if write) */
static inline void prefetch_row(const double *x, int64_t w, int write) {
  for (int64_t q = 0; q < w; q += 8) {
    if (write)
      __builtin_prefetch(x + q, 1, 3);
    else
      __builtin_prefetch(x + q, 0, 3);
  }
}

/* Rows [i0, i1) of the CSR panel, one row at a time while its stored entries are in cache:
 * P_i's row i = a_i R (rt: R row-major, n x n_right, or NULL for the sparse map) into prod
 * (column-major, ld the panel's rows), centred and kept; then, with K's row i (the kept row just
 * stored, when K is a kept matrix of this pass), h_j += a_ij k_i for every stored (i, j) into
 * ht (n x kc row-major: the kc values of row j contiguous, where H's are n apart), if the pass
 * has a co-range sum.  Each sum runs over the row's entries in order, as row by row or panel
 * by panel would.  Returns the flops. */
PRSVD_KERNEL_CLONES static double csr_products(const struct prsvd_pass *p, const double *rt,
                                               int64_t off, int64_t i0, int64_t i1, double scale,
                                               double *ht) {
  const struct prsvd_csr *a = p->state->csr;
  const struct prsvd_sparse_right *sm = p->right_sparse;
  const int64_t nr = a->rows, c = p->n_right;
  double *prod = p->work;
  int64_t kld = 0, kc = 0;
  const double *kd = p->corange ? prsvd_dmat_local(p->corange_src, NULL, NULL, &kld) : NULL;
  if (p->corange) kc = prsvd_dmat_cols(p->corange_src);
  double y[CSR_BLOCK];
  for (int64_t i = i0; i < i1; i++) {
    const int64_t e0 = a->indptr[i], e1 = a->indptr[i + 1];
    if (c) { /* P_i's row i, CSR_BLOCK columns at a time */
      for (int64_t q0 = 0; q0 < c; q0 += CSR_BLOCK) {
        const int64_t w = c - q0 < CSR_BLOCK ? c - q0 : CSR_BLOCK;
        memset(y, 0, sizeof(double) * (size_t)w);
        for (int64_t t = e0; t < e1; t++) {
          const int64_t j = a->indices[t];
          const double v = a->data[t] * scale;
          if (kc && q0 == 0) prefetch_row(ht + j * kc, kc < CSR_BLOCK ? kc : CSR_BLOCK, 1);
          if (rt) {
            row_axpy(y, v, rt + j * c + q0, w);
          } else {
            for (int u = 0; u < sm->zeta; u++) {
              const int64_t q = sm->pos[j * sm->zeta + u] - q0;
              if (q >= 0 && q < w) y[q] += v * sm->sign[j * sm->zeta + u];
            }
          }
        }
        for (int64_t q = 0; q < w; q++) prod[(q0 + q) * nr + i] = y[q];
      }
      if (p->center_rows) prsvd_pass_center_rows(p, i, i + 1, off, prod, nr);
      for (int k = 0; k < p->n_keep; k++) {
        int64_t ld, cols = p->keep[k].ncols ? p->keep[k].ncols : prsvd_dmat_cols(p->keep[k].dmat);
        double *kept = prsvd_dmat_local(p->keep[k].dmat, NULL, NULL, &ld);
        for (int64_t q = 0; q < cols; q++)
          kept[q * ld + off + i] = prod[(p->keep[k].col0 + q) * nr + i];
      }
    }
    for (int64_t q0 = 0; q0 < kc; q0 += CSR_BLOCK) { /* H_t += a_i^T k_i */
      const int64_t w = kc - q0 < CSR_BLOCK ? kc - q0 : CSR_BLOCK;
      for (int64_t q = 0; q < w; q++) y[q] = kd[(q0 + q) * kld + off + i];
      for (int64_t t = e0; t < e1; t++) {
        const int64_t next = t + (e1 - e0); /* as far into the next row's entries */
        if (rt && q0 == 0 && next < a->nnz)
          prefetch_row(rt + a->indices[next] * c, c < CSR_BLOCK ? c : CSR_BLOCK, 0);
        row_axpy(ht + a->indices[t] * kc + q0, a->data[t] * scale, y, w);
      }
    }
  }
  const double entries = (double)(a->indptr[i1] - a->indptr[i0]);
  return 2.0 * entries * (double)(c ? (rt ? c : sm->zeta) : 0) + 2.0 * entries * (double)kc;
}

/* Left sketch t from rows [i0, i1) of the panel (global rows from r): acc (n x d) += A_b^T G_b
 * and core (d x cc) += G_b^T P_b(:, c0 ..), either NULL if the sketch has none; a Gaussian G_b
 * drawn into its rows of g (ld the panel's rows), a sparse sign map's row by row; P_b its rows
 * of prod.  Returns the flops. */
static double left_rows(const struct prsvd_pass *p, int t, int64_t r, int64_t i0, int64_t i1,
                        double scale, const double *prod, double *g, double *acc, double *core) {
  const struct prsvd_csr *a = p->state->csr;
  const struct prsvd_testmat *tm = &p->left[t].g;
  const int64_t nr = a->rows, n = prsvd_source_cols(p->a), d = tm->dim, cc = p->left[t].core_cols;
  const int gaussian = tm->kind == PRSVD_SKETCH_GAUSSIAN, zeta = prsvd_sparse_zeta(d);
  int pos[8];
  double sign[8];
  if (gaussian && i1 > i0) prsvd_rng_fill(tm->seed, tm->stream, r + i0, i1 - i0, 0, d, g + i0, nr);
  for (int64_t i = i0; i < i1; i++) {
    if (!gaussian) prsvd_sparse_column(tm->seed, tm->stream, r + i, d, pos, sign);
    if (acc)
      for (int64_t u = a->indptr[i]; u < a->indptr[i + 1]; u++) {
        const int64_t j = a->indices[u];
        const double v = a->data[u] * scale;
        if (gaussian)
          for (int64_t q = 0; q < d; q++) acc[q * n + j] += v * g[q * nr + i];
        else
          for (int z = 0; z < zeta; z++) acc[pos[z] * n + j] += v * sign[z];
      }
    if (core) /* Z += G_b^T P_b(:, c0..): dense in the product */
      for (int64_t q = 0; q < cc; q++) {
        const double pv = prod[(p->left[t].core_col0 + q) * nr + i];
        if (gaussian)
          for (int64_t e = 0; e < d; e++) core[q * d + e] += g[e * nr + i] * pv;
        else
          for (int z = 0; z < zeta; z++) core[q * d + pos[z]] += sign[z] * pv;
      }
  }
  const int64_t w = gaussian ? d : zeta; /* G's nonzeros a row */
  return (acc ? 2.0 * (double)(a->indptr[i1] - a->indptr[i0]) * (double)w : 0.0) +
         (core ? 2.0 * (double)(i1 - i0) * (double)(w * cc) : 0.0);
}

int prsvd_pass_csr_panel(struct prsvd_pass *p, int64_t r, int64_t off, int64_t n, const double *rt,
                         double *flops) {
  const struct prsvd_csr *a = p->state->csr;
  const int64_t nr = a->rows;
  double *prod = p->work;
  double *g = p->work + p->panel_rows * p->n_right;
  const double scale = ldexp(1.0, p->scale_exp);
  const long double scale_l = scale;
  *flops = 0.0;

  if (p->fro2) {
    long double s = 0.0L;
    for (int64_t t = 0; t < a->nnz; t++) s += PRSVD_SQUARE(a->data[t], scale_l);
    *p->fro2 += (double)PRSVD_SQUARES_SCALED(s, p->scale_exp);
  }
  if (p->col_sum)
    for (int64_t t = 0; t < a->nnz; t++) {
      const double v = a->data[t] * scale;
      p->col_sum[a->indices[t]] += v;
      p->col_sumsq[a->indices[t]] += v * v;
    }
  for (int64_t t = 0; t < p->n_samples; t++) {
    const int64_t i = p->sample_row[t] - r;
    if (i < 0 || i >= nr) continue;
    p->sample_val[t] = 0.0;
    for (int64_t u = a->indptr[i]; u < a->indptr[i + 1]; u++)
      if (a->indices[u] == p->sample_col[t]) p->sample_val[t] += a->data[u];
  }
  /* P_i = A_i R, kept; H += A_i^T K_i, formed row-major in ht (n x kc) and then added to H */
  double *ht = p->state->corange_t;
  const int64_t kc = p->corange ? prsvd_dmat_cols(p->corange_src) : 0;
  if (kc) memset(ht, 0, sizeof(double) * (size_t)(n * kc));
  *flops += csr_products(p, rt, off, 0, nr, scale, ht);
  for (int64_t q = 0; q < kc; q++)
    for (int64_t j = 0; j < n; j++) p->corange[q * n + j] += ht[j * kc + q];
  /* L += A_i^T G_i, Z += G_i^T P_i */
  for (int t = 0; t < p->n_left; t++)
    *flops += left_rows(p, t, r, 0, nr, scale, prod, g, p->left[t].acc, p->left[t].core);
  return PRSVD_OK;
}

/* The row-split form (pass_impl.h, prsvd_pass_csr_lane): rows [i0, i1) of the CSR panel,
 * each lane's co-range sum kept row-major across the pass (ln->corange_t, added to H in lane
 * order by the pass), its statistics into its own sums. */
void prsvd_pass_csr_lane(const struct prsvd_pass *p, struct prsvd_lane *ln, int64_t r, int64_t off,
                         const double *rt) {
  const struct prsvd_csr *a = p->state->csr;
  const int64_t i0 = ln->row0, i1 = ln->row0 + ln->rows;
  const int64_t e0 = a->indptr[i0], e1 = a->indptr[i1];
  double *prod = p->work;
  const double scale = ldexp(1.0, p->scale_exp);
  const long double scale_l = scale;
  ln->flops = 0.0;
  if (p->fro2) { /* lane 0 into the pass's sum, the others their own */
    long double s = 0.0L;
    for (int64_t t = e0; t < e1; t++) s += PRSVD_SQUARE(a->data[t], scale_l);
    *(ln == p->state->lanes ? p->fro2 : &ln->fro2) += (double)PRSVD_SQUARES_SCALED(s, p->scale_exp);
  }
  if (p->col_sum)
    for (int64_t t = e0; t < e1; t++) {
      const double v = a->data[t] * scale;
      ln->col_sum[a->indices[t]] += v;
      ln->col_sumsq[a->indices[t]] += v * v;
    }
  for (int64_t t = 0; t < p->n_samples; t++) {
    const int64_t i = p->sample_row[t] - r;
    if (i < i0 || i >= i1) continue;
    p->sample_val[t] = 0.0;
    for (int64_t u = a->indptr[i]; u < a->indptr[i + 1]; u++)
      if (a->indices[u] == p->sample_col[t]) p->sample_val[t] += a->data[u];
  }
  /* P_b = A_b R, its rows kept; H_t += A_b^T K_b, row-major */
  ln->flops += csr_products(p, rt, off, i0, i1, scale, ln->corange_t);
  /* L_t += A_b^T G_b, Z_t += G_b^T P_b: its rows of G_i, drawn here */
  for (int t = 0; t < p->n_left; t++)
    ln->flops += left_rows(p, t, r, i0, i1, scale, prod, p->work + p->panel_rows * p->n_right,
                           ln->left_acc[t], ln->left_core[t]);
}
