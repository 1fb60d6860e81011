/* Private helpers of io/: HDF5 error conventions and object lookup. */
#ifndef PRSVD_H5UTIL_H
#define PRSVD_H5UTIL_H

#include <hdf5.h>

#include "prsvd_h5.h"

#include "error.h"

/* A negative hid_t/herr_t becomes code with the message; HDF5's stack printed under debug. */
#define H5_TRY(expr, code, ...)                                  \
  do {                                                           \
    if ((expr) < 0) {                                            \
      prsvd_h5_show_stack();                                     \
      PRSVD_FAIL((code), __VA_ARGS__);                           \
    }                                                            \
  } while (0)

void prsvd_h5_show_stack(void);
/* Collective: a scalar uint64 attribute of object obj (a checksum), like prsvd_h5_attr_int. */
int prsvd_h5_attr_uint64(prsvd_h5_writer *w, const char *obj, const char *name, uint64_t v);
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
/* Every HDF5 file prsvd reads is opened here, read-only with fapl (H5P_DEFAULT: POSIX): it
 * must be a regular file (paths.h: a FIFO would block the open forever), then HDF5's (a
 * NetCDF-3 file is named as such).  `what` names it in messages ("input", "checkpoint"). */
int prsvd_h5_open_ro(const char *file, hid_t fapl, const char *what, hid_t *out);
/* The same without messages, for probes that only ask (-1 if it cannot be opened). */
hid_t prsvd_h5_probe_ro(const char *file);
/* Rank 0's check that path (`what`: "output") is none of others (prsvd_h5_check_output). */
int prsvd_h5_check_distinct(const char *path, const char *what, const struct prsvd_h5_role *others);
/* The writer's HDF5 file, and marking it a user's output whose commit may replace the name
 * (io/h5update.c, which starts from prsvd_h5_writer_create_temp). */
hid_t prsvd_h5_writer_file(const prsvd_h5_writer *w);
void prsvd_h5_writer_mark_output(prsvd_h5_writer *w, int replace);
/* Collective, right after the writer was made from the existing target (pca --anndata): the
 * commit refuses to replace the target if it changed since (inode, size, mtime: another
 * writer), gives the new version the target's mode (and owner, as root), and fsyncs it
 * before the rename. */
int prsvd_h5_writer_keep(prsvd_h5_writer *w);
/* Rank 0: remove the temporaries ".NAME.tmp.HOST.PID" of path whose process on this host is
 * gone (a killed run's), saying so on stderr. */
void prsvd_h5_remove_stale_temps(const char *path);
/* Checks that each component of path exists and the last one is a dataset. */
int prsvd_h5_find_dataset(hid_t file, const char *fname, const char *path);
/* A string attribute of obj (fixed or variable length), or "" if absent or not one string. */
void prsvd_h5_string_attr(hid_t obj, const char *name, char *out, size_t len);
/* The name of a dataset's element type ("float64", "uint16", ...) into out, or
 * PRSVD_ERR_INPUT naming `what` ("dataset '/A' in 'f.h5'") and the type unless it is an
 * integer or float type that HDF5 converts to float64 and float32 (unconvertible in h5util.c). */
int prsvd_h5_number_type(hid_t type, const char *what, char *out, size_t len);

/* Kernel readahead of the row panels of a compressed dataset (io/h5readahead.c): fd -1 when
 * off (not filtered chunks, not the sec2 driver, or PRSVD_NO_READAHEAD=1). */
struct prsvd_readahead {
  int fd;                         /* the sec2 driver's, owned by HDF5 */
  int64_t rows, cols;             /* as stored */
  int64_t chunk_rows, chunk_cols;
};
void prsvd_readahead_open(struct prsvd_readahead *ra, hid_t file, hid_t fapl, hid_t dcpl, int64_t rows,
                          int64_t cols);
/* Advise the kernel that stored rows [row0, row0 + nrows) will be read soon (not collective;
 * the thread that reads the dataset). */
void prsvd_readahead_rows(const struct prsvd_readahead *ra, hid_t dset, int64_t row0, int64_t nrows);

/* Rows of a contiguous native-type dataset lent as a mapping of the file (io/h5map.c). */
struct prsvd_h5map {
  int fd;             /* a duplicate of the sec2 driver's descriptor; -1: rows are not lent */
  int elem;           /* bytes of an element (8 float64, 4 float32) */
  int64_t offset;     /* of element [0][0] in the file */
  int64_t row_bytes;
  long page;
};
/* Whether the rows can be lent (returns the element bytes, 0 if not: then mp->fd = -1).
 * Any doubt means no: the source then reads through HDF5. */
int prsvd_h5map_open(struct prsvd_h5map *mp, hid_t file, hid_t fapl, hid_t dset, hid_t type, hid_t dcpl,
                     int64_t rows, int64_t cols);
/* Map stored rows [row0, row0 + nrows) read-only, their pages read in (MAP_POPULATE);
 * `what` names the dataset in errors.  Not collective; no HDF5 call. */
