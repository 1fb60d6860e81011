/*
 * A stored sparse matrix's three arrays held in memory and read as struct prsvd_sparse_arrays
 * reads HDF5 datasets (io/h5sparse.h): a read reaching outside an array fails, as an HDF5
 * selection outside a dataset does.  Shared by the fuzz target and the unit tests.
 */
#ifndef PRSVD_SPARSE_MEMORY_H
#define PRSVD_SPARSE_MEMORY_H

#include <string.h>

#include "h5sparse.h"

struct sparse_memory {
  int64_t len[3]; /* by enum prsvd_sparse_array */
  const int64_t *indptr, *indices;
  const double *data;
};

static int sparse_memory_read(void *ctx, enum prsvd_sparse_array which, int64_t start, int64_t count,
                              void *out) {
  const struct sparse_memory *m = ctx;
  if (count == 0) return 0;
  if (start < 0 || count < 0 || start > m->len[which] - count) return -1;
  const void *src = which == PRSVD_SPARSE_INDPTR    ? (const void *)(m->indptr + start)
                    : which == PRSVD_SPARSE_INDICES ? (const void *)(m->indices + start)
                                                    : (const void *)(m->data + start);
  memcpy(out, src, 8 * (size_t)count);
  return 0;
}

/* struct prsvd_source_ops.read_csr over a struct prsvd_sparse_arrays (ctx). */
static int sparse_memory_read_csr(void *ctx, int64_t row0, int64_t nrows, struct prsvd_csr *panel) {
  return prsvd_sparse_read_rows(ctx, row0, nrows, panel);
}

#endif
