/* The panel loop of every pass: read, check, and the sketch updates of sketch.h. */
#include "sketch.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "profile.h"
#include "prefetch.h"
#include "rng.h"
#include "source_impl.h"
#include "threads.h"

static const char *const kind_names[] = {"gaussian", "sparse"};

int prsvd_sketch_kind_parse(const char *name, enum prsvd_sketch_kind *kind) {
  for (int i = 0; i < 2; i++)
    if (!strcmp(name, kind_names[i])) {
      *kind = (enum prsvd_sketch_kind)i;
      return PRSVD_OK;
    }
  PRSVD_ERR(PRSVD_ERR_USAGE, "unknown --sketch '%s': expected gaussian or sparse", name);
}

int prsvd_sparse_zeta(int64_t dim) { return dim < 8 ? (int)dim : 8; }

void prsvd_sparse_column(uint64_t seed, unsigned stream, int64_t index, int64_t dim, int *pos,
                         double *sign) {
  const int zeta = prsvd_sparse_zeta(dim);
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  uint32_t draw = 0;
  for (int t = 0; t < zeta; t++) {
    for (;;) { /* distinct positions by rejection: zeta <= 8 draws from dim >= zeta */
      const uint32_t ctr[4] = {(uint32_t)index, (uint32_t)((uint64_t)index >> 32), draw++,
                               0x5a000000u | (stream & 0xffffu)};
      uint32_t w[4];
      prsvd_philox4x32(ctr, key, w);
      int p = (int)(((uint64_t)w[0] * (uint64_t)dim) >> 32);
      int dup = 0;
      for (int u = 0; u < t; u++) dup |= pos[u] == p;
      if (!dup) {
        pos[t] = p;
        sign[t] = (w[1] & 1u) ? 1.0 : -1.0;
        break;
      }
    }
  }
}

int prsvd_sparse_right_create(uint64_t seed, unsigned stream, int64_t n, int64_t dim,
                              struct prsvd_sparse_right *r) {
  int status = PRSVD_OK;
  memset(r, 0, sizeof *r);
  r->dim = dim;
  r->zeta = prsvd_sparse_zeta(dim);
  PRSVD_ALLOC(r->pos, n * r->zeta);
  PRSVD_ALLOC(r->sign, n * r->zeta);
  for (int64_t j = 0; j < n; j++)
    prsvd_sparse_column(seed, stream, j, dim, r->pos + j * r->zeta, r->sign + j * r->zeta);
done:
  return status;
}

void prsvd_sparse_right_free(struct prsvd_sparse_right *r) {
  free(r->pos);
  free(r->sign);
  memset(r, 0, sizeof *r);
}

int64_t prsvd_pass_work_size(int64_t panel_rows, int64_t n_right, int64_t max_left_dim) {
  return panel_rows * (n_right + max_left_dim);
}

/* Run the statements with A the panel in hand, as const float * (single) or const double *:
 * the element-wise updates are written once for both precisions. */
#define WITH_PANEL(p, A, ...)                 \
  do {                                        \
    if ((p)->single) {                        \
      const float *A = (p)->panel32;          \
      __VA_ARGS__                             \
    } else {                                  \
      const double *A = (p)->panel;           \
      __VA_ARGS__                             \
    }                                         \
  } while (0)

/* The float32 products' scales are powers of two (so 1.0 leaves them as they were): a float32
 * copy holds f x, and its product is widened times 2^scale_exp / f (over 2^panel_exp, the
 * power the float32 panel holds A times: held_exp). */
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
static void scaled_copy(const double *x, int64_t ldx, int64_t rows, int64_t cols, double scale, double *y) {
  for (int64_t c = 0; c < cols; c++)
    for (int64_t i = 0; i < rows; i++) y[c * rows + i] = x[c * ldx + i] * scale;
}

/* ---- the range of A (sketch.h) ---- */

/* The power of two from the panel in hand to the products' 2^scale_exp A: a float32 panel
 * holds 2^panel_exp A (prsvd_source_read_f32), a float64 or CSR one A. */
static int held_exp(const struct prsvd_pass *p) { return p->scale_exp - p->panel_exp; }
/* max |a_ij| of the panel as held, for the float32 products' exponents */
static double held_amax(const struct prsvd_pass *p) { return ldexp(p->amax, p->panel_exp); }

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
static void follow_range(struct prsvd_pass *p) {
  const int64_t m = prsvd_source_rows(p->a), n = prsvd_source_cols(p->a);
  if (p->amax > 0.0 && isfinite(p->amax) && !range_holds(ilogb(p->amax) + p->scale_exp, m, n))
    prsvd_pass_rescale(p, prsvd_range_exponent(p->amax, m, n));
}

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

#if defined(__x86_64__) && defined(__ELF__) && \
    ((defined(__clang__) && __clang_major__ >= 14) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 6))
#define MAX_ABS_KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MAX_ABS_KERNEL
#endif

/* Bytes of one row of the pass's dense panels (float32 or float64); saturating, as every
 * product of a shape is, though prsvd_check_shape already bounds a source's. */
static int64_t row_bytes(const struct prsvd_pass *p) {
  return prsvd_size_mul(prsvd_source_cols(p->a), p->single ? 4 : 8);
}

/* The largest of count magnitudes' bits (sign cleared), 8 lanes side by side so that the max
 * runs in vector registers (-O2 leaves a single running max scalar) */
MAX_ABS_KERNEL static uint64_t max_bits64(const double *a, int64_t count) {
  enum { L = 8 };
  uint64_t mx[L] = {0};
  int64_t i = 0;
  for (; i + L <= count; i += L)
    for (int l = 0; l < L; l++) {
      uint64_t b;
      memcpy(&b, a + i + l, sizeof b);
      b &= 0x7fffffffffffffffu;
      mx[l] = b > mx[l] ? b : mx[l];
    }
  for (; i < count; i++) {
    uint64_t b;
    memcpy(&b, a + i, sizeof b);
    b &= 0x7fffffffffffffffu;
    mx[0] = b > mx[0] ? b : mx[0];
  }
  for (int l = 1; l < L; l++) mx[0] = mx[l] > mx[0] ? mx[l] : mx[0];
  return mx[0];
}

double prsvd_max_abs(const void *x, int single, int64_t count) {
  /* The magnitudes' order is that of their bits with the sign cleared, and Inf and NaN lie
   * above every finite value: one integer max (which vectorizes, unlike the early exit of a
   * search) both measures and checks. */
  if (single) {
    const float *a = x;
    uint32_t mx = 0;
    for (int64_t i = 0; i < count; i++) {
      uint32_t b;
      memcpy(&b, a + i, sizeof b);
      b &= 0x7fffffffu;
      mx = b > mx ? b : mx;
    }
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
static int64_t first_bad_row(void *arg, const void *panel, int64_t nr, double *amax) {
  const struct prsvd_pass *p = arg;
  const int64_t n = prsvd_source_cols(p->a);
  *amax = prsvd_max_abs(panel, p->single, nr * n);
  if (isfinite(*amax)) return -1;
  const int64_t at = first_nonfinite(panel, p->single, nr * n);
  return at < 0 ? -1 : at / n;
}

/* PRSVD_ERR_INPUT naming the first NaN or Inf of row `bad` of panel, whose first row is row0. */
static int report_nonfinite(void *arg, const void *panel, int64_t row0, int64_t bad) {
  const struct prsvd_pass *p = arg;
  const char *row = (const char *)panel + bad * row_bytes(p);
  const int64_t at = first_nonfinite(row, p->single, prsvd_source_cols(p->a));
  const double v = p->single ? ((const float *)row)[at] : ((const double *)row)[at];
  PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': %s at row %lld, column %lld", prsvd_source_name(p->a),
            isnan(v) ? "NaN" : "Inf", (long long)(row0 + bad), (long long)(prsvd_source_col0(p->a) + at));
}

/* 1 if the pass scans its panels: for NaN and Inf, or for max |a_ij|. */
static int scans(const struct prsvd_pass *p) { return p->check_finite || p->measure || p->scale_running; }

/* The scan of the panel in hand (rows [row0, row0 + nr)): max |a_ij| into p->panel_amax, and
 * with check_finite PRSVD_ERR_INPUT naming its first NaN or Inf.  The reader thread scanned a
 * dense panel already (checked_ahead).  A CSR panel's structure was checked as it was read
 * (prsvd_source_read_csr); here its values are. */
static int scan_panel(struct prsvd_pass *p, int64_t row0, int64_t nr) {
  if (p->checked_ahead) return PRSVD_OK;
  if (p->csr) {
    const struct prsvd_csr *a = p->csr;
    p->panel_amax = prsvd_max_abs(a->data, 0, a->nnz);
    for (int64_t i = 0; p->check_finite && !isfinite(p->panel_amax) && i < a->rows; i++)
      for (int64_t t = a->indptr[i]; t < a->indptr[i + 1]; t++)
        if (!isfinite(a->data[t]))
          PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': %s at row %lld, column %lld", prsvd_source_name(p->a),
                    isnan(a->data[t]) ? "NaN" : "Inf", (long long)(row0 + i), (long long)a->indices[t]);
    return PRSVD_OK;
  }
  const void *panel = p->single ? (const void *)p->panel32 : p->panel;
  const int64_t bad = first_bad_row(p, panel, nr, &p->panel_amax);
  p->panel_amax = ldexp(p->panel_amax, -p->panel_exp); /* of A */
  return bad < 0 || !p->check_finite ? PRSVD_OK : report_nonfinite(p, panel, row0, bad);
}

