/* The products and sums of a dense panel (sketch.h), for the lane's rows: P_i = A_i R, kept
 * rows, A_i^T X (co-range and left sums), the statistics, the row centring and the residual. */
#include "pass_impl.h"

#include <math.h>
#include <limits.h>
#include <string.h>

#include "blas.h"
#include "rng.h"
#include "threads.h"

/* A sparse sign map whose rows are more than a fifth nonzero goes through the GEMM densified:
 * an axpy per nonzero costs about five GEMM columns (perf at 100000 x 4000). */
int prsvd_pass_sparse_left_as_dense(int64_t d) { return d < 5 * (int64_t)prsvd_sparse_zeta(d); }
/* 1 if left sketch t's G_i is formed dense and multiplied by a GEMM */
static int left_dense(const struct prsvd_pass *p, int t) {
  return p->left[t].g.kind == PRSVD_SKETCH_GAUSSIAN || prsvd_pass_sparse_left_as_dense(p->left[t].g.dim);
}

/* Left sketches t .. t + run - 1 whose sums lie side by side in one n-row block (acc of u + 1
 * = acc of u + n dim_u), all formed dense and none with a core, are one product
 * A_i^T [G_t | ... ] (sketch.h): one pass over the panel where there were run. */
int prsvd_pass_left_run(const struct prsvd_pass *p, int t) {
  const int64_t n = prsvd_source_cols(p->a);
  int run = 1;
  if (!p->left[t].acc || p->left[t].core || !left_dense(p, t)) return 1;
  for (int u = t + 1; u < p->n_left; u++, run++)
    if (!p->left[u].acc || p->left[u].core || !left_dense(p, u) ||
        p->left[u].acc != p->left[u - 1].acc + n * p->left[u - 1].g.dim)
      break;
  return run;
}

/* The columns of the left product that starts at sketch t (run sketches) */
int64_t prsvd_pass_left_run_dim(const struct prsvd_pass *p, int t, int run) {
  int64_t d = 0;
  for (int u = t; u < t + run; u++) d += p->left[u].g.dim;
  return d;
}

/* Rows [col0, col0 + nc) of out (n x c, ld n) += (2^scale_exp A_b(:, col0 : col0 + nc))^T x,
 * A_b the nr rows of the panel from row0 on, x (nr x c, ld ldx): a lane's columns of the
 * co-range or left sum over every row of the panel (or the whole of both on one thread), so
 * that each entry is one dot product over the panel's rows whichever lane forms it.  A scaled
 * copy of x goes in the lane's scratch: a float32 copy by the powers of two that keep its
 * products inside float32, undone as they widen (pass_kernels_f32.c). */
double prsvd_pass_panel_t_times(const struct prsvd_pass *p, const struct prsvd_lane *ln, int64_t row0, int nr,
                                int64_t col0, int nc, int n, const double *x, int ldx, int c, double *out) {
  const size_t at = (size_t)row0 * (size_t)n + (size_t)col0;
  if (!nc || !nr) return 0.0;
  if (p->state->single) {
    prsvd_pass_panel_t_times_f32(p, ln, at, nr, nc, n, x, ldx, c, out + col0);
  } else {
    const double one = 1.0;
    if (p->scale_exp) {
      prsvd_pass_scaled_copy(x, ldx, nr, c, ldexp(1.0, p->scale_exp), ln->small_c);
      x = ln->small_c, ldx = nr;
    }
    dgemm_("N", "N", &nc, &c, &nr, &one, p->state->panel + at, &n, x, &ldx, &one, out + col0, &n);
  }
  return 2.0 * (double)nr * nc * c;
}

/* P_b (nr x c, ld ldo) = (2^scale_exp A_b) R for the nr rows A_b of the panel from the lane's
 * row0 on; the row-major panel is the column-major n x nr A_b^T.  R's scaled copies are made
 * before the panel (copies_ready) and only read here.  A sparse map: the whole panel (lane 0). */
