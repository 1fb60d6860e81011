/* The scaled copies of a pass's small operands (sketch.h, the range of A) and the float32
 * products: float32 copies of R, K_i and G_i for SGEMMs of float32 panels, and 2^scale_exp
 * copies for the float64 products of an extreme A. */
#include "pass_impl.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "blas.h"
#include "error.h"

/* The float32 products' scales are powers of two (so 1.0 leaves them as they were): a float32
 * copy holds f x, and its product is widened times 2^scale_exp / f. */
static void widen(const float *x, size_t count, double scale, double *y) {
  for (size_t i = 0; i < count; i++) y[i] = x[i] * scale;
}

static void add_widened(const float *x, size_t count, double scale, double *y) {
  for (size_t i = 0; i < count; i++) y[i] += x[i] * scale;
}

/* scale x (rows x cols, ld ldx, column-major) as float32 into y (ld rows) */
static void narrow(const double *x, int64_t ldx, int64_t rows, int64_t cols, double scale, float *y) {
  for (int64_t c = 0; c < cols; c++)
    for (int64_t i = 0; i < rows; i++) y[c * rows + i] = (float)(x[c * ldx + i] * scale);
}

/* scale x (rows x cols, ld ldx) into y (ld rows), for the float64 products of 2^scale_exp A */
void prsvd_pass_scaled_copy(const double *x, int64_t ldx, int64_t rows, int64_t cols, double scale, double *y) {
  for (int64_t c = 0; c < cols; c++)
    for (int64_t i = 0; i < rows; i++) y[c * rows + i] = x[c * ldx + i] * scale;
}

/* ---- the range of A (sketch.h) ---- */

/* The power of two f on a float32 product's small operand (max |x| = xmax) against panels
 * whose max |a_ij| is amax: 0 while the operand and the products stay well inside float32
 * (xmax in [2^-100, 2^100] and amax xmax in [2^-60, 2^60]: n terms of 2^60 stay far below
 * 2^128, and 2^-60 is 66 bits above float32's underflow), else amax 2^f xmax near 1, with
 * 2^f xmax kept in [2^-100, 2^100]. */
static int f32_exponent(double amax, double xmax) {
  if (!(amax > 0.0) || !(xmax > 0.0) || !isfinite(amax) || !isfinite(xmax)) return 0;
  const int ea = ilogb(amax), ex = ilogb(xmax);
  if (ex >= -100 && ex <= 100 && ea + ex >= -60 && ea + ex <= 60) return 0;
  const int f = -(ea + ex);
  return f > 100 - ex ? 100 - ex : f < -100 - ex ? -100 - ex : f;
}

/* max |x_ij| of x (rows x cols, ld ldx) */
static double max_abs_cols(const double *x, int64_t ldx, int64_t rows, int64_t cols) {
  double mx = 0.0;
  for (int64_t c = 0; c < cols; c++) mx = fmax(mx, prsvd_max_abs(x + c * ldx, 0, rows));
  return mx;
}

/* The single-precision scratch: R (n x n_right), P_i (panel_rows x n_right), K_i or G_i
 * (panel_rows x w) and an n x w product, w the widest co-range or left product. */
int64_t prsvd_pass_f32_width(const struct prsvd_pass *p) {
  int64_t w = p->corange ? prsvd_dmat_cols(p->corange_src) : 0;
  for (int t = 0, run; t < p->n_left; t += run) {
    run = prsvd_pass_left_run(p, t);
    if (p->left[t].acc && prsvd_pass_left_run_dim(p, t, run) > w) w = prsvd_pass_left_run_dim(p, t, run);
  }
  return w;
}

static float *f32_right(const struct prsvd_pass *p) { return p->state->f32; }
float *prsvd_pass_f32_prod(const struct prsvd_pass *p, int64_t n) { return p->state->f32 + n * p->n_right; }
float *prsvd_pass_f32_rows(const struct prsvd_pass *p, int64_t n) {
  return prsvd_pass_f32_prod(p, n) + p->panel_rows * p->n_right;
}
float *prsvd_pass_f32_out(const struct prsvd_pass *p, int64_t n) {
  return prsvd_pass_f32_rows(p, n) + p->panel_rows * prsvd_pass_f32_width(p);
}

/* The scaled copies of the small operands (sketch.h, the range of A): single, the float32
 * copies (R made at the first panel); otherwise, when the pass scales A, 2^scale_exp R and
 * room for 2^scale_exp K_i or G_i. */
