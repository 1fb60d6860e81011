/* Library-internal access to a source (the algorithms' side of struct prsvd_source). */
#ifndef PRSVD_SOURCE_IMPL_H
#define PRSVD_SOURCE_IMPL_H

#include "prsvd.h"

/* Rows [row0, row0 + nrows) into panel, row-major; checks the range. Not collective. */
int prsvd_source_read(prsvd_source *s, int64_t row0, int64_t nrows, double *panel);
/* Bytes one pass reads, as float64 values (and int64 indices for a sparse source). */
double prsvd_source_pass_bytes(const prsvd_source *s);
/* The name errors give the source (e.g. a K-FAC factor over prsvd_source_memory). */
int prsvd_source_rename(prsvd_source *s, const char *name);
/* Sparse rows of a sparse source (prsvd_source_nnz >= 0). Not collective. */
int prsvd_source_read_csr(prsvd_source *s, int64_t row0, int64_t nrows, struct prsvd_csr *panel);

#endif