double prsvd_pass_right_product(const struct prsvd_pass *p, const struct prsvd_lane *ln, int nr, int n,
                                double *out, int ldo) {
  const int c = (int)p->n_right;
  const size_t at = (size_t)ln->row0 * (size_t)n;
  if (p->right && p->state->single) return prsvd_pass_right_product_f32(p, ln, nr, n, out, ldo);
  if (p->right) {
    const double one = 1.0, zero = 0.0;
    const double *r = p->scale_exp ? p->state->right_c : p->right;
    dgemm_("T", "N", &nr, &c, &n, &one, p->state->panel + at, &n, r, &n, &zero, out, &ldo);
    return 2.0 * nr * (double)n * c;
  }
  return prsvd_pass_right_product_sparse(p, ln, nr, n, out, ldo);
}

/* Left sketches t .. t + run - 1, the rows' part: G_b's rows [row0, row0 + nr) of the panel
 * (whose first row is global row r) generated into g (G_i, column-major, ld ldp), or for a
 * sparse map their positions and signs.  A run of sketches (left_run) side by side in g. */
void prsvd_pass_left_rows(const struct prsvd_pass *p, int t, int run, int64_t r, int64_t row0, int nr, double *g,
                          int ldp) {
  if (!left_dense(p, t)) {
    prsvd_pass_left_rows_sparse(p, t, r, row0, nr);
    return;
  }
  g += row0;
  for (int u = t, c0 = 0; u < t + run; c0 += (int)p->left[u].g.dim, u++) {
    const struct prsvd_testmat *gu = &p->left[u].g;
    const int du = (int)gu->dim;
    double *gc = g + (size_t)c0 * ldp;
    if (gu->kind == PRSVD_SKETCH_GAUSSIAN) {
      prsvd_rng_fill(gu->seed, gu->stream, r + row0, nr, 0, du, gc, ldp);
    } else {
      int pos[8];
      double sign[8];
      for (int q = 0; q < du; q++) memset(gc + (size_t)q * ldp, 0, sizeof(double) * (size_t)nr);
      for (int i = 0; i < nr; i++) {
        prsvd_sparse_column(gu->seed, gu->stream, r + row0 + i, du, pos, sign);
        for (int z = 0; z < prsvd_sparse_zeta(du); z++) gc[(size_t)pos[z] * ldp + i] = sign[z];
      }
    }
  }
}

/* The columns' part, over every one of the panel's nr rows once G_b is whole: rows
 * [col0, col0 + nc) of L_t (n x d) += A_b^T G_b, and lane `lane` of `lanes`'s share of Z_t's
 * columns (d x cc) += G_b^T P_b(:, c0 : c0+cc), P_b in prod (ld ldp).  Each entry of either is
 * formed by one lane alone: nothing to add up afterwards. */
double prsvd_pass_left_cols(const struct prsvd_pass *p, const struct prsvd_lane *ln, int t, int run, int nr, int n,
                            int64_t col0, int nc, int lane, int lanes, const double *prod, const double *g,
                            int ldp) {
  const int d = (int)p->left[t].g.dim;
  int64_t k0, kn;
  prsvd_pool_share(p->left[t].core_cols, lane, lanes, &k0, &kn);
  if (!left_dense(p, t)) return prsvd_pass_left_update_sparse(p, t, nr, n, col0, nc, k0, kn, prod, ldp);
  const double one = 1.0;
  double flops = 0.0;
  if (p->left[t].acc)
    flops += prsvd_pass_panel_t_times(p, ln, 0, nr, col0, nc, n, g, ldp, (int)prsvd_pass_left_run_dim(p, t, run),
                                      p->left[t].acc);
  if (p->left[t].core && kn && nr) {
    const int ikn = (int)kn;
    const double *pc = prod + (size_t)(p->left[t].core_col0 + k0) * ldp;
    dgemm_("T", "N", &d, &ikn, &nr, &one, g, &ldp, pc, &ldp, &one, p->left[t].core + k0 * d, &d);
    flops += 2.0 * d * (double)nr * kn;
  }
  return flops;
}

/* ||2^scale_exp A_b||_F^2 in extended precision (--tol subtracts it from the sketch's energy;
 * four chains in registers, as one x87 chain waits on every add) and the sampled entries (as
 * they are) whose rows pass by, for the lane's nr rows A_b of the panel (whose first row is
 * global row r): lane 0 into the pass's sum, the others into their own (added in lane order
 * when the panel is done). */
