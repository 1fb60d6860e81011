/* The network and optimizers behind mlp.h.  Row-major arrays through column-major BLAS: a
 * row-major n x d matrix is the column-major d x n matrix of its transpose. */
#include "mlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double gaussian(uint64_t *s) {
  double u1 = ((double)(splitmix64(s) >> 11) + 0.5) / 9007199254740992.0;
  double u2 = (double)(splitmix64(s) >> 11) / 9007199254740992.0;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

int mlp_create(int n_layers, const int64_t *widths, uint64_t seed, int64_t capacity, struct mlp **out) {
  int status = PRSVD_OK;
  struct mlp *m = NULL;
  uint64_t state = seed * 0x2545f4914f6cdd1dULL + 1;
  *out = NULL;
  if (n_layers < 1 || n_layers > MLP_MAX_LAYERS)
    PRSVD_ERR(PRSVD_ERR_USAGE, "%d layers: expected 1 to %d", n_layers, MLP_MAX_LAYERS);
  PRSVD_ALLOC(m, 1);
  m->n_layers = n_layers;
  m->capacity = capacity;
  PRSVD_ALLOC(m->act[0], capacity * widths[0]);
  for (int l = 0; l < n_layers; l++) m->n_params += widths[l + 1] * (widths[l] + 1);
  PRSVD_ALLOC(m->grads, m->n_params + 2);
  for (int64_t l = 0, offset = 0; l < n_layers; l++) {
    int64_t din = widths[l], dout = widths[l + 1];
    m->d_in[l] = din;
    m->d_out[l] = dout;
    PRSVD_ALLOC(m->w[l], dout * (din + 1));
    m->grad[l] = m->grads + offset;
    offset += dout * (din + 1);
    PRSVD_ALLOC(m->act[l + 1], capacity * dout);
    PRSVD_ALLOC(m->delta[l], capacity * dout);
    double sd = sqrt(2.0 / (double)din); /* He et al. 2015 */
    for (int64_t o = 0; o < dout; o++)
      for (int64_t i = 0; i < din; i++) m->w[l][o * (din + 1) + i] = sd * gaussian(&state);
  }
  *out = m;
  m = NULL;
done:
  mlp_destroy(&m);
  return status;
}

void mlp_destroy(struct mlp **m) {
  if (!m || !*m) return;
  for (int l = 0; l <= (*m)->n_layers && l <= MLP_MAX_LAYERS; l++) {
    free((*m)->act[l]);
    if (l < (*m)->n_layers) free((*m)->w[l]), free((*m)->delta[l]);
  }
  free((*m)->grads);
  free(*m);
  *m = NULL;
}

int mlp_forward(struct mlp *m, int64_t n, const double *x, const uint8_t *labels, double *loss_sum,
                int64_t *correct) {
  int in, id, io, ild;
  const double one = 1.0, zero = 0.0;
  *loss_sum = 0.0;
  *correct = 0;
  if (n > m->capacity) PRSVD_ERR(PRSVD_ERR_INTERNAL, "batch of %lld above capacity %lld", (long long)n, (long long)m->capacity);
  if (n == 0) return PRSVD_OK;
  memcpy(m->act[0], x, sizeof(double) * (size_t)(n * m->d_in[0]));
  PRSVD_CHECK(prsvd_to_int(n, "batch", &in));
  for (int l = 0; l < m->n_layers; l++) {
    int64_t din = m->d_in[l], dout = m->d_out[l];
    double *a = m->act[l], *s = m->act[l + 1];
    PRSVD_CHECK(prsvd_to_int(din, "layer width", &id));
    PRSVD_CHECK(prsvd_to_int(dout, "layer width", &io));
    ild = id + 1;
    /* S = A W'^T: (S^T = W' A^T, column-major) */
    dgemm_("T", "N", &io, &in, &id, &one, m->w[l], &ild, a, &id, &zero, s, &io);
    for (int64_t b = 0; b < n; b++)
      for (int64_t o = 0; o < dout; o++) {
        double v = s[b * dout + o] + m->w[l][o * (din + 1) + din];
        s[b * dout + o] = l + 1 < m->n_layers && v < 0 ? 0.0 : v; /* ReLU but on the logits */
      }
  }
  int64_t classes = m->d_out[m->n_layers - 1];
  const double *z = m->act[m->n_layers];
  for (int64_t b = 0; b < n; b++) {
    const double *zb = z + b * classes;
    int64_t arg = 0;
    for (int64_t c = 1; c < classes; c++)
      if (zb[c] > zb[arg]) arg = c;
    double sum = 0.0;
    for (int64_t c = 0; c < classes; c++) sum += exp(zb[c] - zb[arg]);
    if (labels[b] >= classes) PRSVD_ERR(PRSVD_ERR_INPUT, "label %d of sample %lld is not below %lld classes", labels[b], (long long)b, (long long)classes);
    *loss_sum += log(sum) - (zb[labels[b]] - zb[arg]); /* -log softmax(z)_y */
    *correct += arg == labels[b];
  }
  return PRSVD_OK;
}

