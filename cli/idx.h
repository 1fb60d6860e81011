/*
 * The idx format of MNIST and Fashion-MNIST (LeCun et al.), read as a matrix, gzipped or not:
 *
 *   magic:  0x00 0x00 TYPE NDIMS       TYPE 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
 *                                           0x0D float32, 0x0E float64
 *   NDIMS big-endian uint32 sizes, then the items in C order, big-endian.
 *
 * An N x d1 x ... x dk file reads as the N x (d1 ... dk) matrix whose row i is item i
 * flattened (images: N x rows*cols); a 1-D file (labels) as N x 1.  Reading is sequential,
 * row panel after row panel, through zlib, which reads a plain file as it is.  Every check
 * names the file: the magic number, the type, zero or oversized dimensions, a file that
 * ends before its data (truncated) or holds bytes after it, and a corrupt gzip stream are
 * input errors (PRSVD_ERR_INPUT).
 *
 * Part of the library core: no HDF5, no MPI collectives (every function is local).
 */
#ifndef PRSVD_IDX_H
#define PRSVD_IDX_H

#include <stdint.h>

#include "prsvd.h"

#define PRSVD_IDX_MAX_DIMS 16

struct prsvd_idx_info {
  int type;          /* the type byte: 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E */
  const char *type_name; /* "uint8", ... "float64" */
  int element_bytes;
  int exact_in_float32; /* 1 if every value converts to float32 exactly (8/16-bit, float32) */
  int ndims;
  int64_t dims[PRSVD_IDX_MAX_DIMS];
  int64_t rows, cols; /* dims[0] x (dims[1] * ... ), cols = 1 for a 1-D file */
  int gzipped;
};

typedef struct prsvd_idx prsvd_idx;

/* Open path (plain or gzip) and check its header. */
int prsvd_idx_open(const char *path, prsvd_idx **idx);
const struct prsvd_idx_info *prsvd_idx_get_info(const prsvd_idx *idx);
/* The next nrows rows, converted to double, into rows (nrows x cols, row-major). */
int prsvd_idx_read_rows(prsvd_idx *idx, int64_t nrows, double *rows);
/* After every row was read: fail if the file holds anything more, or its gzip stream is
 * corrupt (the CRC is checked at the end of the stream). */
int prsvd_idx_finish(prsvd_idx *idx);
/* Sets *idx to NULL; accepts NULL. */
void prsvd_idx_close(prsvd_idx **idx);

#endif