void prsvd_pass_row_statistics(struct prsvd_pass *p, struct prsvd_lane *ln, int64_t r, int64_t nr, int64_t n) {
  const double as_is = ldexp(1.0, -p->state->panel_exp);
  const long double cl = ldexp(1.0, prsvd_pass_held_exp(p));
  double *fro2 = ln == p->state->lanes ? p->fro2 : &ln->fro2;
  r += ln->row0;
  WITH_PANEL(p, A0, {
    const __typeof__(*A0) *A = A0 + ln->row0 * n;
    if (p->fro2) {
      long double s0 = 0.0L, s1 = 0.0L, s2 = 0.0L, s3 = 0.0L;
      const int64_t len = nr * n;
      int64_t i = 0;
      for (; i + 4 <= len; i += 4) {
        s0 += PRSVD_SQUARE(A[i], cl);
        s1 += PRSVD_SQUARE(A[i + 1], cl);
        s2 += PRSVD_SQUARE(A[i + 2], cl);
        s3 += PRSVD_SQUARE(A[i + 3], cl);
      }
      for (; i < len; i++) s0 += PRSVD_SQUARE(A[i], cl);
      *fro2 += (double)PRSVD_SQUARES_SCALED((s0 + s1) + (s2 + s3), prsvd_pass_held_exp(p));
    }
    for (int64_t t = 0; t < p->n_samples; t++)
      if (p->sample_row[t] >= r && p->sample_row[t] < r + nr)
        p->sample_val[t] = A[(p->sample_row[t] - r) * n + p->sample_col[t]] * as_is;
  });
}

/* Column sums and sums of squares of 2^scale_exp A_b, columns [col0, col0 + nc) over all nr
 * rows of the panel, into the pass's: each column's sums run down its rows in order, whichever
 * lane holds it. */
void prsvd_pass_col_statistics(struct prsvd_pass *p, int64_t nr, int64_t n, int64_t col0, int64_t nc) {
  const double c = ldexp(1.0, prsvd_pass_held_exp(p));
  if (!p->col_sum) return;
  double *sum = p->col_sum + col0, *sumsq = p->col_sumsq + col0;
  WITH_PANEL(p, A, {
    for (int64_t i = 0; i < nr; i++)
      for (int64_t j = 0; j < nc; j++) {
        const double v = A[i * n + col0 + j] * c;
        sum[j] += v, sumsq[j] += v * v;
      }
  });
}

void prsvd_pass_center_rows(const struct prsvd_pass *p, int64_t i0, int64_t i1, int64_t local0, double *prod,
                            int64_t ld) {
  const double c = ldexp(1.0, prsvd_pass_held_exp(p));
  const int64_t n = prsvd_source_cols(p->a), w = p->n_right;
  for (int64_t i = i0; i < i1; i++) {
    double sum = 0.0, sumsq = 0.0;
    if (p->state->csr) {
      for (int64_t t = p->state->csr->indptr[i]; t < p->state->csr->indptr[i + 1]; t++) {
        const double v = p->state->csr->data[t] * c;
        sum += v, sumsq += v * v;
      }
    } else {
      WITH_PANEL(p, A, {
        for (int64_t j = 0; j < n; j++) {
          const double v = A[i * n + j] * c;
          sum += v, sumsq += v * v;
        }
      });
    }
    const double mu = sum / (double)p->center_cols;
    for (int64_t q = 0; prod && q < w; q++) prod[q * ld + i] -= mu * p->center_shift[q];
    if (p->center_sum) p->center_sum[local0 + i] += sum, p->center_sumsq[local0 + i] += sumsq;
  }
}

double *prsvd_pass_kept_at(const struct prsvd_pass *p, int64_t r, int64_t nr, int *ld) {
  if (p->n_keep != 1 || p->keep[0].col0 != 0 || p->center_rows || p->n_left || p->grid2d) return NULL;
  prsvd_dmat *kept = p->keep[0].dmat;
  if ((p->keep[0].ncols ? p->keep[0].ncols : prsvd_dmat_cols(kept)) != p->n_right) return NULL;
  int64_t k0, kr, kld;
  double *k = prsvd_dmat_local(kept, &k0, &kr, &kld);
  if (r < k0 || r + nr > k0 + kr || kld > INT_MAX) return NULL;
  *ld = (int)kld;
  return k + (r - k0);
}