/* ---- the per-panel sums of a 2-D grid (sketch.h, grid2d) ---- */

/* Columns of a panel's sum: the right product's, or the co-range source's without one. */
static int64_t row_sum_width(const struct prsvd_pass *p) {
  if (!p->grid2d) return 0;
  if (p->n_right) return p->n_right;
  return p->corange ? prsvd_dmat_cols(p->corange_src) : 0;
}

/* The step's sum over the process row of p->row_sum (nr x width), with this rank's failure
 * flag after it: PRSVD_ERR_INPUT if another rank of the row failed (its own error is the
 * one the agreement after the pass reports). */
static int row_sum(struct prsvd_pass *p, int64_t r, int64_t nr, int failed) {
  const int64_t count = nr * row_sum_width(p);
  int icount;
  PRSVD_CHECK(prsvd_to_int(count + 1, "panel sum", &icount));
  p->row_sum[count] = failed ? 1.0 : 0.0;
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, p->row_sum, icount, MPI_DOUBLE, MPI_SUM,
                          p->grid2d->row_comm));
  if (!failed && p->row_sum[count] != 0.0) {
    prsvd_error_set(PRSVD_ERR_INPUT, __FILE__, __LINE__, __func__,
                    "'%s': rows [%lld, %lld) failed on another rank of this process row",
                    prsvd_source_name(p->a), (long long)r, (long long)(r + nr));
    return prsvd_error_echo();
  }
  return PRSVD_OK;
}

/* A failed step still joins its sum, so no rank of the process row waits. */
static int row_join(struct prsvd_pass *p, int64_t r, int64_t nr, int status) {
  if (row_sum_width(p)) row_sum(p, r, nr, 1);
  return status;
}

/* K_i of the rows [r, r + nr) with no right product: the process row's blocks of the co-range
 * source, each rank adding its rows. */
static int row_gather(struct prsvd_pass *p, int64_t r, int64_t nr) {
  const int64_t kc = prsvd_dmat_cols(p->corange_src);
  int64_t k0, kr, kld;
  const double *k = prsvd_dmat_local(p->corange_src, &k0, &kr, &kld);
  const int64_t lo = r > k0 ? r : k0, hi = r + nr < k0 + kr ? r + nr : k0 + kr;
  memset(p->row_sum, 0, sizeof(double) * (size_t)(nr * kc));
  for (int64_t c = 0; c < kc && hi > lo; c++)
    memcpy(p->row_sum + c * nr + lo - r, k + c * kld + lo - k0, sizeof(double) * (size_t)(hi - lo));
  return row_sum(p, r, nr, 0);
}

/* A sparse sign map whose rows are more than a fifth nonzero goes through the GEMM densified:
 * an axpy per nonzero costs about five GEMM columns (perf at 100000 x 4000). */
static int sparse_left_as_dense(int64_t d) { return d < 5 * (int64_t)prsvd_sparse_zeta(d); }
/* 1 if left sketch t's G_i is formed dense and multiplied by a GEMM */
static int left_dense(const struct prsvd_pass *p, int t) {
  return p->left[t].g.kind == PRSVD_SKETCH_GAUSSIAN || sparse_left_as_dense(p->left[t].g.dim);
}

/* Left sketches t .. t + run - 1 whose sums lie side by side in one n-row block (acc of u + 1
 * = acc of u + n dim_u), all formed dense and none with a core, are one product
 * A_i^T [G_t | ... ] (sketch.h): one pass over the panel where there were run. */
static int left_run(const struct prsvd_pass *p, int t) {
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
static int64_t left_run_dim(const struct prsvd_pass *p, int t, int run) {
  int64_t d = 0;
  for (int u = t; u < t + run; u++) d += p->left[u].g.dim;
  return d;
}

/* The single-precision scratch: R (n x n_right), P_i (panel_rows x n_right), K_i or G_i
 * (panel_rows x w) and an n x w product, w the widest co-range or left product. */
static int64_t f32_width(const struct prsvd_pass *p) {
  int64_t w = p->corange ? prsvd_dmat_cols(p->corange_src) : 0;
  for (int t = 0, run; t < p->n_left; t += run) {
    run = left_run(p, t);
    if (p->left[t].acc && left_run_dim(p, t, run) > w) w = left_run_dim(p, t, run);
  }
  return w;
}

static float *f32_right(const struct prsvd_pass *p) { return p->f32; }
static float *f32_prod(const struct prsvd_pass *p, int64_t n) { return p->f32 + n * p->n_right; }
static float *f32_rows(const struct prsvd_pass *p, int64_t n) {
  return f32_prod(p, n) + p->panel_rows * p->n_right;
}
static float *f32_out(const struct prsvd_pass *p, int64_t n) {
  return f32_rows(p, n) + p->panel_rows * f32_width(p);
}

/* The scaled copies of the small operands (sketch.h, the range of A): single, the float32
 * copies (R made at the first panel); otherwise, when the pass scales A, 2^scale_exp R and
 * room for 2^scale_exp K_i or G_i. */
static int copies_begin(struct prsvd_pass *p, int64_t n) {
  const int64_t w = f32_width(p);
  p->right_c_exp = 0;
  p->f32_right_exp = INT_MIN;
  if (p->single) {
    p->f32 = malloc(sizeof(float) * (size_t)((n + p->panel_rows) * (p->n_right + w)));
    if (!p->f32) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the float32 copies of the sketches");
    if (p->right && p->n_right) p->right_max = max_abs_cols(p->right, n, n, p->n_right);
    return PRSVD_OK;
  }
  if (!p->scale_exp && !p->scale_running) return PRSVD_OK;
  if (p->right && p->n_right && !(p->right_c = malloc(sizeof(double) * (size_t)(n * p->n_right))))
    PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the scaled test matrix");
  if (w && !(p->small_c = malloc(sizeof(double) * (size_t)(p->panel_rows * w))))
    PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the scaled sketch rows");
  return PRSVD_OK;
}

/* Before a panel's products: R's copy for the exponent in force (float64: 2^scale_exp R;
 * float32: 2^f R for the panels' amax, one f for all columns, as the columns of a test matrix
 * (Omega, orth(H), probes) lie within a few powers of two of each other), made again only
 * when that moved. */
static void copies_ready(struct prsvd_pass *p, int64_t n) {
  if (!p->right || !p->n_right || p->csr) return; /* a CSR panel scales its values instead */
  if (p->single) {
    const int f = f32_exponent(held_amax(p), p->right_max);
    if (f != p->f32_right_exp) narrow(p->right, n, n, p->n_right, ldexp(1.0, f), f32_right(p));
    p->f32_right_exp = f;
  } else if (p->scale_exp && p->scale_exp != p->right_c_exp) {
    scaled_copy(p->right, n, n, p->n_right, ldexp(1.0, p->scale_exp), p->right_c);
    p->right_c_exp = p->scale_exp;
  }
}

/* The power of two on column j of a float32 copy of x (ld ldx, nr rows): one a column, as the
 * columns of a co-range source [G | Q_pending] (qb_ei.c) lie ~max|a| sqrt(n) apart, more than
 * float32 holds beside 2^-24 of the larger. */
static int f32_column_exp(const struct prsvd_pass *p, const double *x, int ldx, int nr, int j) {
  return f32_exponent(held_amax(p), prsvd_max_abs(x + (size_t)j * ldx, 0, nr));
}

/* out (n x c) += (2^scale_exp A_b)^T x, A_b the nr rows of the panel from the lane's row0 on,
 * x (nr x c, ld ldx), by scaling a copy of x (in the lane's scratch): a float32 copy by the
 * powers of two that keep its products inside float32, undone as they widen */
static double panel_t_times(const struct prsvd_pass *p, const struct prsvd_lane *ln, int nr, int n,
                            const double *x, int ldx, int c, double *out) {
  const size_t at = (size_t)ln->row0 * (size_t)n;
  if (p->single) {
    const float one = 1.0f, zero = 0.0f;
    float *x32 = ln->x32, *o32 = ln->o32;
    for (int j = 0; j < c; j++)
      narrow(x + (size_t)j * ldx, ldx, nr, 1, ldexp(1.0, f32_column_exp(p, x, ldx, nr, j)), x32 + (size_t)j * nr);
    sgemm_("N", "N", &n, &c, &nr, &one, p->panel32 + at, &n, x32, &nr, &zero, o32, &n);
    for (int j = 0; j < c; j++)
      add_widened(o32 + (size_t)j * n, (size_t)n, ldexp(1.0, held_exp(p) - f32_column_exp(p, x, ldx, nr, j)),
                  out + (size_t)j * n);
  } else {
    const double one = 1.0;
    if (p->scale_exp) {
      scaled_copy(x, ldx, nr, c, ldexp(1.0, p->scale_exp), ln->small_c);
      x = ln->small_c, ldx = nr;
    }
    dgemm_("N", "N", &n, &c, &nr, &one, p->panel + at, &n, x, &ldx, &one, out, &n);
  }
  return 2.0 * (double)nr * n * c;
}

/* P (nr x c) = A_i R for a sparse sign map R: the rows of A_i go PRSVD_TILE_ROWS at a time
 * into a transposed tile, so that each of R's zeta nonzeros in row j updates a short
 * contiguous vector of the tile's products from a contiguous vector of A_i(:, j).  (Row by row,
 * every entry of A_i cost zeta scattered updates and R's positions were streamed from memory
 * once per row: three times slower than the Gaussian GEMM it should beat.)  A float32 panel
 * is widened to float64 as it goes into the tile, so both precisions share the kernel. */
/* The sparse-map kernels are plain C built for the baseline ISA; on x86-64 a copy is also
 * built for AVX2 and AVX-512 and the loader picks the one the CPU runs (GCC/clang ifunc), as
 * OpenBLAS does for the Gaussian GEMMs they compete with. */
#if defined(__x86_64__) && defined(__ELF__) && \
    ((defined(__clang__) && __clang_major__ >= 14) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 6))
