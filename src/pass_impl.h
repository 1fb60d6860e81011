/*
 * The pass engine's private side (sketch.h describes a pass): what the engine's files share
 * and no method sees.  pass.c runs the panel loop; pass_reads.c reads the panels; pass_lanes.c
 * splits them among the threads; pass_range.c scales and scans; the kernels update the
 * sketches from a dense float64 panel (pass_kernels_dense.c), in float32
 * (pass_kernels_f32.c), through a sparse sign map (pass_kernels_sparse.c) or from a CSR panel
 * (pass_kernels_csr.c); panel.c sizes the panels.  Local: nothing here is collective but the
 * 2-D grid's sums and the hook (pass.c).
 */
#ifndef PRSVD_PASS_IMPL_H
#define PRSVD_PASS_IMPL_H

#include <math.h>

#include "error.h"
#include "prefetch.h"
#include "sketch.h"

/* One compute thread's part of a pass over the panel in hand (made by the pass): its rows
 * [row0, row0 + rows) of the panel, the sums only a CSR lane keeps for itself (lane 0's column
 * and left sums the pass's; the others' and every co-range sum added in lane order at the end
 * of every panel), its Frobenius sum (lane 0: the pass's), and its scratch (x32: a float32 copy of K_i
 * or G_i; o32 and p32: float32 products; small_c: 2^scale_exp K_i or G_i; tile: a sparse
 * map's tile). */
struct prsvd_lane {
  int64_t row0, rows;
  double *col_sum, *col_sumsq;
  double *corange_t; /* CSR panels: the lane's co-range sum row-major, every lane its own */
  double *left_acc[PRSVD_MAX_LEFT], *left_core[PRSVD_MAX_LEFT]; /* CSR panels: L_t and Z_t (lane 0:
                                                                  * the pass's) */
  double *left_block; /* CSR lanes but 0: their L_t and Z_t, in one block */
  double fro2, flops;
  float *x32, *o32, *p32;
  double *small_c;
  double *tile; /* a sparse right map's transposed tile and its products */
};

/* What a pass makes for itself (struct prsvd_pass.state): allocated by the first
 * prsvd_sketch_pass, freed by prsvd_pass_free; the scratch of one pass is made at its start and
 * freed at its end, and so are its panels (prsvd_reads_end). */
struct prsvd_pass_state {
  /* The panel in hand (panel_rows x n, row-major), float64 in panel or float32 in panel32
   * (single), in buffers the pass owns until its end (two with the reader thread), or
   * rows the source lends in place (read-only: a mapping of the file, prsvd_source_lends), so
   * nothing may write into a panel; NULL for a sparse source, whose panel is csr, one of csrs
   * (also freed at the pass's end). */
  double *panel;
  float *panel32;
  int panel_exp; /* panel32 holds 2^panel_exp A_i (a source keeps values beyond float32's range
                  * in it so; 0 else) */
  int single;
  void *bufs[2];
  int64_t buf_bytes;
  struct prsvd_csr *csr;
  struct prsvd_csr csrs[2];
  float *f32;        /* single: R, P_i, K_i or G_i, and an n-row product */
  int f32_right_exp; /* the float32 R is that of 2^f32_right_exp R */
  double right_max;  /* max |R| */
  double *right_c;   /* 2^right_c_exp R, when scale_exp != 0 */
  int right_c_exp;
  double *small_c;          /* 2^scale_exp K_i or G_i (panel_rows x w) */
  int64_t grid;             /* panels end on multiples of this global row (1: anywhere) */
  struct prsvd_lane *lanes; /* the threads' parts of each panel (n_lanes 1: one thread) */
  int n_lanes;
  int checked_ahead; /* the reader thread scans each panel */
  double panel_amax; /* the scanned max of the panel in hand */
  double *right_t;   /* R row-major, for sparse panels */
  double *corange_t; /* sparse panels: a panel's A_i^T K_i row-major (n x kc) */
  /* scratch of the sparse-map kernels on dense panels: a transposed tile of PRSVD_TILE_ROWS
   * rows and its products, and the positions and signs of a panel's rows */
  double *tile, *tile_sign;
  int *tile_pos;
  double *resid_tile; /* a tile of the residual's rows and its K */
  double *row_sum;    /* 2-D grid: a panel's sum (panel_rows x width) and a failure flag */
};

