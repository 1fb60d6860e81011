/* The sparse sign map kernels on dense panels (sketch.h): P_i = A_i R for a sparse right map,
 * and L += A_i^T G_i, Z += G_i^T P_i for a sparse left map, float64 or float32 panels. */
#include "pass_impl.h"

#include <math.h>
#include <string.h>

#include "blas.h"

/* P (nr x c) = A_i R for a sparse sign map R: the rows of A_i go PRSVD_TILE_ROWS at a time
 * into a transposed tile, so that each of R's zeta nonzeros in row j updates a short
 * contiguous vector of the tile's products from a contiguous vector of A_i(:, j).  (Row by row,
 * every entry of A_i cost zeta scattered updates and R's positions were streamed from memory
 * once per row: three times slower than the Gaussian GEMM it should beat.)  A float32 panel
 * is widened to float64 as it goes into the tile, so both precisions share the kernel. */
/* The sparse-map kernels are built for each vector ISA (PRSVD_KERNEL_CLONES, blas.h), as
 * OpenBLAS's Gaussian GEMMs they compete with are. */
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

PRSVD_KERNEL_CLONES static double right_product_sparse(const struct prsvd_pass *p, const struct prsvd_lane *ln,
                                                  int nr, int n, double *out, int ldo) {
  enum { TR = PRSVD_TILE_ROWS };
  const struct prsvd_sparse_right *s = p->right_sparse;
  const int c = (int)p->n_right, z = s->zeta;
  const double scale = ldexp(1.0, prsvd_pass_held_exp(p)); /* on the signs: products of 2^scale_exp A */
  double *tile = ln->tile, *acc = ln->tile + (size_t)n * TR;
  const size_t at = (size_t)ln->row0 * (size_t)n;
  for (int r0 = 0; r0 < nr; r0 += TR) {
    const int rows = nr - r0 < TR ? nr - r0 : TR;
    if (p->state->single)
      FILL_TILE(float, p->state->panel32 + at, r0, rows, n, tile);
    else
      FILL_TILE(double, p->state->panel + at, r0, rows, n, tile);
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

/* The kernel's clones stay static: a target_clones function of external linkage is exported
 * through its ifunc resolver whatever -fvisibility says (tests/lib: no internals exported). */
double prsvd_pass_right_product_sparse(const struct prsvd_pass *p, const struct prsvd_lane *ln, int nr,
                                       int n, double *out, int ldo) {
  return right_product_sparse(p, ln, nr, n, out, ldo);
}

/* y += a x for a float32 x: the daxpy of a float32 panel's row, widened as it goes */
PRSVD_KERNEL_CLONES static void axpy_widened(int len, double a, const float *restrict x, double *restrict y) {
  for (int j = 0; j < len; j++) y[j] += a * (double)x[j];
}

/* The positions and signs of a sparse sign G's rows [row0, row0 + nr) of the panel (global
 * rows from r + row0), for prsvd_pass_left_update_sparse. */
void prsvd_pass_left_rows_sparse(const struct prsvd_pass *p, int t, int64_t r, int64_t row0, int nr) {
  const struct prsvd_testmat *tm = &p->left[t].g;
  int *pos = p->state->tile_pos + row0 * 8;
  double *sign = p->state->tile_sign + row0 * 8;
  for (int i = 0; i < nr; i++) prsvd_sparse_column(tm->seed, tm->stream, r + row0 + i, (int)tm->dim, pos + i * 8, sign + i * 8);
}

/* Rows [col0, col0 + nc) of acc (n x d) += A_b^T G_b and columns [k0, k0 + kn) of core
 * (d x cc) += G_b^T P_b(:, c0 : c0+cc) for a sparse sign G (positions and signs made by
 * prsvd_pass_left_rows_sparse) and the nr rows A_b of the panel (P_b its rows of P_i, ld ldp):
 * A_b by blocks of columns, so that the part of acc that the zeta rows of each G_b row touch
 * (d x block, 256 KiB) stays in cache. */
double prsvd_pass_left_update_sparse(const struct prsvd_pass *p, int t, int nr, int n, int64_t col0, int nc,
                                     int64_t k0, int64_t kn, const double *prod, int ldp) {
  const int one = 1;
  const struct prsvd_testmat *tm = &p->left[t].g;
  const int d = (int)tm->dim, z = prsvd_sparse_zeta(d);
  const int block = d < 128 ? 32768 / d / 64 * 64 : 256;
  const double scale = ldexp(1.0, prsvd_pass_held_exp(p)); /* on the signs of acc's update, not the core's:
                                                 * P is a product of 2^scale_exp A already */
  double *acc = p->left[t].acc, *core = p->left[t].core;
  const int *pos = p->state->tile_pos;
  const double *sign = p->state->tile_sign;
  if (acc)
    for (int64_t j0 = col0; j0 < col0 + nc; j0 += block) {
      const int jn = col0 + nc - j0 < block ? (int)(col0 + nc - j0) : block;
      for (int r = 0; r < nr; r++)
        for (int u = 0; u < z; u++) {
          double *col = acc + (size_t)pos[r * 8 + u] * n + j0;
          const double a = sign[r * 8 + u] * scale;
          if (p->state->single)
            axpy_widened(jn, a, p->state->panel32 + (size_t)r * n + j0, col);
          else
            daxpy_(&jn, &a, p->state->panel + (size_t)r * n + j0, &one, col, &one);
        }
    }
  if (core)
    for (int r = 0; r < nr; r++)
      for (int u = 0; u < z; u++)
        for (int64_t c = k0; c < k0 + kn; c++)
          core[(size_t)c * d + pos[r * 8 + u]] += sign[r * 8 + u] * prod[(size_t)(p->left[t].core_col0 + c) * ldp + r];
  return 2.0 * nr * (double)z * ((acc ? nc : 0) + (core ? kn : 0));
}
