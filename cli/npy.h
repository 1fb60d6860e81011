/*
 * NumPy's .npy format (numpy.save; format versions 1.0 and 2.0), read as a matrix: a 2-D
 * array in C order of dtype <f8, <f4, <i4, <i8 or |u1.  Anything else (another dtype, a
 * big-endian one, Fortran order, another number of dimensions, a malformed header, a file
 * shorter or longer than its header says) is an input error naming the file.
 *
 * The data are uncompressed, so rows are read at any offset (pread): every rank can read its
 * own block of rows.  Part of the library core: no HDF5, no MPI (every function is local).
 */
#ifndef PRSVD_NPY_H
#define PRSVD_NPY_H

#include <stdint.h>

#include "prsvd.h"

struct prsvd_npy_info {
  char descr[16];        /* "<f8", ... */
  const char *type_name; /* "float64", ... */
  int element_bytes;
  int exact_in_float32;  /* 1 for |u1 and <f4 */
  int64_t rows, cols;
  int64_t data_offset;   /* bytes before the data */
};

typedef struct prsvd_npy prsvd_npy;

/* 1 if the file starts with the .npy magic string "\x93NUMPY" (0 if not or unreadable). */
int prsvd_npy_is_npy(const char *path);
/* Open path and check its header and size. */
int prsvd_npy_open(const char *path, prsvd_npy **npy);
const struct prsvd_npy_info *prsvd_npy_get_info(const prsvd_npy *npy);
/* Rows [row0, row0 + nrows) as doubles into rows (nrows x cols, row-major). */
int prsvd_npy_read_rows(prsvd_npy *npy, int64_t row0, int64_t nrows, double *rows);
/* Sets *npy to NULL; accepts NULL. */
void prsvd_npy_close(prsvd_npy **npy);

#endif