/* Run the statements with A the panel in hand, as const float * (single) or const double *:
 * the element-wise updates are written once for both precisions. */
#define WITH_PANEL(p, A, ...)               \
  do {                                      \
    if ((p)->state->single) {               \
      const float *A = (p)->state->panel32; \
      __VA_ARGS__                           \
    } else {                                \
      const double *A = (p)->state->panel;  \
      __VA_ARGS__                           \
    }                                       \
  } while (0)

/* Bytes of one row of the pass's dense panels (float32 or float64); saturating, as every
 * product of a shape is, though prsvd_check_shape already bounds a source's. */
static inline int64_t prsvd_pass_row_bytes(const struct prsvd_pass *p) {
  return prsvd_size_mul(prsvd_source_cols(p->a), p->state->single ? 4 : 8);
}

/* ---- panel.c: where panels end ---- */

/* Rows of the panel starting at `row`: panel_rows, ended early on the grid when that leaves
 * a panel (the first panel of a rank whose block starts inside a chunk row). */
int64_t prsvd_panel_at(const struct prsvd_pass *p, int64_t row, int64_t end);
/* Panels from row to end. */
long prsvd_panels_left(const struct prsvd_pass *p, int64_t row, int64_t end);
/* The grid panels end on: the chunk rows when panels hold whole chunk rows, the panel size
 * when a chunk row holds whole panels, otherwise none (and none for CSR panels). */
int64_t prsvd_panel_grid(const struct prsvd_pass *p);

/* ---- pass_reads.c ---- */

/* Reads for one pass: straight from the source, or from the reader thread one read ahead,
 * into the pass's two dense panels (float64 or float32), two slots of rows the source lends
 * in place (lend: no panel buffers), or two CSR panels for a sparse source.  ready() returns the
 * status of the read of the panel at the cursor into p->panel, p->panel32 or p->csr.  For a source
 * with collective reads every rank makes exactly `reads_left` reads, the last ones zero-row reads
 * at the end of its block. */
struct prsvd_reads {
  struct prsvd_prefetch pf;
  int sparse, lend, cb, have, saved, on, collective;
  double saved_amax; /* the waited-for panel's max |a_ij|, when the reader scanned it */
  int saved_exp;     /* ... and the power of two its float32 rows are held times */
  struct prsvd_rows_lent lent[2];
  long reads_left;
};

int prsvd_reads_begin(struct prsvd_reads *rd, struct prsvd_pass *p, int64_t row, int64_t end,
                      int collective, long reads);
/* Let the reader finish (so nothing else touches the source library meanwhile). */
void prsvd_reads_settle(struct prsvd_reads *rd);
/* Rows [row, row + nr) into the panel (nr = 0: a collective source's zero-row read). */
int prsvd_reads_ready(struct prsvd_reads *rd, struct prsvd_pass *p, int64_t row, int64_t nr,
                      int64_t end);
/* The reads over: the reader stopped, the panels freed or given back (an error if the source
 * says lent rows were not its own while the pass used them). */
int prsvd_reads_end(struct prsvd_reads *rd, struct prsvd_pass *p);
/* The panels' buffers (dense and CSR), freed. */
void prsvd_pass_free_buffers(struct prsvd_pass *p);

/* ---- pass_range.c: the scan of each panel ---- */

/* A running pass, after a panel raised amax: the exponent moves when 2^scale_exp amax has
 * left the range. */
void prsvd_pass_follow_range(struct prsvd_pass *p);
/* 1 if the pass scans its panels: for NaN and Inf, or for max |a_ij|. */
int prsvd_pass_scans(const struct prsvd_pass *p);
/* The scan of the panel in hand: max |a_ij| into p->panel_amax, and with check_finite
 * PRSVD_ERR_INPUT naming its first NaN or Inf. */
