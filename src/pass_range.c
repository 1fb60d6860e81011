/* The range of A (sketch.h): the exponent that scales an extreme A, the rescaling of what a
 * pass holds, and the scan of each panel for max |a_ij| and NaN/Inf. */
#include "pass_impl.h"

#include <math.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "source_impl.h"

/* The largest number of any sketch is the Gram matrix CholeskyQR forms of H = A^T A Omega
 * (|Omega_ij| <= 8): |H_ij| <= sigma_1^2 ||Omega_j|| <= 8 m n^1.5 max|a|^2, so with l <= n
 * columns its entries and trace stay below 2^1020 while 2^6 m^2 n^4 max|a|^4 does, that is
 * while log2 max|a| < (1014 - 2 log2 m - 4 log2 n) / 4 (223 at m = n = 2^20).  The smallest
 * that must keep its digits is the fourth power, in that Gram, of a singular value 2^-52 below
 * sigma_1 >= max|a|: normal (above 2^-1022) with room to spare while log2 max|a| >= -180. */
#define RANGE_BOTTOM (-180)
static int range_top(int64_t m, int64_t n) {
  const double lm = log2((double)(m > 1 ? m : 1)), ln = log2((double)(n > 1 ? n : 1));
  return (int)floor((1014.0 - 2.0 * lm - 4.0 * ln) / 4.0);
}

/* 1 if an A whose max |a_ij| has binary exponent log2_amax (ilogb) is sketched unscaled */
static int range_holds(int log2_amax, int64_t m, int64_t n) {
  return log2_amax >= RANGE_BOTTOM && log2_amax < range_top(m, n);
}

int prsvd_range_exponent(double amax, int64_t m, int64_t n) {
  if (!(amax > 0.0) || !isfinite(amax) || range_holds(ilogb(amax), m, n)) return 0;
  /* 2^e amax in [1/2, 1); the clamp keeps 2^e times a small operand (|x| up to ~2^60) inside
   * float64 and still brings any finite amax into the range (2^-1074 to 2^-114, 2^1024 to
   * 2^64) */
  const int e = -ilogb(amax) - 1;
  return e > PRSVD_RANGE_MAX_EXP ? PRSVD_RANGE_MAX_EXP : e < -PRSVD_RANGE_MAX_EXP ? -PRSVD_RANGE_MAX_EXP : e;
}

/* x *= 2^e (ldexp: 2^e itself need not be a double), count entries at stride 1 */
static void rescale_array(double *x, int64_t count, int e) {
  for (int64_t i = 0; x && i < count; i++) x[i] = ldexp(x[i], e);
}

void prsvd_pass_rescale(struct prsvd_pass *p, int exp) {
  const int d = exp - p->scale_exp; /* between panels the threads' sums are the pass's (fold) */
  const int64_t n = prsvd_source_cols(p->a);
  if (!d) return;
  int corange_degree = 1; /* A^T K_i: twice homogeneous when K_i are rows this pass kept */
  for (int t = 0; t < p->n_keep; t++) {
    prsvd_dmat *kept = p->keep[t].dmat;
    int64_t kr, kld, kc = p->keep[t].ncols ? p->keep[t].ncols : prsvd_dmat_cols(kept);
    double *k = prsvd_dmat_local(kept, NULL, &kr, &kld);
    for (int64_t c = 0; c < kc; c++) rescale_array(k + c * kld, kr, d);
    corange_degree += kept == p->corange_src;
  }
  if (p->corange) rescale_array(p->corange, n * prsvd_dmat_cols(p->corange_src), corange_degree * d);
  for (int t = 0; t < p->n_left; t++) {
    rescale_array(p->left[t].acc, n * p->left[t].g.dim, d);
    rescale_array(p->left[t].core, p->left[t].g.dim * p->left[t].core_cols, d);
  }
  rescale_array(p->fro2, 1, 2 * d);
  rescale_array(p->col_sum, n, d);
  rescale_array(p->col_sumsq, n, 2 * d);
  if (p->center_sum) { /* row centring's sums, one a row of keep[0]'s local block */
    int64_t kr;
    prsvd_dmat_local(p->keep[0].dmat, NULL, &kr, NULL);
    rescale_array(p->center_sum, kr, d);
    rescale_array(p->center_sumsq, kr, 2 * d);
  }
  p->scale_exp = exp;
}

int prsvd_pass_range(struct prsvd_pass *p, MPI_Comm comm, int64_t m, int64_t n, int *exp) {
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, &p->amax, 1, MPI_DOUBLE, MPI_MAX, comm));
  *exp = prsvd_range_exponent(p->amax, m, n);
  if (p->scale_running) prsvd_pass_rescale(p, *exp);
  return PRSVD_OK;
}

/* A running pass, after a panel raised amax: the exponent moves when 2^scale_exp amax has
 * left the range (the pass spans this rank's rows of the whole A: a P x 1 grid). */
void prsvd_pass_follow_range(struct prsvd_pass *p) {
  const int64_t m = prsvd_source_rows(p->a), n = prsvd_source_cols(p->a);
  if (p->amax > 0.0 && isfinite(p->amax) && !range_holds(ilogb(p->amax) + p->scale_exp, m, n))
    prsvd_pass_rescale(p, prsvd_range_exponent(p->amax, m, n));
}

/* The largest of count magnitudes' bits (sign cleared), L lanes side by side so that the max
 * runs in vector registers (-O2 leaves a single running max scalar): bits is the unsigned
 * integer as wide as elem, mask clears its sign. */
