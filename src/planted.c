/* The planted-spectrum source behind planted.h. */
#include "prsvd_planted.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "rng.h"

struct planted {
  struct prsvd_planted_params p;
  int64_t mn;
  double *u, *v, *a, *sigma_signed, c;
};

int prsvd_spectrum_parse(const char *name, enum prsvd_spectrum *out) {
  if (!strcmp(name, "poly")) *out = PRSVD_SPECTRUM_POLY;
  else if (!strcmp(name, "exp")) *out = PRSVD_SPECTRUM_EXP;
  else if (!strcmp(name, "lowrank-noise")) *out = PRSVD_SPECTRUM_LOWRANK_NOISE;
  else PRSVD_ERR(PRSVD_ERR_USAGE, "unknown --spectrum '%s': expected poly, exp or lowrank-noise", name);
  return PRSVD_OK;
}

double prsvd_planted_sigma(const struct prsvd_planted_params *p, int64_t j) {
  switch (p->spectrum) {
  case PRSVD_SPECTRUM_POLY: return pow((double)(j + 1), -p->decay);
  case PRSVD_SPECTRUM_EXP: return pow(10.0, -p->decay * (double)(j + 1));
  case PRSVD_SPECTRUM_LOWRANK_NOISE: return j < p->rank ? 1.0 : 0.0;
  }
  return 0.0;
}

static void planted_free(void *ctx) {
  struct planted *g = ctx;
  if (!g) return;
  free(g->u);
  free(g->v);
  free(g->a);
  free(g->sigma_signed);
  free(g);
}

static int planted_rows(void *ctx, int64_t row0, int64_t nrows, double *panel) {
  const struct planted *g = ctx;
  const int64_t n = g->p.cols;
  const double noise = g->p.spectrum == PRSVD_SPECTRUM_LOWRANK_NOISE ? g->p.noise / sqrt((double)n) : 0.0;
  for (int64_t r = 0; r < nrows; r++) {
    const int64_t i = row0 + r;
    double *row = panel + r * n;
    const double ui = g->u[i];
    const double bi = i < g->mn ? g->sigma_signed[i] * g->v[i] : 0.0;
    const double ca = -2.0 * ui, cv = -(2.0 * bi - 4.0 * g->c * ui);
    for (int64_t j = 0; j < n; j++) row[j] = ca * g->a[j] + cv * g->v[j];
    if (i < g->mn) row[i] += g->sigma_signed[i];
    if (noise != 0.0)
      for (int64_t j = 0; j < n; j++)
        row[j] += noise * prsvd_rng_gaussian(g->p.seed, PRSVD_STREAM_GEN_NOISE, i, j);
  }
  return PRSVD_OK;
}

static void unit_gaussian(uint64_t seed, unsigned stream, int64_t len, double *x) {
  double nrm = 0.0;
  prsvd_rng_fill(seed, stream, 0, len, 0, 1, x, len);
  for (int64_t i = 0; i < len; i++) nrm += x[i] * x[i];
  nrm = sqrt(nrm);
  for (int64_t i = 0; i < len; i++) x[i] /= nrm;
}

int prsvd_source_planted(const struct prsvd_planted_params *p, prsvd_source **src) {
  static const struct prsvd_source_ops ops = {planted_rows, planted_free, NULL, NULL, NULL, NULL, NULL};
  int status = PRSVD_OK;
  struct planted *g = NULL;
  *src = NULL;
  if (p->symmetric && p->rows != p->cols)
    PRSVD_ERR(PRSVD_ERR_USAGE, "a symmetric matrix must be square (%lld x %lld asked)",
              (long long)p->rows, (long long)p->cols);
  PRSVD_ALLOC(g, 1);
  g->p = *p;
  g->mn = p->rows < p->cols ? p->rows : p->cols;
  PRSVD_ALLOC(g->u, p->rows);
  PRSVD_ALLOC(g->v, p->cols);
  PRSVD_ALLOC(g->a, p->cols);
  PRSVD_ALLOC(g->sigma_signed, g->mn);
  unit_gaussian(p->seed, PRSVD_STREAM_GEN_U, p->rows, g->u);
  if (p->symmetric) memcpy(g->v, g->u, sizeof(double) * (size_t)p->cols);
  else unit_gaussian(p->seed, PRSVD_STREAM_GEN_V, p->cols, g->v);
  g->c = 0.0;
  for (int64_t t = 0; t < g->mn; t++) {
    double s = p->symmetric == 1 || prsvd_rng_gaussian(p->seed, PRSVD_STREAM_GEN_SIGN, t, 0) >= 0 ? 1.0 : -1.0;
    g->sigma_signed[t] = s * prsvd_planted_sigma(p, t);
    g->a[t] = g->u[t] * g->sigma_signed[t];
    g->c += g->u[t] * g->sigma_signed[t] * g->v[t];
  }
  PRSVD_TRY(prsvd_source_create(p->rows, p->cols, "planted", &ops, g, src));
  return PRSVD_OK;
done:
  planted_free(g);
  return status;
}