int mlp_backward(struct mlp *m, int64_t n, const uint8_t *labels, double scale) {
  int in, id, io, ild;
  const double one = 1.0, zero = 0.0;
  int L = m->n_layers;
  int64_t classes = m->d_out[L - 1];
  PRSVD_CHECK(prsvd_to_int(n, "batch", &in));
  /* dloss/dz = softmax(z) - onehot(y), per sample */
  for (int64_t b = 0; b < n; b++) {
    const double *zb = m->act[L] + b * classes;
    double *db = m->delta[L - 1] + b * classes, zmax = zb[0], sum = 0.0;
    for (int64_t c = 1; c < classes; c++) zmax = zb[c] > zmax ? zb[c] : zmax;
    for (int64_t c = 0; c < classes; c++) sum += (db[c] = exp(zb[c] - zmax));
    for (int64_t c = 0; c < classes; c++) db[c] = db[c] / sum - (c == labels[b]);
  }
  for (int l = L - 1; l >= 0; l--) {
    int64_t din = m->d_in[l], dout = m->d_out[l];
    PRSVD_CHECK(prsvd_to_int(din, "layer width", &id));
    PRSVD_CHECK(prsvd_to_int(dout, "layer width", &io));
    ild = id + 1;
    /* grad W' = scale Delta^T A (grad^T = scale A^T Delta, column-major), bias = scale 1^T Delta */
    if (n > 0) dgemm_("N", "T", &id, &io, &in, &scale, m->act[l], &id, m->delta[l], &io, &zero, m->grad[l], &ild);
    for (int64_t o = 0; o < dout; o++) {
      double sum = 0.0;
      for (int64_t b = 0; b < n; b++) sum += m->delta[l][b * dout + o];
      m->grad[l][o * (din + 1) + din] = scale * sum;
      if (n == 0)
        for (int64_t i = 0; i < din; i++) m->grad[l][o * (din + 1) + i] = 0.0;
    }
    if (l == 0 || n == 0) continue;
    /* Delta_{l-1} = (Delta_l W') .* [s_{l-1} > 0] */
    dgemm_("N", "N", &id, &in, &io, &one, m->w[l], &ild, m->delta[l], &io, &zero, m->delta[l - 1], &id);
    for (int64_t k = 0; k < n * din; k++)
      if (m->act[l][k] <= 0.0) m->delta[l - 1][k] = 0.0;
  }
  return PRSVD_OK;
}

struct mlp_opt {
  struct mlp_opt_params p;
  prsvd_kfac *kfac;
  int64_t t;
  double *v[MLP_MAX_LAYERS], *m2[MLP_MAX_LAYERS], *step[MLP_MAX_LAYERS];
  int n_layers;
};

int mlp_opt_create(const struct mlp *m, const struct mlp_opt_params *p, prsvd_kfac *kfac,
                   struct mlp_opt **out) {
  int status = PRSVD_OK;
  struct mlp_opt *o = NULL;
  *out = NULL;
  PRSVD_ALLOC(o, 1);
  o->p = *p;
  o->kfac = kfac;
  o->n_layers = m->n_layers;
  for (int l = 0; l < m->n_layers; l++) {
    int64_t size = m->d_out[l] * (m->d_in[l] + 1);
    PRSVD_ALLOC(o->v[l], size);
    if (p->method == MLP_ADAM) PRSVD_ALLOC(o->m2[l], size);
    if (p->method == MLP_KFAC) PRSVD_ALLOC(o->step[l], size);
  }
  *out = o;
  o = NULL;
done:
  mlp_opt_destroy(&o);
  return status;
}

int mlp_opt_update(struct mlp_opt *o, struct mlp *m) {
  const struct mlp_opt_params *p = &o->p;
  o->t++;
  for (int l = 0; l < m->n_layers; l++) {
    int64_t size = m->d_out[l] * (m->d_in[l] + 1);
    double *w = m->w[l], *g = m->grad[l], *v = o->v[l];
    if (p->method == MLP_ADAM) {
      double c1 = 1.0 - pow(p->beta1, (double)o->t), c2 = 1.0 - pow(p->beta2, (double)o->t);
      for (int64_t k = 0; k < size; k++) {
        v[k] = p->beta1 * v[k] + (1.0 - p->beta1) * g[k];
        o->m2[l][k] = p->beta2 * o->m2[l][k] + (1.0 - p->beta2) * g[k] * g[k];
        w[k] -= p->lr * (v[k] / c1) / (sqrt(o->m2[l][k] / c2) + p->eps);
      }
      continue;
    }
    if (p->method == MLP_KFAC) {
      /* Delta W = (G + lambda_G I)^-1 grad (A + lambda_A I)^-1 */
      PRSVD_CHECK(prsvd_kfac_precondition(o->kfac, l, g, m->d_in[l] + 1, o->step[l], m->d_in[l] + 1));
      g = o->step[l];
    }
    for (int64_t k = 0; k < size; k++) {
      v[k] = p->momentum * v[k] + g[k];
      w[k] -= p->lr * v[k];
    }
  }
  return PRSVD_OK;
}

void mlp_opt_destroy(struct mlp_opt **o) {
  if (!o || !*o) return;
  for (int l = 0; l < (*o)->n_layers; l++) free((*o)->v[l]), free((*o)->m2[l]), free((*o)->step[l]);
  free(*o);
  *o = NULL;
}