int prsvd_pass_scan_panel(struct prsvd_pass *p, int64_t row0, int64_t nr);
/* The reader thread's check of a dense panel (struct prsvd_panel_check, arg the pass). */
int64_t prsvd_pass_first_bad_row(void *arg, const void *panel, int64_t nr, double *amax);
int prsvd_pass_report_nonfinite(void *arg, const void *panel, int64_t row0, int64_t bad);

/* ---- pass_lanes.c ---- */

/* One dense panel split among the pool's threads: lane t multiplies its rows alone. */
struct prsvd_panel_job {
  struct prsvd_pass *p;
  int64_t r, off, n;
  int nr;
};

/* Lane t's part of a dense (prsvd_pass_lane_panel) or CSR panel (..._csr), arg a struct
 * prsvd_panel_job: run by prsvd_pool_run. */
void prsvd_pass_lane_panel(void *arg, int t);
void prsvd_pass_lane_panel_csr(void *arg, int t);
/* The lanes of the pass and their scratch (after the pass's own scratch), and their end. */
int prsvd_pass_lanes_begin(struct prsvd_pass *p, int64_t n);
void prsvd_pass_lanes_end(struct prsvd_pass *p);

/* ---- pass_kernels_dense.c: each the lane's rows of the panel in hand ---- */

/* 1 if a sparse sign map of dim rows is multiplied densified (by a GEMM). */
int prsvd_pass_sparse_left_as_dense(int64_t d);
/* The left sketches from t multiplied as one product, and their columns. */
int prsvd_pass_left_run(const struct prsvd_pass *p, int t);
int64_t prsvd_pass_left_run_dim(const struct prsvd_pass *p, int t, int run);
/* Rows [col0, col0 + nc) of out (n x c) += (2^scale_exp A_b(:, col0 : col0 + nc))^T x, A_b
 * the panel's nr rows from row0; returns the flops. */
double prsvd_pass_panel_t_times(const struct prsvd_pass *p, const struct prsvd_lane *ln,
                                int64_t row0, int nr, int64_t col0, int nc, int n, const double *x,
                                int ldx, int c, double *out);
/* P_b (nr x n_right, ld ldo) = (2^scale_exp A_b) R; returns the flops. */
double prsvd_pass_right_product(const struct prsvd_pass *p, const struct prsvd_lane *ln, int nr,
                                int n, double *out, int ldo);
/* Left sketches t .. t + run - 1 (L += A_b^T G_b, Z += G_b^T P_b) in two parts: G_b's rows
 * [row0, row0 + nr) (each lane its rows, before the barrier), then over all nr rows L's rows
 * [col0, col0 + nc) and lane `lane` of `lanes`'s share of Z's columns; returns the flops. */
void prsvd_pass_left_rows(const struct prsvd_pass *p, int t, int run, int64_t r, int64_t row0,
                          int nr, double *g, int ldp);
double prsvd_pass_left_cols(const struct prsvd_pass *p, const struct prsvd_lane *ln, int t, int run,
                            int nr, int n, int64_t col0, int nc, int lane, int lanes,
                            const double *prod, const double *g, int ldp);
/* ||A_b||_F^2 and the sampled entries of the lane's rows; column sums of columns
 * [col0, col0 + nc) over all the panel's nr rows. */
void prsvd_pass_row_statistics(struct prsvd_pass *p, struct prsvd_lane *ln, int64_t r, int64_t nr,
                               int64_t n);
void prsvd_pass_col_statistics(struct prsvd_pass *p, int64_t nr, int64_t n, int64_t col0,
                               int64_t nc);
/* The row centring of rows [i0, i1) of the panel in hand (dense or CSR; prsvd_pass's
 * center_rows): their products prod[q ld + i] -= mu_i center_shift[q], and their sums into
 * center_sum[local0 + i] (if not NULL).  Not collective; each lane its own rows. */
void prsvd_pass_center_rows(const struct prsvd_pass *p, int64_t i0, int64_t i1, int64_t local0,
                            double *prod, int64_t ld);
/* Where rows [r, r + nr) of P_i may be made in place, in the kept matrix's own rows (its
 * leading dimension in *ld), so that no copy follows: one kept matrix taking every column of
 * P_i, rows not centred, no left core reading P_i after, a P x 1 grid, and the rows within
 * this rank's block.  NULL otherwise: P_i is made in the work and prsvd_pass_keep_rows
 * copies it. */
