/* The test matrices of the sketches (sketch.h): the named kinds, sparse sign maps. */
#include "sketch.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "rng.h"

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