#define SPARSE_KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SPARSE_KERNEL
#endif

/* o += v a for PRSVD_TILE_ROWS entries: a fixed count and no aliasing, so it vectorizes */
static inline void tile_axpy(double *restrict o, double v, const double *restrict a) {
  for (int i = 0; i < PRSVD_TILE_ROWS; i++) o[i] += v * a[i];
}

/* tile (n x TR: row j holds A_i(r0 .. r0 + rows, j), zeros past rows) from a row-major panel of
 * element type T; whole cache lines of the tile from TR streams */
#define FILL_TILE(T, panel_, r0, rows, n, tile)                                                  \
  do {                                                                                         \
    const T *row[TR];                                                                          \
    for (int i = 0; i < TR; i++) row[i] = (panel_) + (size_t)((r0) + (i < (rows) ? i : 0)) * (n); \
    if ((rows) == TR)                                                                          \
      for (int j = 0; j < (n); j++)                                                            \
        for (int i = 0; i < TR; i++) (tile)[(size_t)j * TR + i] = row[i][j];                  \
    else                                                                                       \
      for (int j = 0; j < (n); j++)                                                            \
        for (int i = 0; i < TR; i++) (tile)[(size_t)j * TR + i] = i < (rows) ? row[i][j] : 0.0; \
  } while (0)

SPARSE_KERNEL static double right_product_sparse(const struct prsvd_pass *p, const struct prsvd_lane *ln,
                                                  int nr, int n, double *out, int ldo) {
  enum { TR = PRSVD_TILE_ROWS };
  const struct prsvd_sparse_right *s = p->right_sparse;
  const int c = (int)p->n_right, z = s->zeta;
  const double scale = ldexp(1.0, held_exp(p)); /* on the signs: products of 2^scale_exp A */
  double *tile = ln->tile, *acc = ln->tile + (size_t)n * TR;
  const size_t at = (size_t)ln->row0 * (size_t)n;
  for (int r0 = 0; r0 < nr; r0 += TR) {
    const int rows = nr - r0 < TR ? nr - r0 : TR;
    if (p->single)
      FILL_TILE(float, p->panel32 + at, r0, rows, n, tile);
    else
      FILL_TILE(double, p->panel + at, r0, rows, n, tile);
    memset(acc, 0, sizeof(double) * (size_t)c * TR);
    for (int j = 0; j < n; j++) {
      const double *restrict a = tile + (size_t)j * TR;
      const int *pos = s->pos + (size_t)j * z;
      const double *sg = s->sign + (size_t)j * z;
      for (int t = 0; t < z; t++) tile_axpy(acc + (size_t)pos[t] * TR, sg[t] * scale, a);
    }
    for (int q = 0; q < c; q++)
      for (int i = 0; i < rows; i++) out[(size_t)q * ldo + r0 + i] = acc[(size_t)q * TR + i];
  }
  return 2.0 * nr * (double)n * z;
}

/* y += a x for a float32 x: the daxpy of a float32 panel's row, widened as it goes */
SPARSE_KERNEL static void axpy_widened(int len, double a, const float *restrict x, double *restrict y) {
  for (int j = 0; j < len; j++) y[j] += a * (double)x[j];
}

/* The lane's acc (n x d) += A_b^T G_b and core (d x cc) += G_b^T P_b(:, c0 : c0+cc) for a
 * sparse sign G and the lane's nr rows A_b of the panel (global rows from row0; P_b its rows of
 * P_i, ld ldp): the positions and signs of those rows first, then A_b by blocks of columns, so
 * that the part of acc that the zeta rows of each G_b row touch (d x block, 256 KiB) stays in
 * cache. */
static double left_update_sparse(const struct prsvd_pass *p, const struct prsvd_lane *ln, int t, int64_t row0,
                                 int nr, int n, const double *prod, int ldp) {
  const int one = 1;
  const struct prsvd_testmat *tm = &p->left[t].g;
  const int d = (int)tm->dim, cc = (int)p->left[t].core_cols, z = prsvd_sparse_zeta(d);
  const int block = d < 128 ? 32768 / d / 64 * 64 : 256;
  const double scale = ldexp(1.0, held_exp(p)); /* on the signs of acc's update, not the core's:
                                                 * P is a product of 2^scale_exp A already */
  const size_t at = (size_t)ln->row0 * (size_t)n;
  double *acc = ln->left_acc[t], *core = ln->left_core[t];
  int *pos = p->tile_pos + ln->row0 * 8;
  double *sign = p->tile_sign + ln->row0 * 8;
  for (int r = 0; r < nr; r++) prsvd_sparse_column(tm->seed, tm->stream, row0 + r, d, pos + r * 8, sign + r * 8);
  if (acc)
    for (int j0 = 0; j0 < n; j0 += block) {
      const int jn = n - j0 < block ? n - j0 : block;
      for (int r = 0; r < nr; r++)
        for (int u = 0; u < z; u++) {
          double *col = acc + (size_t)pos[r * 8 + u] * n + j0;
          const double a = sign[r * 8 + u] * scale;
          if (p->single)
            axpy_widened(jn, a, p->panel32 + at + (size_t)r * n + j0, col);
          else
            daxpy_(&jn, &a, p->panel + at + (size_t)r * n + j0, &one, col, &one);
        }
    }
  if (core)
    for (int r = 0; r < nr; r++)
      for (int u = 0; u < z; u++)
        for (int c = 0; c < cc; c++)
          core[(size_t)c * d + pos[r * 8 + u]] += sign[r * 8 + u] * prod[(size_t)(p->left[t].core_col0 + c) * ldp + r];
  return 2.0 * nr * (double)z * ((acc ? n : 0) + (core ? cc : 0));
}

/* P_b (nr x c, ld ldo) = (2^scale_exp A_b) R for the nr rows A_b of the panel from the lane's
 * row0 on; the row-major panel is the column-major n x nr A_b^T.  R's scaled copies are made
 * before the panel (copies_ready) and only read here.  A sparse map: the whole panel (lane 0). */
static double right_product(const struct prsvd_pass *p, const struct prsvd_lane *ln, int nr, int n,
                            double *out, int ldo) {
  const int c = (int)p->n_right;
  const size_t at = (size_t)ln->row0 * (size_t)n;
  if (p->right && p->single) {
    const float one = 1.0f, zero = 0.0f;
    sgemm_("T", "N", &nr, &c, &n, &one, p->panel32 + at, &n, f32_right(p), &n, &zero, ln->p32, &nr);
    for (int q = 0; q < c; q++)
      widen(ln->p32 + (size_t)q * nr, (size_t)nr, ldexp(1.0, held_exp(p) - p->f32_right_exp), out + (size_t)q * ldo);
    return 2.0 * nr * (double)n * c;
  }
  if (p->right) {
    const double one = 1.0, zero = 0.0;
    const double *r = p->scale_exp ? p->right_c : p->right;
    dgemm_("T", "N", &nr, &c, &n, &one, p->panel + at, &n, r, &n, &zero, out, &ldo);
    return 2.0 * nr * (double)n * c;
  }
  return right_product_sparse(p, ln, nr, n, out, ldo);
}

