/*
 * The structure of a stored sparse matrix: the three 1-D arrays of its CSR form (a CSC matrix
 * is the CSR of its transpose), read through a callback, so that its checks run the same on
 * HDF5 datasets (h5sparse.c) and on arrays in memory (the fuzz target tests/fuzz/fuzz_sparse.c).
 * Private to io/ and its tests.
 */
#ifndef PRSVD_H5SPARSE_H
#define PRSVD_H5SPARSE_H

#include "prsvd.h"

enum prsvd_sparse_array { PRSVD_SPARSE_INDPTR, PRSVD_SPARSE_INDICES, PRSVD_SPARSE_DATA };

struct prsvd_sparse_arrays {
  const char *name;         /* "FILE:GROUP", in the messages about rows */
  int64_t rows, cols, nnz;  /* the streamed matrix; nnz: entries of data */
  /* entries [start, start + count) of an array (indptr and indices as int64, data as double);
   * nonzero if they are not all there */
  int (*read)(void *ctx, enum prsvd_sparse_array which, int64_t start, int64_t count, void *out);
  void *ctx;
};

/* On open: the lengths of indices (n_indices) and indptr (n_indptr) agree with data and with
 * the shape, and indptr runs from 0 to nnz.  where: "'GROUP' in 'FILE'"; format and shape (as
 * stored) for the message. */
int prsvd_sparse_check_layout(const struct prsvd_sparse_arrays *a, const char *where,
                              const char *format, const int64_t shape[2], int64_t n_indices,
                              int64_t n_indptr);
/* Rows [row0, row0 + nrows) as a CSR panel, indptr rebased to 0 (struct prsvd_csr). */
int prsvd_sparse_read_rows(const struct prsvd_sparse_arrays *a, int64_t row0, int64_t nrows,
                           struct prsvd_csr *p);

#endif