int prsvd_h5map_lend(const struct prsvd_h5map *mp, const char *what, int64_t row0, int64_t nrows,
                     struct prsvd_rows_lent *lent);
/* Unmap them: PRSVD_ERR_INPUT naming `file` if it was truncated under the mapping (a read of
 * it then got zeros, where the process would have died of SIGBUS) or changed from `stamp`
 * while they were lent. */
int prsvd_h5map_return(struct prsvd_rows_lent *lent, const char *file, const struct prsvd_file_stamp *stamp);
/* 1 once rows lent in this process were not their file's while lent (prsvd_h5map_return's
 * error, or a fault its return has not reported yet). */
int prsvd_h5map_changed(void);
void prsvd_h5map_close(struct prsvd_h5map *mp);

/* Every source of the virtual dataset (dcpl its creation list, dapl its access list) where
 * HDF5 looks for it (io/h5virtual.c): info->virtual_sources counts the mappings,
 * info->missing_sources those whose file or dataset is missing or smaller than the mapping
 * (the first named in info->first_missing); one is PRSVD_ERR_INPUT naming it unless
 * allow_missing.  Not collective. */
int prsvd_h5_virtual_sources(hid_t file, hid_t dcpl, hid_t dapl, const char *fname, const char *dname,
                             int allow_missing, struct prsvd_h5_info *info);

/* NetCDF-4 conventions of a variable (io/h5netcdf.c). */
#define PRSVD_NC_MAX_MISSING 16 /* a _FillValue and up to 15 missing_value entries */
struct prsvd_nc_var {
  int netcdf;                 /* a NetCDF-4 variable: the rest applies */
  int exact_float;            /* float32 holds every stored value exactly (else the source
                               * checks and unpacks float32 panels through float64) */
  double wrap;                /* _Unsigned: 2^bits, added to a negative stored value; else 0 */
  int packed;                 /* x = scale * stored + offset */
  double scale, offset;
  int n_missing;              /* stored values (through wrap) that mean "missing" */
  double missing[PRSVD_NC_MAX_MISSING];
  const char *missing_what[PRSVD_NC_MAX_MISSING];
  double valid_min, valid_max;  /* stored values outside are missing */
};
/* 1 if file is a NetCDF-3 file (classic, 64-bit offset or CDF-5): not HDF5. */
int prsvd_nc_classic(const char *file);
/* Fills v (v->netcdf = 0 for a plain HDF5 dataset) and a one-line description; fails on a
 * NetCDF dimension that holds no values. */
int prsvd_nc_inspect(hid_t file, hid_t dset, const char *fname, const char *dname,
                     struct prsvd_nc_var *v, char *describe, size_t len);
/* A panel as a dense source hands it out: rows [row0, row0 + rows) of the streamed matrix,
 * row-major, cols wide, float32 (single) or float64; transposed: the streamed rows are the
 * dataset's columns (column panels). */
struct prsvd_nc_panel {
  void *data;
  int single, transposed;
  int64_t row0, rows, cols;
  int64_t col0;  /* the panel's first column (a column block of a 2-D grid) */
  int to_nan;    /* a missing value becomes NaN (--missing drop) instead of an error */
};
/* Checks a panel for missing values, naming the dataset's row and column, and unpacks it. */
int prsvd_nc_apply(const struct prsvd_nc_var *v, const char *fname, const char *dname,
                   const struct prsvd_nc_panel *panel);

/* The features of an N-D or 2-D dense dataset (io/h5features.c): the sample axis, dimension
 * names, weights and flags of f from the dataset (what names it in messages). */
int prsvd_features_open(hid_t dset, int nd, const hsize_t *dims, const char *what, struct prsvd_h5_features *f);
/* Flags the features with a value that is not finite, zeroes every flagged column, and
 * multiplies by the weights: a row panel nrows x f->n, float32 (single) or float64. */
void prsvd_features_apply(struct prsvd_h5_features *f, void *panel, int single, int64_t nrows);

/* The filters of a dataset creation property list as `info` prints them: "gzip(4), shuffle",
 * or "none". */
void prsvd_h5_describe_filters(hid_t dcpl, char *out, size_t len);

/* The names of the dimension scales attached to each of a dataset's nd dimensions
 * (DIMENSION_LIST, as NetCDF-4 and h5py write them) into names (nd strings of name_len bytes,
 * "" where there is none); with scales, the scale datasets themselves, open (-1 where none:
 * the caller closes the others). */
void prsvd_h5_dimension_scales(hid_t dset, int nd, char *names, size_t name_len, hid_t *scales);

/* The files a run reads besides the one named (an external link's target, a virtual dataset's
 * sources): noted as they are opened, and every output and checkpoint is compared with them
 * (not thread-safe: the opening thread only). */
void prsvd_h5_note_read(const char *path);
/* The file an open object lives in: another than the one opened when a link led there. */
void prsvd_h5_note_object_file(hid_t obj);
int prsvd_h5_read_files(const char *const **paths);

#endif