/* The lane's acc (n x d) += A_b^T G_b and core (d x cc) += G_b^T P_b(:, c0 : c0+cc) for a
 * generated G and the lane's nr rows A_b of the panel, whose first is global row r: its rows of
 * G_i are generated into its rows of g (G_i, column-major, ld ldp) and P_b is its rows of
 * prod (P_i, ld ldp).  A run of sketches (left_run) is one product, their G side by side. */
static double left_update(const struct prsvd_pass *p, const struct prsvd_lane *ln, int t, int run, int64_t r,
                          int nr, int n, const double *prod, double *g, int ldp) {
  const struct prsvd_testmat *tm = &p->left[t].g;
  const int d = (int)tm->dim, cc = (int)p->left[t].core_cols;
  const int64_t row0 = r + ln->row0;
  const double one = 1.0;
  double flops = 0.0;
  g += ln->row0, prod += ln->row0;
  if (left_dense(p, t)) {
    /* G_b: nr x d, column-major, for each sketch of the run */
    for (int u = t, c0 = 0; u < t + run; c0 += (int)p->left[u].g.dim, u++) {
      const struct prsvd_testmat *gu = &p->left[u].g;
      const int du = (int)gu->dim;
      double *gc = g + (size_t)c0 * ldp;
      if (gu->kind == PRSVD_SKETCH_GAUSSIAN) {
        prsvd_rng_fill(gu->seed, gu->stream, row0, nr, 0, du, gc, ldp);
      } else {
        int pos[8];
        double sign[8];
        for (int q = 0; q < du; q++) memset(gc + (size_t)q * ldp, 0, sizeof(double) * (size_t)nr);
        for (int i = 0; i < nr; i++) {
          prsvd_sparse_column(gu->seed, gu->stream, row0 + i, du, pos, sign);
          for (int z = 0; z < prsvd_sparse_zeta(du); z++) gc[(size_t)pos[z] * ldp + i] = sign[z];
        }
      }
    }
    if (ln->left_acc[t])
      flops += panel_t_times(p, ln, nr, n, g, ldp, (int)left_run_dim(p, t, run), ln->left_acc[t]);
    if (ln->left_core[t]) {
      const double *pc = prod + (size_t)p->left[t].core_col0 * ldp;
      dgemm_("T", "N", &d, &cc, &nr, &one, g, &ldp, pc, &ldp, &one, ln->left_core[t], &d);
      flops += 2.0 * d * (double)nr * cc;
    }
    return flops;
  }
  return left_update_sparse(p, ln, t, row0, nr, n, prod, ldp);
}

/* ||2^scale_exp A_b||_F^2 in extended precision (--tol subtracts it from the sketch's energy;
 * four chains in registers, as one x87 chain waits on every add), column sums and sums of
 * squares of 2^scale_exp A_b, and the sampled entries (as they are) whose rows pass by, for the
 * lane's nr rows A_b of the panel (whose first row is global row r), into the lane's sums
 * (lane 0: the pass's). */
static void panel_statistics(struct prsvd_pass *p, struct prsvd_lane *ln, int64_t r, int64_t nr, int64_t n) {
  const double c = ldexp(1.0, held_exp(p)), as_is = ldexp(1.0, -p->panel_exp);
  const long double cl = c;
  double *fro2 = ln == p->lanes ? p->fro2 : &ln->fro2;
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
      *fro2 += (double)PRSVD_SQUARES_SCALED((s0 + s1) + (s2 + s3), held_exp(p));
    }
    if (p->col_sum)
      for (int64_t i = 0; i < nr; i++)
        for (int64_t j = 0; j < n; j++) {
          const double v = A[i * n + j] * c;
          ln->col_sum[j] += v, ln->col_sumsq[j] += v * v;
        }
    for (int64_t t = 0; t < p->n_samples; t++)
      if (p->sample_row[t] >= r && p->sample_row[t] < r + nr)
        p->sample_val[t] = A[(p->sample_row[t] - r) * n + p->sample_col[t]] * as_is;
  });
}

