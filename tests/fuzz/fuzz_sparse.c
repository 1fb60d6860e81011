/*
 * libFuzzer target: the structure checks of stored sparse matrices (io/h5sparse.c) on arrays
 * in memory, then every row read through the library as the algorithms read it
 * (prsvd_source_read_csr) and densified (prsvd_source_read).  Whatever the checks let through
 * must be safe to use: the sanitizers catch any access outside the arrays.
 *
 * Input: byte 0 rows - 1 (mod 32), byte 1 cols - 1 (mod 32), byte 2 the panel rows - 1 (mod
 * rows), bytes 3 and 4 how many entries indptr and indices have beyond (or short of) their
 * lengths (-2..2); then little-endian int16 values: rows + 1 for indptr, the rest the column
 * indices (data holds one 1.0 per index value).  The arrays are read as HDF5 datasets are
 * (sparse_memory.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "source_impl.h"
#include "sparse_memory.h"

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size) {
  static const struct prsvd_source_ops ops = {NULL, NULL, sparse_memory_read_csr};
  if (size < 5 || size > 4096) return 0;
  const int64_t rows = 1 + bytes[0] % 32, cols = 1 + bytes[1] % 32, panel = 1 + bytes[2] % rows;
  const int64_t n_values = (int64_t)(size - 5) / 2;
  struct sparse_memory m;
  int64_t *indptr, *indices, *values = calloc((size_t)n_values + 1, sizeof(int64_t));
  for (int64_t t = 0; t < n_values; t++) values[t] = (int16_t)(bytes[5 + 2 * t] | bytes[6 + 2 * t] << 8);
  m.len[PRSVD_SPARSE_INDPTR] = rows + 1 + (int64_t)(bytes[3] % 5) - 2;
  const int64_t n_ptr_values = n_values < rows + 1 ? n_values : rows + 1;
  m.len[PRSVD_SPARSE_DATA] = n_values - n_ptr_values;
  m.len[PRSVD_SPARSE_INDICES] = m.len[PRSVD_SPARSE_DATA] + (int64_t)(bytes[4] % 5) - 2;
  if (m.len[PRSVD_SPARSE_INDICES] < 0) m.len[PRSVD_SPARSE_INDICES] = 0;
  indptr = calloc((size_t)m.len[PRSVD_SPARSE_INDPTR] + 1, sizeof(int64_t));
  indices = calloc((size_t)m.len[PRSVD_SPARSE_INDICES] + 1, sizeof(int64_t));
  double *data = calloc((size_t)m.len[PRSVD_SPARSE_DATA] + 1, sizeof(double));
  for (int64_t t = 0; t < m.len[PRSVD_SPARSE_INDPTR] && t < n_ptr_values; t++) indptr[t] = values[t];
  for (int64_t t = 0; t < m.len[PRSVD_SPARSE_INDICES] && t < m.len[PRSVD_SPARSE_DATA]; t++)
    indices[t] = values[n_ptr_values + t];
  for (int64_t t = 0; t < m.len[PRSVD_SPARSE_DATA]; t++) data[t] = 1.0;
  m.indptr = indptr, m.indices = indices, m.data = data;

  struct prsvd_sparse_arrays a = {"fuzz.h5:/X", rows, cols, m.len[PRSVD_SPARSE_DATA], sparse_memory_read, &m};
  const int64_t shape[2] = {rows, cols};
  prsvd_source *src = NULL;
  double *dense = malloc(sizeof(double) * (size_t)(panel * cols));
  struct prsvd_csr csr = {0};
  if (prsvd_sparse_check_layout(&a, "'/X' in 'fuzz.h5'", "csr", shape, m.len[PRSVD_SPARSE_INDICES],
                                m.len[PRSVD_SPARSE_INDPTR]) == PRSVD_OK &&
      prsvd_source_create_sparse(rows, cols, a.nnz, a.name, &ops, &a, &src) == PRSVD_OK) {
    for (int64_t r = 0; r < rows; r += panel) {
      const int64_t nr = rows - r < panel ? rows - r : panel;
      if (prsvd_source_read_csr(src, r, nr, &csr) != PRSVD_OK) break;
      double sum = 0.0; /* what the sketches do with a panel: every entry of every row */
      for (int64_t i = 0; i < nr; i++)
        for (int64_t t = csr.indptr[i]; t < csr.indptr[i + 1]; t++) sum += csr.data[t] * (double)csr.indices[t];
      if (sum != sum) abort();
      if (prsvd_source_read(src, r, nr, dense) != PRSVD_OK) break;
    }
  }
  prsvd_csr_free(&csr);
  prsvd_source_destroy(&src);
  prsvd_error_clear();
  free(dense);
  free(values);
  free(indptr);
  free(indices);
  free(data);
  return 0;
}