#define MAX_BITS(name, elem, bits, mask, L)                                \
  PRSVD_KERNEL_CLONES static bits name(const elem *a, int64_t count) {     \
    bits mx[L] = {0};                                                      \
    int64_t i = 0;                                                         \
    for (; i + (L) <= count; i += (L))                                     \
      for (int l = 0; l < (L); l++) {                                      \
        bits b;                                                            \
        memcpy(&b, a + i + l, sizeof b);                                   \
        b &= (mask);                                                       \
        mx[l] = b > mx[l] ? b : mx[l];                                     \
      }                                                                    \
    for (; i < count; i++) {                                               \
      bits b;                                                              \
      memcpy(&b, a + i, sizeof b);                                         \
      b &= (mask);                                                         \
      mx[0] = b > mx[0] ? b : mx[0];                                       \
    }                                                                      \
    for (int l = 1; l < (L); l++) mx[0] = mx[l] > mx[0] ? mx[l] : mx[0];   \
    return mx[0];                                                          \
  }
MAX_BITS(max_bits64, double, uint64_t, 0x7fffffffffffffffu, 8)
/* float32 panels: 16 lanes (the float path was a scalar loop, 6% of a float32 pass's CPU) */
MAX_BITS(max_bits32, float, uint32_t, 0x7fffffffu, 16)

double prsvd_max_abs(const void *x, int single, int64_t count) {
  /* The magnitudes' order is that of their bits with the sign cleared, and Inf and NaN lie
   * above every finite value: one integer max (which vectorizes, unlike the early exit of a
   * search) both measures and checks. */
  if (single) {
    const uint32_t mx = max_bits32(x, count);
    float v;
    memcpy(&v, &mx, sizeof v);
    return mx >= 0x7f800000u ? INFINITY : v;
  }
  const uint64_t mx = max_bits64(x, count);
  double v;
  memcpy(&v, &mx, sizeof v);
  return mx >= 0x7ff0000000000000u ? INFINITY : v;
}

/* The index of the panel's first entry that is not finite, or -1. */
static int64_t first_nonfinite(const void *panel, int single, int64_t count) {
  if (single) {
    const float *a = panel;
    for (int64_t i = 0; i < count; i++)
      if (!isfinite(a[i])) return i;
  } else {
    const double *a = panel;
    for (int64_t i = 0; i < count; i++)
      if (!isfinite(a[i])) return i;
  }
  return -1;
}

/* The first of nr rows of panel (the pass's panel type) holding a NaN or Inf, or -1, and
 * their max |a_ij| in *amax.  Reads only p's source and precision: the reader thread, and the
 * main thread beside it, may call it. */
int64_t prsvd_pass_first_bad_row(void *arg, const void *panel, int64_t nr, double *amax) {
  const struct prsvd_pass *p = arg;
  const int64_t n = prsvd_source_cols(p->a);
  *amax = prsvd_max_abs(panel, p->state->single, nr * n);
  if (isfinite(*amax)) return -1;
  const int64_t at = first_nonfinite(panel, p->state->single, nr * n);
  return at < 0 ? -1 : at / n;
}

/* PRSVD_ERR_INPUT naming the first NaN or Inf of row `bad` of panel, whose first row is row0. */
int prsvd_pass_report_nonfinite(void *arg, const void *panel, int64_t row0, int64_t bad) {
  const struct prsvd_pass *p = arg;
  const char *row = (const char *)panel + bad * prsvd_pass_row_bytes(p);
  const int64_t at = first_nonfinite(row, p->state->single, prsvd_source_cols(p->a));
  const double v = p->state->single ? ((const float *)row)[at] : ((const double *)row)[at];
  PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': %s at row %lld, column %lld", prsvd_source_name(p->a),
            isnan(v) ? "NaN" : "Inf", (long long)(row0 + bad), (long long)(prsvd_source_col0(p->a) + at));
}

/* 1 if the pass scans its panels: for NaN and Inf, or for max |a_ij|. */
int prsvd_pass_scans(const struct prsvd_pass *p) { return p->check_finite || p->measure || p->scale_running; }

/* The scan of the panel in hand (rows [row0, row0 + nr)): max |a_ij| into p->state->panel_amax, and
 * with check_finite PRSVD_ERR_INPUT naming its first NaN or Inf.  The reader thread scanned a
 * dense panel already (checked_ahead).  A CSR panel's structure was checked as it was read
 * (prsvd_source_read_csr); here its values are. */
int prsvd_pass_scan_panel(struct prsvd_pass *p, int64_t row0, int64_t nr) {
  if (p->state->checked_ahead) return PRSVD_OK;
  if (p->state->csr) {
    const struct prsvd_csr *a = p->state->csr;
    p->state->panel_amax = prsvd_max_abs(a->data, 0, a->nnz);
    for (int64_t i = 0; p->check_finite && !isfinite(p->state->panel_amax) && i < a->rows; i++)
      for (int64_t t = a->indptr[i]; t < a->indptr[i + 1]; t++)
        if (!isfinite(a->data[t]))
          PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': %s at row %lld, column %lld", prsvd_source_name(p->a),
                    isnan(a->data[t]) ? "NaN" : "Inf", (long long)(row0 + i), (long long)a->indices[t]);
    return PRSVD_OK;
  }
  const void *panel = p->state->single ? (const void *)p->state->panel32 : p->state->panel;
  const int64_t bad = prsvd_pass_first_bad_row(p, panel, nr, &p->state->panel_amax);
  p->state->panel_amax = ldexp(p->state->panel_amax, -p->state->panel_exp); /* of A */
  return bad < 0 || !p->check_finite ? PRSVD_OK : prsvd_pass_report_nonfinite(p, panel, row0, bad);
}
