/* Private helpers of io/: HDF5 error conventions and object lookup. */
#ifndef PRSVD_H5UTIL_H
#define PRSVD_H5UTIL_H

#include <hdf5.h>

#include "prsvd_h5.h"

#include "../src/error.h"

/* A negative hid_t/herr_t becomes code with the message; HDF5's stack printed under debug. */
#define H5_TRY(expr, code, ...)                                  \
  do {                                                           \
    if ((expr) < 0) {                                            \
      prsvd_h5_show_stack();                                     \
      PRSVD_FAIL((code), __VA_ARGS__);                           \
    }                                                            \
  } while (0)

void prsvd_h5_show_stack(void);
/* The size and mtime of a file when it was opened, to notice it changing under a run. */
struct prsvd_file_stamp {
  long long size, mtime, mtime_ns;
};
int prsvd_file_stamp(const char *path, struct prsvd_file_stamp *st);
/* PRSVD_ERR_INPUT naming the file and rows if it no longer matches its stamp. */
int prsvd_file_unchanged(const char *path, const struct prsvd_file_stamp *st, int64_t row0,
                         int64_t nrows);

/* A file-access list for comm with the MPI-IO driver and the hints of
 * prsvd_h5_set_mpiio_hints. */
hid_t prsvd_h5_fapl(MPI_Comm comm);
/* Checks that each component of path exists and the last one is a dataset. */
int prsvd_h5_find_dataset(hid_t file, const char *fname, const char *path);
/* "float64", "uint16", ...; 0 if the class is unsupported (then *what names it). */
int prsvd_h5_type_name(hid_t type, char *out, size_t len);

#endif
