/* Panel sizing (sketch.h): rows per panel of a memory budget, where panels end, the work
 * array a method allocates for a pass, whether a pass multiplies in float32, and the bytes its
 * threads hold (the plan's memory). */
#include "pass_impl.h"

#include "source_impl.h"

int64_t prsvd_pass_work_size(int64_t panel_rows, int64_t n_right, int64_t max_left_dim) {
  return panel_rows * (n_right + max_left_dim);
}

/* Rows of the panel starting at `row`: panel_rows, ended early on the grid when that leaves
 * a panel (the first panel of a rank whose block starts inside a chunk row). */
int64_t prsvd_panel_at(const struct prsvd_pass *p, int64_t row, int64_t end) {
  int64_t e = row + p->panel_rows;
  if (e >= end) return end - row;
  if (p->state->grid > 1 && e % p->state->grid && e - e % p->state->grid > row) e -= e % p->state->grid;
  return e - row;
}

long prsvd_panels_left(const struct prsvd_pass *p, int64_t row, int64_t end) {
  long count = 0;
  for (; row < end; row += prsvd_panel_at(p, row, end)) count++;
  return count;
}

/* The grid panels end on: the chunk rows when panels hold whole chunk rows, the panel size
 * when a chunk row holds whole panels, otherwise none (and none for CSR panels). */
int64_t prsvd_panel_grid(const struct prsvd_pass *p) {
  struct prsvd_source_layout lay;
  prsvd_source_get_layout(p->a, &lay);
  const int64_t c = lay.chunk_rows, pr = p->panel_rows;
  if (c <= 1 || prsvd_source_nnz(p->a) >= 0) return 1;
  if (pr % c == 0) return c;
  if (c % pr == 0) return pr;
  return 1;
}

#define BLAS_PACK_BYTES ((int64_t)3 << 19) /* 1.5 MiB */

int64_t prsvd_pass_thread_bytes(int threads, int64_t panel_rows, int64_t n,
                                const struct prsvd_pass_shape *shape, int single) {
  if (threads < 2 || !shape->threaded) return 0;
  const int64_t rows = (panel_rows + threads - 1) / threads, cols = (n + threads - 1) / threads;
  const int64_t kc = shape->corange_cols, w = kc > shape->left_width ? kc : shape->left_width;
  const int64_t out = cols * w > rows * shape->n_right ? cols * w : rows * shape->n_right;
  int64_t bytes = 0;
  /* CSR: every thread's row-major co-range sum, and all but lane 0's column
   * sums, left sums and cores; dense lanes add into their columns of the pass's sums and hold
   * none, only a sparse map's tile */
  /* a dense lane's GEMM packs its operands in the buffer OpenBLAS keeps for each calling
   * thread: Haswell's P x Q block of A (512 x 256 doubles, 1 MiB; 768 x 384 floats) and a Q-row
   * slice of the narrow B; each thread past the first grew the process by 1.35 to 1.46 MiB
   * (test_plan's runs at 1 and 2 threads) */
  if (!shape->sparse) bytes += (threads - 1) * BLAS_PACK_BYTES;
  if (shape->sparse)
    bytes += threads * 8 * n * kc +
             (threads - 1) * 8 * ((shape->col_sums ? 2 * n : 0) + n * shape->left_cols + shape->core_elems);
  else if (shape->sparse_map)
    bytes += (threads - 1) * 8 * (n + shape->n_right) * PRSVD_TILE_ROWS;
  if (single) bytes += threads * 4 * (panel_rows * w + out);
  return bytes;
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