void prsvd_pass_center_rows(const struct prsvd_pass *p, int64_t i0, int64_t i1, int64_t local0, double *prod,
                            int64_t ld) {
  const double c = ldexp(1.0, held_exp(p));
  const int64_t n = prsvd_source_cols(p->a), w = p->n_right;
  for (int64_t i = i0; i < i1; i++) {
    double sum = 0.0, sumsq = 0.0;
    if (p->csr) {
      for (int64_t t = p->csr->indptr[i]; t < p->csr->indptr[i + 1]; t++) {
        const double v = p->csr->data[t] * c;
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

/* The rows of the lane's P_b (in prod, ld ld) stored into the kept matrices: those of the
 * panel's rows [r + b0, r + b0 + nr) that this rank's blocks hold. */
static void keep_rows(struct prsvd_pass *p, int64_t r, int64_t b0, int64_t nr, const double *prod, int64_t ld) {
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

/* The end of a panel's job, once every lane has multiplied (prsvd_pool_barrier): thread t adds
 * rows [n t/T, n (t+1)/T) of the other lanes' sums into the pass's (and a T-th of their
 * cores), in lane order, and zeroes them (a dense lane 0 added into the pass's sums itself; CSR lanes keep a row-major sum
 * each), and thread 0 the Frobenius sums.  Every panel ends so, whether or not a hook saves at
 * its boundary or the scale moves: the pass's sums between panels, and so a checkpoint and a
 * run it resumes, are the same as an uninterrupted run's, bit for bit. */
static void fold_slice(struct prsvd_pass *p, int t) {
  const int lanes = p->n_lanes;
  const int64_t n = prsvd_source_cols(p->a), j0 = n * t / lanes, j1 = n * (t + 1) / lanes;
  const int64_t kc = p->corange ? prsvd_dmat_cols(p->corange_src) : 0;
  for (int u = 0; u < lanes; u++) {
    const struct prsvd_lane *ln = &p->lanes[u];
    if (ln->corange_t) {
      for (int64_t q = 0; q < kc; q++)
        for (int64_t j = j0; j < j1; j++) p->corange[q * n + j] += ln->corange_t[j * kc + q];
      for (int64_t j = j0; j < j1; j++) memset(ln->corange_t + j * kc, 0, sizeof(double) * (size_t)kc);
    } else if (u > 0 && ln->corange) {
      for (int64_t q = 0; q < kc; q++)
        for (int64_t j = j0; j < j1; j++) p->corange[q * n + j] += ln->corange[q * n + j], ln->corange[q * n + j] = 0.0;
    }
    if (u > 0 && ln->col_sum)
      for (int64_t j = j0; j < j1; j++) {
        p->col_sum[j] += ln->col_sum[j], p->col_sumsq[j] += ln->col_sumsq[j];
        ln->col_sum[j] = ln->col_sumsq[j] = 0.0;
      }
    for (int l = 0; u > 0 && l < p->n_left; l++) {
      const int64_t d = p->left[l].g.dim, e = d * p->left[l].core_cols;
      double *acc = ln->left_acc[l], *core = ln->left_core[l];
      for (int64_t q = 0; acc && q < d; q++)
        for (int64_t j = j0; j < j1; j++) p->left[l].acc[q * n + j] += acc[q * n + j], acc[q * n + j] = 0.0;
      for (int64_t x = e * t / lanes; core && x < e * (t + 1) / lanes; x++)
        p->left[l].core[x] += core[x], core[x] = 0.0;
    }
  }
  if (t == 0 && p->fro2)
    for (int u = 1; u < lanes; u++) *p->fro2 += p->lanes[u].fro2, p->lanes[u].fro2 = 0.0;
}

/* One dense panel split among the pool's threads: lane t multiplies its rows alone. */
struct panel_job {
  struct prsvd_pass *p;
  int64_t r, off, n;
  int nr;
};

static void lane_rows(int64_t nr, int lanes, int t, int64_t *row0, int64_t *rows) {
  *row0 = nr * t / lanes;
  *rows = nr * (t + 1) / lanes - *row0;
}

/* Lane t's part of one_panel: statistics, P_b = A_b R into its rows of P_i (kept),
 * H_t += A_b^T K_b from its rows of the co-range source (with a right product those are rows
 * it just kept: no lane waits for another), and the left sketches from its rows of G_i and
 * P_i. */
static void lane_panel(void *arg, int t) {
  const struct panel_job *job = arg;
  struct prsvd_pass *p = job->p;
  struct prsvd_lane *ln = &p->lanes[t];
  const int n = (int)job->n;
  lane_rows(job->nr, p->n_lanes, t, &ln->row0, &ln->rows);
  const int nr = (int)ln->rows;
  ln->flops = 0.0;
  if (nr) {
    panel_statistics(p, ln, job->r, nr, n);
    if (p->n_right) {
      ln->flops += right_product(p, ln, nr, n, p->work + ln->row0, job->nr);
      if (p->center_rows) prsvd_pass_center_rows(p, ln->row0, ln->row0 + nr, job->off, p->work, job->nr);
      keep_rows(p, job->r, ln->row0, nr, p->work, job->nr);
    }
    if (p->corange) {
      int64_t kld;
      const int kc = (int)prsvd_dmat_cols(p->corange_src);
      const double *k = prsvd_dmat_local(p->corange_src, NULL, NULL, &kld);
      ln->flops += panel_t_times(p, ln, nr, n, k + job->off + ln->row0, (int)kld, kc, ln->corange);
    }
    /* L_t += A_b^T G_b, Z_t += G_b^T P_b: its rows of G_i, generated here */
    for (int u = 0, run; u < p->n_left; u += run)
      ln->flops += left_update(p, ln, u, run = left_run(p, u), job->r, nr, n, p->work,
                               p->work + p->panel_rows * p->n_right, job->nr);
  }
  prsvd_pool_barrier(p->pool);
  fold_slice(p, t);
}

/* A CSR panel split among the pool's threads: lane t takes the rows from the one where the
 * t-th of T equal shares of the panel's stored entries begins. */
static int64_t csr_share_row(const struct prsvd_csr *a, int lanes, int t) {
  const int64_t want = a->nnz * t / lanes;
  int64_t lo = 0, hi = a->rows;
  while (lo < hi) { /* the first row whose entries start at or past `want` */
    const int64_t mid = lo + (hi - lo) / 2;
    if (a->indptr[mid] < want) lo = mid + 1;
    else hi = mid;
  }
  return t == lanes ? a->rows : lo;
}

static void lane_panel_csr(void *arg, int t) {
  const struct panel_job *job = arg;
  struct prsvd_pass *p = job->p;
  struct prsvd_lane *ln = &p->lanes[t];
  ln->row0 = csr_share_row(p->csr, p->n_lanes, t);
  ln->rows = csr_share_row(p->csr, p->n_lanes, t + 1) - ln->row0;
  ln->flops = 0.0;
  if (ln->rows > 0) prsvd_sketch_sparse_lane(p, ln, job->r, job->off, job->n, p->right_t);
  prsvd_pool_barrier(p->pool);
  fold_slice(p, t);
}

/* Rows of a residual tile: at most 64, and at most 8 MiB of n-long rows. */
static int64_t resid_tile_rows(int64_t n) {
  const int64_t rows = ((int64_t)1 << 20) / (n > 0 ? n : 1);
  return rows < 1 ? 1 : rows > 64 ? 64 : rows;
}

/* resid += ||2^e A_i - K_i M^T||_F^2 (e = scale_exp) over the panel's nr rows (offset off into resid_src), a tile
 * of tr rows at a time: the tile E (n x tr, column-major: row i of A_i is column i) from the
 * dense panel or the CSR rows, K (tr x k) from resid_src or E's columns resid_cols, then
 * E -= M K^T and its squares summed. */
static double residual_update(struct prsvd_pass *p, int64_t off, int nr, int n) {
  const int64_t tr = resid_tile_rows(n), k = p->resid_k;
  const int ik = (int)k, itr = (int)tr;
  double *e = p->resid_tile, *kt = p->resid_tile + tr * n;
  const double one = 1.0, minus_one = -1.0;
  const double f = ldexp(1.0, held_exp(p)); /* the residual of 2^scale_exp A; |scale_exp| <= 960 */
  long double sum = 0.0L;
  int64_t kld = 0;
  const double *src = p->resid_src ? prsvd_dmat_local(p->resid_src, NULL, NULL, &kld) : NULL;
  for (int64_t i0 = 0; i0 < nr; i0 += tr) {
    const int rows = (int)(nr - i0 < tr ? nr - i0 : tr);
    if (p->csr) {
      const struct prsvd_csr *a = p->csr;
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

/* The panel at the cursor, already in p->panel (p->panel32, p->csr): check it and update
 * every sketch; advances the cursor. */
static int one_panel(struct prsvd_pass *p, struct prsvd_cursor *cur, int64_t row0,
                     int64_t local_rows, int64_t n, int in, int64_t nr64) {
  double *prod = p->work;
  double *g = p->work + p->panel_rows * p->n_right;
  const int64_t r = cur->next_row;
  int64_t off = r - row0;
  const int nr = (int)nr64;
  double flops = 0.0;

  if (scans(p)) { /* NaN/Inf and max |a_ij|; a running pass's exponent follows amax */
    const int bad = scan_panel(p, r, nr64);
    if (bad) return p->csr ? bad : row_join(p, r, nr, bad);
    if (p->panel_amax > p->amax) p->amax = p->panel_amax;
    if (p->scale_running) follow_range(p);
  }
  copies_ready(p, n);
  if (p->csr && p->n_lanes > 1) { /* a sparse panel's stored entries split among the threads */
    struct panel_job job = {p, r, off, n, nr};
    prsvd_profile_begin(PRSVD_EV_SKETCH);
    prsvd_pool_run(p->pool, lane_panel_csr, &job);
    for (int t = 0; t < p->n_lanes; t++) flops += p->lanes[t].flops;
    prsvd_profile_end(PRSVD_EV_SKETCH, 0.0, flops);
    goto advance;
  }
  if (p->csr) { /* a sparse panel: the O(nnz) updates of sketch_sparse.c */
    prsvd_profile_begin(PRSVD_EV_SKETCH);
    PRSVD_CHECK(prsvd_sketch_sparse_panel(p, r, off, n, p->right_t, &flops));
    if (p->resid) flops += residual_update(p, off, nr, in);
    prsvd_profile_end(PRSVD_EV_SKETCH, 0.0, flops);
    goto advance;
  }

  prsvd_profile_begin(PRSVD_EV_SKETCH);
  if (p->n_lanes > 1) { /* the panel's rows split among the threads */
    struct panel_job job = {p, r, off, n, nr};
    prsvd_pool_run(p->pool, lane_panel, &job);
    for (int t = 0; t < p->n_lanes; t++) flops += p->lanes[t].flops;
    prsvd_profile_end(PRSVD_EV_SKETCH, 0.0, flops);
    goto advance;
  }
  struct prsvd_lane *whole = &p->lanes[0]; /* one thread: the whole panel */
  whole->row0 = 0, whole->rows = nr64;
  panel_statistics(p, whole, r, nr64, n);
  /* P_i = A_i R (on a 2-D grid summed over the process row), kept rows stored */
  if (p->n_right) {
    flops += right_product(p, whole, nr, in, prod, nr);
    if (p->center_rows) prsvd_pass_center_rows(p, 0, nr64, off, prod, nr64);
    if (p->grid2d) {
      memcpy(p->row_sum, prod, sizeof(double) * (size_t)(nr64 * p->n_right));
      PRSVD_CHECK(row_sum(p, r, nr64, 0));
      prod = p->row_sum;
    }
    keep_rows(p, r, 0, nr64, prod, nr64); /* the rows of the panel in this rank's block */
  } else if (p->grid2d && p->corange) {
    PRSVD_CHECK(row_gather(p, r, nr64));
  }
  /* H += A_i^T K_i */
  if (p->corange) {
    int64_t kld;
    int kc = (int)prsvd_dmat_cols(p->corange_src), ild;
    const double *k = prsvd_dmat_local(p->corange_src, NULL, NULL, &kld);
    if (p->grid2d) /* the whole rows: P_i's (keep[0] is the co-range source) or gathered */
      k = p->n_right ? prod + p->keep[0].col0 * nr : p->row_sum, kld = nr, off = 0;
    PRSVD_CHECK(prsvd_to_int(kld, "sketch leading dimension", &ild));
    flops += panel_t_times(p, whole, nr, in, k + off, ild, kc, p->corange);
  }
  /* L += A_i^T G_i, Z += G_i^T P_i */
  for (int t = 0, run; t < p->n_left; t += run)
    flops += left_update(p, whole, t, run = left_run(p, t), r, nr, in, prod, g, nr);
  /* resid += ||A_i - K_i M^T||_F^2 */
  if (p->resid) flops += residual_update(p, off, nr, in);
  if (p->apply) flops += p->apply(p->apply_arg, r, nr64, p->panel);
  prsvd_profile_end(PRSVD_EV_SKETCH, 0.0, flops);

advance:
  cur->next_row = r + nr;
  if (p->params && p->params->progress)
    p->params->progress(p->params->progress_arg, cur->pass, cur->n_passes, cur->next_row - row0,
                        local_rows);
  return PRSVD_OK;
}

/* Rows of the panel starting at `row`: panel_rows, ended early on the grid when that leaves
 * a panel (the first panel of a rank whose block starts inside a chunk row). */
static int64_t panel_at(const struct prsvd_pass *p, int64_t row, int64_t end) {
  int64_t e = row + p->panel_rows;
  if (e >= end) return end - row;
  if (p->grid > 1 && e % p->grid && e - e % p->grid > row) e -= e % p->grid;
  return e - row;
}

static long panels_left(const struct prsvd_pass *p, int64_t row, int64_t end) {
  long count = 0;
  for (; row < end; row += panel_at(p, row, end)) count++;
  return count;
}

/* The grid panels end on: the chunk rows when panels hold whole chunk rows, the panel size
 * when a chunk row holds whole panels, otherwise none (and none for CSR panels). */
static int64_t panel_grid(const struct prsvd_pass *p) {
  struct prsvd_source_layout lay;
  prsvd_source_get_layout(p->a, &lay);
  const int64_t c = lay.chunk_rows, pr = p->panel_rows;
  if (c <= 1 || prsvd_source_nnz(p->a) >= 0) return 1;
  if (pr % c == 0) return c;
  if (c % pr == 0) return pr;
  return 1;
}

static void set_panel(struct prsvd_pass *p, void *buf) {
  p->panel = p->single ? NULL : buf;
  p->panel32 = p->single ? buf : NULL;
}

/* Reads for one pass: straight from the source, or from the reader thread one read ahead,
 * into the pass's two dense panels (float64 or float32), two slots of rows the source lends
 * in place (lend: no panel buffers), or two CSR panels for a sparse source.  ready() returns the status of the read of the panel at the cursor into p->panel,
 * p->panel32 or p->csr.  For a source with collective reads every rank makes exactly
 * `reads_left` reads, the last ones zero-row reads at the end of its block. */
struct reads {
  struct prsvd_prefetch pf;
  int sparse, lend, cb, have, saved, on, collective;
  double saved_amax; /* the waited-for panel's max |a_ij|, when the reader scanned it */
  int saved_exp;     /* ... and the power of two its float32 rows are held times */
  struct prsvd_rows_lent lent[2];
  long reads_left;
};

static void free_dense_buffers(struct prsvd_pass *p) {
  for (int b = 0; b < 2; b++) {
    free(p->bufs[b]);
    p->bufs[b] = NULL;
  }
  p->buf_bytes = 0;
  p->panel = NULL;
  p->panel32 = NULL;
}

/* The dense panel buffers (kept across passes): one, or two with the reader thread. */
static int panel_buffers(struct prsvd_pass *p, int n_bufs) {
  const int64_t bytes = p->panel_rows * row_bytes(p);
  if (p->buf_bytes != bytes) free_dense_buffers(p);
  for (int b = 0; b < n_bufs; b++) {
    if (!p->bufs[b] && !(p->bufs[b] = malloc((size_t)bytes)))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a panel buffer of %lld bytes", (long long)bytes);
    p->buf_bytes = bytes;
  }
  set_panel(p, p->bufs[0]);
  return PRSVD_OK;
}

/* The panel of buffer `slot` in hand. */
static void use_slot(const struct reads *rd, struct prsvd_pass *p, int slot) {
  if (rd->sparse)
    p->csr = &p->csrs[slot];
  else if (rd->lend)
    set_panel(p, (void *)rd->lent[slot].data); /* read-only: nothing writes into a panel */
  else
    set_panel(p, p->bufs[slot]);
}

/* The reader thread, unless the source's reads call MPI and MPI allows only the main thread;
 * on a 2-D grid the main thread's per-panel sums would meet the reader's MPI-IO calls, which
 * needs MPI_THREAD_MULTIPLE. */
static int may_prefetch(const struct prsvd_pass *p) {
  struct prsvd_source_layout lay;
  int level = MPI_THREAD_SINGLE;
  if (!p->params || !p->params->prefetch) return 0;
  prsvd_source_get_layout(p->a, &lay);
  if (lay.mpi_reads) MPI_Query_thread(&level);
  return !lay.mpi_reads || level >= (p->grid2d ? MPI_THREAD_MULTIPLE : MPI_THREAD_SERIALIZED);
}

/* Post the read after the one ending at `next`, into buffer rd->cb: the panel there, or a
 * zero-row read owed to a collective source. */
static void post_after(struct reads *rd, struct prsvd_pass *p, int64_t next, int64_t end) {
  void *buf = rd->sparse || rd->lend ? NULL : p->bufs[rd->cb];
  struct prsvd_csr *csr = rd->sparse ? &p->csrs[rd->cb] : NULL;
  struct prsvd_rows_lent *lent = rd->lend ? &rd->lent[rd->cb] : NULL;
  if (rd->reads_left <= 0) return;
  if (next < end) rd->reads_left--, prsvd_prefetch_post(&rd->pf, buf, csr, lent, next, panel_at(p, next, end));
  else if (rd->collective) rd->reads_left--, prsvd_prefetch_post(&rd->pf, buf, csr, lent, end, 0);
}

static int reads_begin(struct reads *rd, struct prsvd_pass *p, int64_t row, int64_t end,
                       int collective, long reads) {
  memset(rd, 0, sizeof *rd);
  rd->collective = collective;
  rd->reads_left = reads;
  rd->sparse = prsvd_source_nnz(p->a) >= 0;
  rd->lend = !rd->sparse && prsvd_source_lends(p->a, p->single);
  const int prefetch = may_prefetch(p) && (row < end || collective);
  p->checked_ahead = prefetch && !rd->sparse && scans(p);
  if (rd->sparse)
    p->csr = &p->csrs[0];
  else if (rd->lend)
    free_dense_buffers(p);
  else
    PRSVD_CHECK(panel_buffers(p, prefetch ? 2 : 1));
  if (!prefetch) return PRSVD_OK;
  const struct prsvd_panel_check check = {first_bad_row, p->check_finite ? report_nonfinite : NULL, p,
                                          row_bytes(p)};
  PRSVD_CHECK(prsvd_prefetch_start(&rd->pf, p->a, p->single, p->checked_ahead ? &check : NULL));
  rd->on = 1;
  post_after(rd, p, row, end);
  return PRSVD_OK;
}

/* Let the reader finish (so nothing else touches the source library meanwhile). */
static void reads_settle(struct reads *rd) {
  if (rd->on && !rd->have) rd->saved = prsvd_prefetch_wait(&rd->pf, &rd->saved_amax, &rd->saved_exp), rd->have = 1;
}

/* Rows [row, row + nr) into the panel (nr = 0: a collective source's zero-row read). */
static int reads_ready(struct reads *rd, struct prsvd_pass *p, int64_t row, int64_t nr,
                       int64_t end) {
  int status;
  prsvd_profile_begin(PRSVD_EV_READ); /* with the reader: only the time not hidden */
  p->panel_exp = 0;
  if (!rd->on) {
    rd->reads_left--;
    if (rd->lend) {
      prsvd_source_return(p->a, &rd->lent[0]);
      status = prsvd_source_lend(p->a, row, nr, &rd->lent[0]);
      use_slot(rd, p, 0);
    } else {
      status = rd->sparse ? prsvd_source_read_csr(p->a, row, nr, p->csr)
               : p->single ? prsvd_source_read_f32(p->a, row, nr, p->panel32, &p->panel_exp)
                           : prsvd_source_read(p->a, row, nr, p->panel);
    }
  } else {
    reads_settle(rd);
    status = rd->saved;
    p->panel_exp = rd->saved_exp;
    p->panel_amax = ldexp(rd->saved_amax, -p->panel_exp); /* of A */
    rd->have = 0;
    use_slot(rd, p, rd->cb);
    rd->cb = 1 - rd->cb;
    /* after a failed read only the zero-row reads owed to a collective source: another read
     * would be wasted, and its error could replace this one's */
    if (!status || rd->collective) post_after(rd, p, status ? end : row + nr, end);
  }
  if (!status && rd->sparse && (p->csr->rows != nr || p->csr->indptr[0] != 0))
    status = prsvd_error_set(PRSVD_ERR_INTERNAL, __FILE__, __LINE__, __func__,
                             "'%s': a CSR panel of %lld rows for %lld asked", prsvd_source_name(p->a),
                             (long long)p->csr->rows, (long long)nr);
  const double bytes = rd->sparse ? (status ? 0.0 : 16.0 * (double)p->csr->nnz + 8.0 * (double)(nr + 1))
                                  : (double)(nr * row_bytes(p));
  prsvd_profile_end(PRSVD_EV_READ, bytes, 0.0);
  return status;
}

static void reads_end(struct reads *rd, struct prsvd_pass *p) {
  if (rd->on) prsvd_prefetch_stop(&rd->pf);
  rd->on = 0;
  if (!rd->lend) return;
  for (int b = 0; b < 2; b++) prsvd_source_return(p->a, &rd->lent[b]);
  set_panel(p, NULL);
}

/* One step of the pass: the panel at the cursor, read and applied. */
static int step(struct reads *rd, struct prsvd_pass *p, struct prsvd_cursor *cur, int64_t row0,
                int64_t local_rows, int64_t n, int in) {
  const int64_t end = row0 + local_rows, nr = panel_at(p, cur->next_row, end);
  const int status = reads_ready(rd, p, cur->next_row, nr, end);
  if (status) return row_join(p, cur->next_row, nr, status);
  return one_panel(p, cur, row0, local_rows, n, in, nr);
}

/* The steps of a pass in lockstep: every rank takes the most steps any rank has left, so a
 * hook can run collectives at each panel boundary and collective reads stay matched (a rank
 * done, or failed, joins them with zero-row reads). */
static int lockstep(struct prsvd_pass *p, struct prsvd_cursor *cur, int64_t row0,
                    int64_t local_rows, int64_t n, int in, int collective, MPI_Comm comm) {
  const int64_t end = row0 + local_rows;
  long steps = panels_left(p, cur->next_row, end), most;
  int status = PRSVD_OK;
  struct reads rd;
  memset(&rd, 0, sizeof rd);
  if (MPI_Allreduce(&steps, &most, 1, MPI_LONG, MPI_MAX, comm) != MPI_SUCCESS)
    return prsvd_error_set(PRSVD_ERR_MPI, __FILE__, __LINE__, __func__, "MPI_Allreduce of the pass length failed");
  status = reads_begin(&rd, p, cur->next_row, end, collective, collective ? most : LONG_MAX);
  for (long i = 0; i < most; i++) {
    if (!status && cur->next_row < end) {
      status = step(&rd, p, cur, row0, local_rows, n, in);
    } else if (collective) {
      const int joined = reads_ready(&rd, p, end, 0, end);
      if (!status) status = joined;
    }
    if (!p->hook) continue;
    reads_settle(&rd); /* the hook may save: the source must be idle */
    int decided = p->hook(p->hook_arg, status, cur);
    if (decided) { /* agreed on every rank: an error, or checkpointed */
      status = decided;
      break;
    }
  }
  reads_end(&rd, p);
  return status;
}

/* 1 if the pass splits its panels (dense or CSR) among the pool's threads: products, co-range
 * and left sums that each row block adds alone (no 2-D grid's per-panel sums, no residual; CSR
 * panels neither left sketches nor a sparse map), on more than one thread.  A running scale
 * moves between panels, on the main thread, with the lanes idle and folded first
 * (prsvd_pass_rescale). */
static int threaded(const struct prsvd_pass *p) {
  const int csr = prsvd_source_nnz(p->a) >= 0;
  return prsvd_pool_threads(p->pool) > 1 && !p->grid2d && !p->resid && !p->apply &&
         (!csr || (!p->n_left && !p->right_sparse)) && (p->n_right || p->corange || p->n_left);
}

int64_t prsvd_pass_thread_bytes(int threads, int64_t panel_rows, int64_t n,
                                const struct prsvd_pass_shape *shape, int single) {
  if (threads < 2 || !shape->threaded) return 0;
  const int64_t rows = (panel_rows + threads - 1) / threads, kc = shape->corange_cols;
  const int64_t w = kc > shape->left_width ? kc : shape->left_width;
  const int64_t out = n * w > rows * shape->n_right ? n * w : rows * shape->n_right;
  /* dense: threads - 1 sums of their own; CSR: every thread's row-major sum (and a row of K) */
  int64_t bytes = shape->sparse ? threads * 8 * (n + 1) * kc : (threads - 1) * 8 * n * kc;
  bytes += (threads - 1) * 8 * (shape->col_sums ? 2 * n : 0);
  bytes += (threads - 1) * 8 * (n * shape->left_cols + shape->core_elems);
  if (shape->sparse_map) bytes += (threads - 1) * 8 * (n + shape->n_right) * PRSVD_TILE_ROWS;
  if (single) bytes += threads * 4 * (rows * w + out);
  return bytes;
}

/* The lanes of the pass (struct prsvd_lane): one over the whole panel with the pass's own sums
 * and scratch, or one per thread, each but lane 0 with sums of its own (zero, added to the
 * pass's at the end of each panel, fold_slice) and each with scratch for its rows. */
static int lanes_begin(struct prsvd_pass *p, int64_t n) {
  const int lanes = threaded(p) ? prsvd_pool_threads(p->pool) : 1;
  const int64_t kc = p->corange ? prsvd_dmat_cols(p->corange_src) : 0, w = f32_width(p);
  const int64_t rows = (p->panel_rows + lanes - 1) / lanes;
  const int64_t out = n * w > rows * p->n_right ? n * w : rows * p->n_right;
  if (!(p->lanes = calloc((size_t)lanes, sizeof *p->lanes)))
    PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the pass's threads");
  p->n_lanes = lanes;
  p->lanes[0].corange = p->corange;
  p->lanes[0].col_sum = p->col_sum, p->lanes[0].col_sumsq = p->col_sumsq;
  p->lanes[0].tile = p->tile;
  for (int l = 0; l < p->n_left; l++) p->lanes[0].left_acc[l] = p->left[l].acc, p->lanes[0].left_core[l] = p->left[l].core;
  if (lanes > 1 && prsvd_source_nnz(p->a) >= 0) { /* CSR: a row-major co-range sum each */
    for (int t = 0; t < lanes; t++) {
      struct prsvd_lane *ln = &p->lanes[t];
      if (kc && !(ln->corange_t = calloc((size_t)((n + 1) * kc), sizeof(double))))
        PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's co-range sum (%lld x %lld)", t,
                  (long long)n, (long long)kc);
      if (t > 0 && p->col_sum && (!(ln->col_sum = calloc((size_t)n, sizeof(double))) ||
                                  !(ln->col_sumsq = calloc((size_t)n, sizeof(double)))))
        PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's column sums", t);
    }
    return PRSVD_OK;
  }
  if (lanes == 1) {
    struct prsvd_lane *ln = &p->lanes[0];
    if (p->f32) ln->x32 = f32_rows(p, n), ln->o32 = f32_out(p, n), ln->p32 = f32_prod(p, n);
    ln->small_c = p->small_c;
    return PRSVD_OK;
  }
  if (p->corange) {
    int64_t kld;
    int ild;
    prsvd_dmat_local(p->corange_src, NULL, NULL, &kld);
    PRSVD_CHECK(prsvd_to_int(kld, "sketch leading dimension", &ild));
  }
  for (int t = 0; t < lanes; t++) {
    struct prsvd_lane *ln = &p->lanes[t];
    if (t > 0 && kc && !(ln->corange = calloc((size_t)(n * kc), sizeof(double))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's co-range sum (%lld x %lld)", t,
                (long long)n, (long long)kc);
    if (t > 0 && p->col_sum && (!(ln->col_sum = calloc((size_t)n, sizeof(double))) ||
                                !(ln->col_sumsq = calloc((size_t)n, sizeof(double)))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's column sums", t);
    if (p->single && (!(ln->x32 = malloc(sizeof(float) * (size_t)(rows * w + 1))) ||
                      !(ln->o32 = malloc(sizeof(float) * (size_t)(out + 1)))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's float32 scratch", t);
    if (!p->single && (p->scale_exp || p->scale_running) && w &&
        !(ln->small_c = malloc(sizeof(double) * (size_t)(rows * w))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's scaled sketch rows", t);
    ln->p32 = ln->o32;
    if (t > 0 && p->tile && !(ln->tile = malloc(sizeof(double) * (size_t)((n + p->n_right) * PRSVD_TILE_ROWS))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's sparse sketch tile", t);
    /* the left sums and cores in one block, each sum after the one before it (so that a run
     * of sums side by side in the pass's is so in the lane's) */
    int64_t total = 0;
    for (int l = 0; l < p->n_left; l++)
      total += (p->left[l].acc ? n * p->left[l].g.dim : 0) + (p->left[l].core ? p->left[l].g.dim * p->left[l].core_cols : 0);
    if (t > 0 && total && !(ln->left_block = calloc((size_t)total, sizeof(double))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's left sketch sums (%lld doubles)", t,
                (long long)total);
    int64_t at = 0;
    for (int l = 0; t > 0 && l < p->n_left; l++) {
      if (p->left[l].acc) ln->left_acc[l] = ln->left_block + at, at += n * p->left[l].g.dim;
      if (p->left[l].core) ln->left_core[l] = ln->left_block + at, at += p->left[l].g.dim * p->left[l].core_cols;
    }
  }
  return PRSVD_OK;
}

static void lanes_end(struct prsvd_pass *p) {
  for (int t = 0; p->lanes && t < p->n_lanes; t++) {
    struct prsvd_lane *ln = &p->lanes[t];
    if (t > 0) free(ln->corange), free(ln->col_sum), free(ln->col_sumsq), free(ln->tile);
    if (t > 0) free(ln->left_block);
    free(ln->corange_t);
    if (p->n_lanes > 1) free(ln->x32), free(ln->o32), free(ln->small_c);
  }
  free(p->lanes);
  p->lanes = NULL;
  p->n_lanes = 0;
}

/* The scratch a pass makes for itself: for sparse panels R row-major and a row-major co-range
 * product; for the sparse-map kernels on dense panels a transposed tile and the positions and
 * signs of a panel's rows; for a single-precision pass the float32 copies. */
static int scratch_begin(struct prsvd_pass *p, int64_t n) {
  if (p->resid) {
    const int64_t tr = resid_tile_rows(n);
    p->resid_tile = malloc(sizeof(double) * (size_t)(tr * (n + p->resid_k)));
    if (!p->resid_tile) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a tile of the residual");
  }
  if (row_sum_width(p)) {
    p->row_sum = malloc(sizeof(double) * (size_t)(p->panel_rows * row_sum_width(p) + 1));
    if (!p->row_sum) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a panel's sum over the process row");
  }
  if (prsvd_source_nnz(p->a) >= 0) {
    if (p->n_right && p->right) {
      p->right_t = malloc(sizeof(double) * (size_t)(n * p->n_right));
      if (!p->right_t) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory transposing the test matrix");
      for (int64_t q = 0; q < p->n_right; q++)
        for (int64_t j = 0; j < n; j++) p->right_t[j * p->n_right + q] = p->right[q * n + j];
    }
    if (p->corange) {
      p->corange_t = malloc(sizeof(double) * (size_t)((n + 1) * prsvd_dmat_cols(p->corange_src)));
      if (!p->corange_t) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the sparse co-range update");
    }
    return lanes_begin(p, n);
  }
  int sparse_left = 0;
  for (int t = 0; t < p->n_left; t++)
    sparse_left |= p->left[t].g.kind == PRSVD_SKETCH_SPARSE && !sparse_left_as_dense(p->left[t].g.dim);
  if (p->n_right && p->right_sparse) {
    p->tile = malloc(sizeof(double) * (size_t)((n + p->n_right) * PRSVD_TILE_ROWS));
    if (!p->tile) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the sparse sketch tile");
  }
  if (sparse_left) {
    p->tile_sign = malloc(sizeof(double) * (size_t)(p->panel_rows * 8));
    p->tile_pos = malloc(sizeof(int) * (size_t)(p->panel_rows * 8));
    if (!p->tile_sign || !p->tile_pos) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the sparse sketch rows");
  }
  PRSVD_CHECK(copies_begin(p, n));
  return lanes_begin(p, n);
}

static void scratch_end(struct prsvd_pass *p) {
  lanes_end(p);
  free(p->right_t), free(p->corange_t), free(p->tile), free(p->tile_sign), free(p->tile_pos), free(p->f32);
  free(p->row_sum), free(p->right_c), free(p->small_c), free(p->resid_tile);
  p->right_t = p->corange_t = p->tile = p->tile_sign = p->row_sum = p->right_c = p->small_c = p->resid_tile = NULL;
  p->tile_pos = NULL;
  p->f32 = NULL;
}

/* The m-row matrix whose row blocks name the pass's rows, or NULL (then row_grid's). */
static const prsvd_dmat *rows_ref(const struct prsvd_pass *p) {
  return p->n_keep ? p->keep[0].dmat : p->corange_src ? p->corange_src : p->resid_src;
}

int prsvd_pass_rows(const struct prsvd_pass *p, int64_t *row0, int64_t *local_rows) {
  const prsvd_dmat *ref = rows_ref(p);
  if (!ref && p->row_grid && !p->grid2d) {
    prsvd_row_block(prsvd_source_rows(p->a), prsvd_grid_rank(p->row_grid), prsvd_grid_nprocs(p->row_grid),
                    row0, local_rows);
    return PRSVD_OK;
  }
  if (!ref || prsvd_dmat_rows(ref) != prsvd_source_rows(p->a))
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "a pass needs an m-row kept or co-range matrix to place its rows");
  if (p->grid2d) prsvd_dmat_span(ref, p->grid2d->row_comm, row0, local_rows);
  else prsvd_dmat_local(ref, row0, local_rows, NULL);
  return PRSVD_OK;
}

int prsvd_sketch_pass(struct prsvd_pass *p, struct prsvd_cursor *cur) {
  const int64_t n = prsvd_source_cols(p->a);
  int64_t row0, local_rows;
  int in, status = PRSVD_OK, blas_before = 0;
  struct prsvd_source_layout lay;
  const prsvd_dmat *ref = rows_ref(p);
  PRSVD_CHECK(prsvd_pass_rows(p, &row0, &local_rows));
  if (p->grid2d && p->n_right && p->corange && p->corange_src != p->keep[0].dmat)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "a 2-D pass takes its co-range rows from the first kept matrix");
  if (p->grid2d && p->scale_running) /* a process row sums its panels: one exponent for all */
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "a 2-D pass runs with a fixed scale");
  PRSVD_CHECK(prsvd_to_int(n, "columns of A", &in));
  if (cur->next_row < row0) cur->next_row = row0;
  const int64_t end = row0 + local_rows;
  prsvd_source_get_layout(p->a, &lay);
  p->single = prsvd_pass_single(p->params, p->a);
  p->grid = panel_grid(p);
  prsvd_profile_pass_begin();
  status = scratch_begin(p, n);
  if (status) goto out;
  /* while the threads multiply, each BLAS call runs on its caller alone */
  if (p->n_lanes > 1) blas_before = prsvd_blas_threads_set(1);
  if (p->hook || lay.collective_reads) {
    MPI_Comm comm = p->hook ? p->hook_comm : prsvd_grid_comm(ref ? prsvd_dmat_grid(ref) : p->row_grid);
    status = lockstep(p, cur, row0, local_rows, n, in, lay.collective_reads, comm);
    goto out;
  }
  struct reads rd;
  status = reads_begin(&rd, p, cur->next_row, end, 0, LONG_MAX);
  while (!status && cur->next_row < end) status = step(&rd, p, cur, row0, local_rows, n, in);
  reads_end(&rd, p);
out:
  p->csr = NULL;
  if (blas_before > 0) prsvd_blas_threads_set(blas_before);
  scratch_end(p);
  prsvd_profile_pass_end();
  return status;
}

void prsvd_pass_free(struct prsvd_pass *p) {
  free_dense_buffers(p);
  prsvd_csr_free(&p->csrs[0]);
  prsvd_csr_free(&p->csrs[1]);
  p->csr = NULL;
}

int prsvd_pass_single(const struct prsvd_svd_params *params, const prsvd_source *a) {
  struct prsvd_source_layout lay;
  if (!params || prsvd_source_nnz(a) >= 0) return 0;
  prsvd_source_get_layout(a, &lay);
  if (params->precision == PRSVD_PRECISION_AUTO) return lay.stored_float32;
  return params->precision == PRSVD_PRECISION_SINGLE;
}

int64_t prsvd_panel_rows_for(const prsvd_source *a, int64_t memory, int prefetch, int single,
                             int threads) {
  return prsvd_panel_rows_cols(a, prsvd_source_cols(a), memory, prefetch, single, threads);
}

int64_t prsvd_panel_rows_cols(const prsvd_source *a, int64_t n, int64_t memory, int prefetch,
                              int single, int threads) {
  const int64_t m = prsvd_source_rows(a), nnz = prsvd_source_nnz(a);
  const int buffers = prefetch ? 2 : 1;
  if (nnz >= 0) { /* 16 bytes an entry (index + value), at least one row; shared by the buffers */
    const double per_row = 16.0 * ((double)nnz / (double)(m > 0 ? m : 1)) + 8.0;
    int64_t rows = (int64_t)((double)memory / per_row) / buffers;
    return rows < 1 ? 1 : rows;
  }
  struct prsvd_source_layout lay;
  prsvd_source_get_layout(a, &lay);
  /* a row too wide to count in bytes (saturated) holds no row of any budget */
  if (n < 1) return 0;
  const int64_t row_bytes = prsvd_size_mul(single ? 4 : 8, n);
  const int64_t budget = memory / row_bytes / (buffers + prsvd_source_own_panels(a, single));
  int64_t rows = budget;
  if (rows < 1 && memory >= row_bytes) rows = 1;
  /* The budget is a ceiling, not a target: a panel that fits in the last-level cache is read
   * once from memory by both of its products (A_i X and A_iᵀ Y_i), and smaller panels let the
   * reader thread overlap the reads with the products. */
  int64_t cached = PRSVD_PANEL_BYTES / row_bytes;
  if (cached < PRSVD_PANEL_MIN_ROWS) cached = PRSVD_PANEL_MIN_ROWS;
  cached *= threads > 1 ? threads : 1; /* each thread's rows of the panel that size */
  if (rows > cached) rows = cached;
  /* On the chunk grid, so that no chunk row is shared by two panels: whole chunk rows per
   * panel; or one chunk row when it is at most twice the cached size and the budget holds
   * it; or whole panels per chunk row, a divisor of the chunk row no less than a quarter of
   * the size (not a prime chunk row's single rows).  Failing all, the chunk cache (a row of
   * chunks) still reads each chunk once. */
  const int64_t c = lay.chunk_rows;
  if (c <= 1 || rows < 1) return rows;
  if (rows >= c) return rows - rows % c;
  if (c <= 2 * cached && budget >= c) return c;
  int64_t d = rows;
  while (c % d) d--;
  return 4 * d >= rows ? d : rows;
}