int prsvd_pass_copies_begin(struct prsvd_pass *p, int64_t n) {
  const int64_t w = prsvd_pass_f32_width(p);
  p->state->right_c_exp = 0;
  p->state->f32_right_exp = INT_MIN;
  if (p->state->single) {
    p->state->f32 = malloc(sizeof(float) * (size_t)((n + p->panel_rows) * (p->n_right + w)));
    if (!p->state->f32) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the float32 copies of the sketches");
    if (p->right && p->n_right) p->state->right_max = max_abs_cols(p->right, n, n, p->n_right);
    return PRSVD_OK;
  }
  if (!p->scale_exp && !p->scale_running) return PRSVD_OK;
  if (p->right && p->n_right && !(p->state->right_c = malloc(sizeof(double) * (size_t)(n * p->n_right))))
    PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the scaled test matrix");
  if (w && !(p->state->small_c = malloc(sizeof(double) * (size_t)(p->panel_rows * w))))
    PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the scaled sketch rows");
  return PRSVD_OK;
}

/* Before a panel's products: R's copy for the exponent in force (float64: 2^scale_exp R;
 * float32: 2^f R for the panels' amax, one f for all columns, as the columns of a test matrix
 * (Omega, orth(H), probes) lie within a few powers of two of each other), made again only
 * when that moved. */
void prsvd_pass_copies_ready(struct prsvd_pass *p, int64_t n) {
  if (!p->right || !p->n_right || p->state->csr) return; /* a CSR panel scales its values instead */
  if (p->state->single) {
    const int f = f32_exponent(prsvd_pass_held_amax(p), p->state->right_max);
    if (f != p->state->f32_right_exp) narrow(p->right, n, n, p->n_right, ldexp(1.0, f), f32_right(p));
    p->state->f32_right_exp = f;
  } else if (p->scale_exp && p->scale_exp != p->state->right_c_exp) {
    prsvd_pass_scaled_copy(p->right, n, n, p->n_right, ldexp(1.0, p->scale_exp), p->state->right_c);
    p->state->right_c_exp = p->scale_exp;
  }
}

/* The power of two on column j of a float32 copy of x (ld ldx, nr rows): one a column, as the
 * columns of a co-range source [G | Q_pending] (qb_ei.c) lie ~max|a| sqrt(n) apart, more than
 * float32 holds beside 2^-24 of the larger. */
static int f32_column_exp(const struct prsvd_pass *p, const double *x, int ldx, int nr, int j) {
  return f32_exponent(prsvd_pass_held_amax(p), prsvd_max_abs(x + (size_t)j * ldx, 0, nr));
}

/* The float32 form of prsvd_pass_panel_t_times: out (nc x c, ld n) += (2^scale_exp A_b)^T x,
 * A_b the nr x nc block of the panel at offset `at` (ld n), through a float32 copy of x scaled
 * column by column, widened as it is added. */
void prsvd_pass_panel_t_times_f32(const struct prsvd_pass *p, const struct prsvd_lane *ln, size_t at, int nr, int nc,
                                  int n, const double *x, int ldx, int c, double *out) {
  const float one = 1.0f, zero = 0.0f;
  float *x32 = ln->x32, *o32 = ln->o32;
  for (int j = 0; j < c; j++)
    narrow(x + (size_t)j * ldx, ldx, nr, 1, ldexp(1.0, f32_column_exp(p, x, ldx, nr, j)), x32 + (size_t)j * nr);
  sgemm_("N", "N", &nc, &c, &nr, &one, p->state->panel32 + at, &n, x32, &nr, &zero, o32, &nc);
  for (int j = 0; j < c; j++)
    add_widened(o32 + (size_t)j * nc, (size_t)nc, ldexp(1.0, prsvd_pass_held_exp(p) - f32_column_exp(p, x, ldx, nr, j)),
                out + (size_t)j * n);
}

/* The float32 form of prsvd_pass_right_product: P_b (nr x c, ld ldo) from the float32 R made by
 * prsvd_pass_copies_ready, widened. */
double prsvd_pass_right_product_f32(const struct prsvd_pass *p, const struct prsvd_lane *ln, int nr, int n,
                                    double *out, int ldo) {
  const int c = (int)p->n_right;
  const size_t at = (size_t)ln->row0 * (size_t)n;
  const float one = 1.0f, zero = 0.0f;
  sgemm_("T", "N", &nr, &c, &n, &one, p->state->panel32 + at, &n, f32_right(p), &n, &zero, ln->p32, &nr);
  for (int q = 0; q < c; q++)
    widen(ln->p32 + (size_t)q * nr, (size_t)nr, ldexp(1.0, prsvd_pass_held_exp(p) - p->state->f32_right_exp), out + (size_t)q * ldo);
  return 2.0 * nr * (double)n * c;
}