double *prsvd_pass_kept_at(const struct prsvd_pass *p, int64_t r, int64_t nr, int *ld);
/* Rows [r + b0, r + b0 + nr) of P_i (prod, ld ld) stored into the kept matrices. */
void prsvd_pass_keep_rows(struct prsvd_pass *p, int64_t r, int64_t b0, int64_t nr,
                          const double *prod, int64_t ld);
/* Rows of a residual tile, and resid += ||2^e A_i - K_i M^T||_F^2 over the panel. */
int64_t prsvd_pass_resid_tile_rows(int64_t n);
double prsvd_pass_residual_update(struct prsvd_pass *p, int64_t off, int nr, int n);

/* ---- pass_kernels_f32.c: float32 products and the scaled copies ---- */

/* y = scale x (rows x cols, ld ldx) into ld rows. */
void prsvd_pass_scaled_copy(const double *x, int64_t ldx, int64_t rows, int64_t cols, double scale,
                            double *y);
/* The widest co-range or left product, and the float32 scratch's parts. */
int64_t prsvd_pass_f32_width(const struct prsvd_pass *p);
float *prsvd_pass_f32_prod(const struct prsvd_pass *p, int64_t n);
float *prsvd_pass_f32_rows(const struct prsvd_pass *p, int64_t n);
float *prsvd_pass_f32_out(const struct prsvd_pass *p, int64_t n);
/* The scaled copies' scratch, and R's copy for the exponent in force before a panel. */
int prsvd_pass_copies_begin(struct prsvd_pass *p, int64_t n);
void prsvd_pass_copies_ready(struct prsvd_pass *p, int64_t n);
void prsvd_pass_panel_t_times_f32(const struct prsvd_pass *p, const struct prsvd_lane *ln, size_t at,
                                  int nr, int nc, int n, const double *x, int ldx, int c,
                                  double *out);
double prsvd_pass_right_product_f32(const struct prsvd_pass *p, const struct prsvd_lane *ln, int nr,
                                    int n, double *out, int ldo);

/* ---- pass_kernels_sparse.c: sparse sign maps on dense panels ---- */

double prsvd_pass_right_product_sparse(const struct prsvd_pass *p, const struct prsvd_lane *ln,
                                       int nr, int n, double *out, int ldo);
void prsvd_pass_left_rows_sparse(const struct prsvd_pass *p, int t, int64_t r, int64_t row0, int nr);
double prsvd_pass_left_update_sparse(const struct prsvd_pass *p, int t, int nr, int n, int64_t col0,
                                     int nc, int64_t k0, int64_t kn, const double *prod, int ldp);

/* pass_kernels_csr.c: the updates of one CSR panel (rows [r, r + csr->rows), offset off into the
 * kept matrices); rt is R row-major (n x n_right) or NULL for a sparse right map. */
int prsvd_pass_csr_panel(struct prsvd_pass *p, int64_t r, int64_t off, int64_t n, const double *rt,
                         double *flops);
/* The same for the lane's rows [row0, row0 + rows) of the CSR panel, on one of the pool's
 * threads: its rows of the right product (dense rt or the sparse map) and of the kept matrices,
 * the co-range sum into the lane's row-major ln->corange_t (n x kc),
 * and the left sketches into its L_t and Z_t from its rows of G_i (a Gaussian's drawn into its
 * rows of the pass's work); flops into ln->flops. */
void prsvd_pass_csr_lane(const struct prsvd_pass *p, struct prsvd_lane *ln, int64_t r, int64_t off,
                         const double *rt);

/* The power of two from the panel in hand to the products' 2^scale_exp A: a float32 panel
 * holds 2^panel_exp A (prsvd_source_read_f32), a float64 or CSR one A. */
static inline int prsvd_pass_held_exp(const struct prsvd_pass *p) {
  return p->scale_exp - p->state->panel_exp;
}
/* max |a_ij| of the panel as held, for the float32 products' exponents */
static inline double prsvd_pass_held_amax(const struct prsvd_pass *p) {
  return ldexp(p->amax, p->state->panel_exp);
}

#endif