/* The rows of the lane's P_b (in prod, ld ld) stored into the kept matrices: those of the
 * panel's rows [r + b0, r + b0 + nr) that this rank's blocks hold. */
void prsvd_pass_keep_rows(struct prsvd_pass *p, int64_t r, int64_t b0, int64_t nr, const double *prod, int64_t ld) {
  r += b0;
  for (int t = 0; t < p->n_keep; t++) {
    prsvd_dmat *kept = p->keep[t].dmat;
    int64_t k0, kr, kld, kc = p->keep[t].ncols ? p->keep[t].ncols : prsvd_dmat_cols(kept);
    double *k = prsvd_dmat_local(kept, &k0, &kr, &kld);
    const int64_t lo = r > k0 ? r : k0, hi = r + nr < k0 + kr ? r + nr : k0 + kr;
    const double *from = prod + p->keep[t].col0 * ld + b0 + lo - r;
    for (int64_t c = 0; c < kc && hi > lo; c++)
      memcpy(k + c * kld + lo - k0, from + c * ld, sizeof(double) * (size_t)(hi - lo));
  }
}

/* Rows of a residual tile: at most 64, and at most 8 MiB of n-long rows. */
int64_t prsvd_pass_resid_tile_rows(int64_t n) {
  const int64_t rows = ((int64_t)1 << 20) / (n > 0 ? n : 1);
  return rows < 1 ? 1 : rows > 64 ? 64 : rows;
}

/* resid += ||2^e A_i - K_i M^T||_F^2 (e = scale_exp) over the panel's nr rows (offset off into resid_src), a tile
 * of tr rows at a time: the tile E (n x tr, column-major: row i of A_i is column i) from the
 * dense panel or the CSR rows, K (tr x k) from resid_src or E's columns resid_cols, then
 * E -= M K^T and its squares summed. */
double prsvd_pass_residual_update(struct prsvd_pass *p, int64_t off, int nr, int n) {
  const int64_t tr = prsvd_pass_resid_tile_rows(n), k = p->resid_k;
  const int ik = (int)k, itr = (int)tr;
  double *e = p->state->resid_tile, *kt = p->state->resid_tile + tr * n;
  const double one = 1.0, minus_one = -1.0;
  const double f = ldexp(1.0, prsvd_pass_held_exp(p)); /* the residual of 2^scale_exp A; |scale_exp| <= 960 */
  long double sum = 0.0L;
  int64_t kld = 0;
  const double *src = p->resid_src ? prsvd_dmat_local(p->resid_src, NULL, NULL, &kld) : NULL;
  for (int64_t i0 = 0; i0 < nr; i0 += tr) {
    const int rows = (int)(nr - i0 < tr ? nr - i0 : tr);
    if (p->state->csr) {
      const struct prsvd_csr *a = p->state->csr;
      memset(e, 0, sizeof(double) * (size_t)rows * (size_t)n);
      for (int i = 0; i < rows; i++)
        for (int64_t t = a->indptr[i0 + i]; t < a->indptr[i0 + i + 1]; t++) e[(size_t)i * n + a->indices[t]] += f * a->data[t];
    } else {
      WITH_PANEL(p, A, {
        for (int64_t x = 0; x < (int64_t)rows * n; x++) e[x] = f * A[i0 * n + x];
      });
    }
    for (int i = 0; i < rows; i++)
      for (int64_t c = 0; c < k; c++)
        kt[c * tr + i] = src ? src[c * kld + off + i0 + i] : e[(size_t)i * n + p->resid_cols[c]];
    dgemm_("N", "T", &n, &rows, &ik, &minus_one, p->resid_m, &n, kt, &itr, &one, e, &n);
    for (int64_t x = 0; x < (int64_t)rows * n; x++) sum += (long double)e[x] * e[x];
  }
  *p->resid += (double)sum;
  return 2.0 * nr * (double)n * k;
}
