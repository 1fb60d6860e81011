/* Library-internal access to a source (the algorithms' side of struct prsvd_source). */
#ifndef PRSVD_SOURCE_IMPL_H
#define PRSVD_SOURCE_IMPL_H

#include "prsvd.h"

/* The same as float32: read_rows_f32, or float64 rows converted one at a time; the panel
 * holds 2^*exp times the rows (read_rows_f32's exp; 0 for rows converted one at a time). */
int prsvd_source_read_f32(prsvd_source *s, int64_t row0, int64_t nrows, float *panel, int *exp);
/* Panel-sized buffers s keeps for itself beside the pass's, in panels of the pass's type:
 * its layout's scratch_panels, and for float32 panels its f32_staging too (0 for a sparse s). */
int prsvd_source_own_panels(const prsvd_source *s, int single);
/* 1 if s lends rows in place (lend_rows) of the panel type: float32 (single) or float64. */
int prsvd_source_lends(const prsvd_source *s, int single);
/* Rows [row0, row0 + nrows) lent in place, counted as file bytes; not collective.  Give them
 * back with prsvd_source_return (which accepts an empty lent and clears it): an error if
 * they were not the source's while lent, so the pass that used them fails. */
int prsvd_source_lend(prsvd_source *s, int64_t row0, int64_t nrows, struct prsvd_rows_lent *lent);
int prsvd_source_return(prsvd_source *s, struct prsvd_rows_lent *lent);
/* Bytes of rows lent so far. */
int64_t prsvd_source_lent_bytes(const prsvd_source *s);
/* The name errors give the source (e.g. a K-FAC factor over prsvd_source_memory). */
int prsvd_source_rename(prsvd_source *s, const char *name);
/* Sparse rows of a sparse source (prsvd_source_nnz >= 0), checked by prsvd_csr_check: what
 * it returns is safe to index; each row's entries sorted by column, duplicates of one (i, j)
 * summed into one (scipy's meaning of them), so panel->nnz may be fewer than stored.  Not
 * collective. */
int prsvd_source_read_csr(prsvd_source *s, int64_t row0, int64_t nrows, struct prsvd_csr *panel);
/* The structure of a CSR panel of rows [row0, row0 + nrows) of a matrix with `cols` columns
 * named `name`: indptr from 0 to nnz, non-decreasing, column indices inside [0, cols).
 * PRSVD_ERR_INPUT naming the first bad row. */
int prsvd_csr_check(const struct prsvd_csr *p, int64_t nrows, int64_t cols, const char *name,
                    int64_t row0);

/* A view of columns [col0, col0 + ncols) of a dense source s (kept alive by the caller): a
 * rows x ncols source whose reads go through s's read_block (float64 or float32), counted in
 * s's file bytes; its layout is s's.  PRSVD_ERR_USAGE, naming s, for a sparse source or one
 * without read_block (HDF5 column panels).  What rank (i, j) of a 2-D grid streams. */
int prsvd_source_columns(prsvd_source *s, int64_t col0, int64_t ncols, prsvd_source **view);
/* 1 if s can be read by column blocks (dense, with read_block). */
int prsvd_source_has_blocks(const prsvd_source *s);
/* A view's first column in its underlying source (0 for any other source). */
int64_t prsvd_source_col0(const prsvd_source *s);

#endif
