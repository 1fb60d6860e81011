/* The panel loop of every pass: read, check, and the two GEMMs of the pass-efficient sketch. */
#include "sketch.h"

#include <math.h>

#include "blas.h"
#include "error.h"
#include "profile.h"
#include "source_impl.h"

static int check_finite(const prsvd_source *a, const double *panel, int64_t row0, int64_t nr,
                        int64_t n) {
  for (int64_t i = 0; i < nr; i++)
    for (int64_t j = 0; j < n; j++)
      if (!isfinite(panel[i * n + j]))
        PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': %s at row %lld, column %lld", prsvd_source_name(a),
                  isnan(panel[i * n + j]) ? "NaN" : "Inf", (long long)(row0 + i), (long long)j);
  return PRSVD_OK;
}

/* out(nr x c) = panel(nr x n) * b(n x c): the panel is the column-major n x nr A_i^T */
static void panel_times(const double *panel, int nr, int n, const double *b, int c, double *out,
                        int ldo) {
  const double one = 1.0, zero = 0.0;
  dgemm_("T", "N", &nr, &c, &n, &one, panel, &n, b, &n, &zero, out, &ldo);
}

int prsvd_sketch_pass(struct prsvd_pass *p, struct prsvd_cursor *cur) {
  const int64_t n = prsvd_source_cols(p->a);
  const int64_t l = prsvd_dmat_cols(p->y);
  int64_t y_row0, y_rows, y_ld, p_ld = 1;
  double *y = prsvd_dmat_local(p->y, &y_row0, &y_rows, &y_ld);
  double *yp = p->probes ? prsvd_dmat_local(p->y_probes, NULL, NULL, &p_ld) : NULL;
  const int n_probes = p->probes ? (int)prsvd_dmat_cols(p->y_probes) : 0;
  int in, il, ild, ipld;
  PRSVD_CHECK(prsvd_to_int(n, "columns of A", &in));
  PRSVD_CHECK(prsvd_to_int(l, "sketch columns", &il));
  PRSVD_CHECK(prsvd_to_int(y_ld, "sketch leading dimension", &ild));
  PRSVD_CHECK(prsvd_to_int(p_ld, "probe leading dimension", &ipld));
  const double one = 1.0;

  if (cur->next_row < y_row0) cur->next_row = y_row0;
  while (cur->next_row < y_row0 + y_rows) {
    const int64_t r = cur->next_row, off = r - y_row0;
    int64_t nr = y_row0 + y_rows - r;
    if (nr > p->panel_rows) nr = p->panel_rows;
    int inr = (int)nr;

    prsvd_profile_begin(PRSVD_EV_READ);
    PRSVD_CHECK(prsvd_source_read(p->a, r, nr, p->panel));
    if (p->check_finite) PRSVD_CHECK(check_finite(p->a, p->panel, r, nr, n));
    prsvd_profile_end(PRSVD_EV_READ, 8.0 * (double)(nr * n), 0.0);

    prsvd_profile_begin(PRSVD_EV_SKETCH);
    double flops = 2.0 * (double)nr * (double)n * (double)l; /* H += A_i^T Y_i */
    /* Y_i = A_i X */
    if (p->x) panel_times(p->panel, inr, in, p->x, il, y + off, ild), flops *= 2.0;
    /* P_i = A_i W */
    if (p->probes) {
      panel_times(p->panel, inr, in, p->probes, n_probes, yp + off, ipld);
      flops += 2.0 * (double)nr * (double)n * n_probes;
    }
    /* H += A_i^T Y_i */
    dgemm_("N", "N", &in, &il, &inr, &one, p->panel, &in, y + off, &ild, &one, p->h, &in);
    prsvd_profile_end(PRSVD_EV_SKETCH, 0.0, flops);

    cur->next_row = r + nr;
    if (p->params->progress)
      p->params->progress(p->params->progress_arg, cur->pass, cur->n_passes, cur->next_row - y_row0,
                          y_rows);
  }
  return PRSVD_OK;
}
