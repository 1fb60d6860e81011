/* Panel sources over 2-D HDF5 datasets, and `prsvd info`'s description of them.  Each rank
 * reads its own hyperslabs: with POSIX reads (the sec2 driver: no MPI inside HDF5) or through
 * MPI-IO, independently or collectively (then a rank whose rows are done joins the other
 * ranks' reads with zero rows).  Panels run along the dataset's rows, or along its columns:
 * then the source streams the transpose, each panel of columns read whole into a scratch
 * buffer and transposed into the panel. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5util.h"
#include "prsvd_h5.h"

struct h5_source {
  hid_t file, dset, fspace, dxpl;
  int64_t rows, cols;     /* of the dataset as stored */
  int by_columns;
  void *scratch;          /* column panels: rows x panel columns as read */
  size_t scratch_bytes;
  double *wide;           /* float32 panels read through float64 (staged) */
  size_t wide_count;
  int wide_float;         /* stored as a float wider than float32 */
  char *fname, *dname;
  struct prsvd_file_stamp stamp;
  struct prsvd_nc_var nc;  /* NetCDF-4 packing and missing values */
  struct prsvd_readahead ra; /* of the next row panel */
  struct prsvd_h5map map;    /* rows lent from the page cache */
  char *what;                /* "'/A' of 'file.h5'" for the mapping's errors */
  /* an N-D dataset, or a 2-D one whose samples are its columns (struct prsvd_h5_features):
   * a row panel is the hyperslab of samples [row0, row0 + nrows) along axis sa, read as
   * outer x nrows x inner and, if outer > 1, permuted into nrows x (outer inner) */
  int nd_path, nd, sa;
  hsize_t dims[PRSVD_H5_MAX_DIMS];
  int64_t outer, inner;
  struct prsvd_h5_features *feat; /* the features' flags and weights, or NULL */
};

static void h5_source_close(void *ctx) {
  struct h5_source *s = ctx;
  if (!s) return;
  if (s->fspace > 0) H5Sclose(s->fspace);
  if (s->dxpl > 0) H5Pclose(s->dxpl);
  if (s->dset > 0) H5Dclose(s->dset);
  if (s->file > 0) H5Fclose(s->file);
  prsvd_h5map_close(&s->map);
  free(s->what);
  free(s->scratch);
  free(s->wide);
  free(s->fname);
  free(s->dname);
  free(s);
}

/* panel (cols x rows) = in^T, in rows x cols, both row-major; by 64 x 64 blocks */
#define TRANSPOSE(T, in_, out_, rows, cols)                                                 \
  do {                                                                                      \
    const T *in = (const T *)(in_);                                                         \
    T *out = (T *)(out_);                                                                   \
    for (int64_t i0 = 0; i0 < (rows); i0 += 64)                                             \
      for (int64_t j0 = 0; j0 < (cols); j0 += 64)                                           \
        for (int64_t i = i0; i < i0 + 64 && i < (rows); i++)                                \
          for (int64_t j = j0; j < j0 + 64 && j < (cols); j++) out[j * (rows) + i] = in[i * (cols) + j]; \
  } while (0)

/* Rows [row0, row0 + nrows) restricted to columns [col0, col0 + ncols) (column panels: all of
 * the streamed row, col0 = 0), converted by HDF5 to memtype (float64 or float32). */
static int h5_read(struct h5_source *s, int64_t row0, int64_t nrows, int64_t col0, int64_t ncols,
                   hid_t memtype, void *panel) {
  int status = PRSVD_OK;
  hid_t mspace = -1;
  hsize_t start[2] = {(hsize_t)row0, (hsize_t)col0}, count[2] = {(hsize_t)nrows, (hsize_t)ncols};
  void *into = panel;
  const size_t elem = H5Tget_size(memtype);
  if (s->nd_path && s->outer > 1) { /* outer x nrows x inner, permuted below */
    const size_t bytes = elem * (size_t)s->outer * (size_t)nrows * (size_t)s->inner;
    if (bytes > s->scratch_bytes) {
      free(s->scratch);
      s->scratch_bytes = 0;
      if (!(s->scratch = malloc(bytes))) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a panel of %zu bytes", bytes);
      s->scratch_bytes = bytes;
    }
    if (nrows > 0) into = s->scratch;
  }
  if (s->by_columns) { /* columns [row0, row0 + nrows) of the stored rows x cols */
    start[0] = 0, start[1] = (hsize_t)row0, count[0] = (hsize_t)s->rows, count[1] = (hsize_t)nrows;
    const size_t bytes = elem * (size_t)s->rows * (size_t)nrows;
    if (bytes > s->scratch_bytes) {
      free(s->scratch);
      s->scratch_bytes = 0;
      if (!(s->scratch = malloc(bytes))) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a column panel of %zu bytes", bytes);
      s->scratch_bytes = bytes;
    }
    if (s->scratch) into = s->scratch;
  }
  if (nrows == 0) { /* a collective read this rank only joins */
    hsize_t one[2] = {1, 1};
    H5_TRY(mspace = H5Screate_simple(2, one, NULL), PRSVD_ERR_NOMEM, "cannot create a dataspace");
    H5_TRY(H5Sselect_none(mspace), PRSVD_ERR_INTERNAL, "cannot select nothing");
    H5_TRY(H5Sselect_none(s->fspace), PRSVD_ERR_INTERNAL, "cannot select nothing");
  } else if (s->nd_path) {
    hsize_t nd_start[PRSVD_H5_MAX_DIMS], nd_count[PRSVD_H5_MAX_DIMS];
    for (int d = 0; d < s->nd; d++) nd_start[d] = 0, nd_count[d] = s->dims[d];
    nd_start[s->sa] = (hsize_t)row0, nd_count[s->sa] = (hsize_t)nrows;
    PRSVD_CHECK(prsvd_file_unchanged(s->fname, &s->stamp, row0, nrows));
    H5_TRY(H5Sselect_hyperslab(s->fspace, H5S_SELECT_SET, nd_start, NULL, nd_count, NULL), PRSVD_ERR_INPUT,
           "cannot select samples [%lld, %lld) of '%s' in '%s'", (long long)row0, (long long)(row0 + nrows), s->dname,
           s->fname);
    H5_TRY(mspace = H5Screate_simple(s->nd, nd_count, NULL), PRSVD_ERR_NOMEM, "cannot create a dataspace");
  } else {
    PRSVD_CHECK(prsvd_file_unchanged(s->fname, &s->stamp, row0, nrows));
    H5_TRY(H5Sselect_hyperslab(s->fspace, H5S_SELECT_SET, start, NULL, count, NULL),
           PRSVD_ERR_INPUT, "cannot select %s [%lld, %lld) of '%s' in '%s'", s->by_columns ? "columns" : "rows",
           (long long)row0, (long long)(row0 + nrows), s->dname, s->fname);
    H5_TRY(mspace = H5Screate_simple(2, count, NULL), PRSVD_ERR_NOMEM, "cannot create a dataspace");
  }
  H5_TRY(H5Dread(s->dset, memtype, mspace, s->fspace, s->dxpl, into),
         PRSVD_ERR_INPUT, "cannot read dataset '%s' of '%s': %s [%lld, %lld) unreadable",
         s->dname, s->fname, s->by_columns ? "columns" : "rows", (long long)row0, (long long)(row0 + nrows));
  if (!s->by_columns && !s->nd_path) prsvd_readahead_rows(&s->ra, s->dset, row0 + nrows, nrows); /* the next panel */
  if (s->nd_path && s->outer > 1 && nrows > 0) { /* outer x nrows x inner into nrows x outer x inner */
    const size_t line = elem * (size_t)s->inner;
    for (int64_t o = 0; o < s->outer; o++)
      for (int64_t r = 0; r < nrows; r++)
        memcpy((char *)panel + ((size_t)r * (size_t)s->outer + (size_t)o) * line,
               (const char *)into + ((size_t)o * (size_t)nrows + (size_t)r) * line, line);
  }
  if (s->by_columns && nrows > 0) {
    if (elem == sizeof(float)) TRANSPOSE(float, into, panel, s->rows, nrows);
    else TRANSPOSE(double, into, panel, s->rows, nrows);
  }
  if (s->nc.netcdf && nrows > 0) {
    const struct prsvd_nc_panel np = {panel, elem == sizeof(float), s->by_columns, row0, nrows,
                                      s->by_columns ? s->rows : ncols, col0,
                                      s->feat && s->feat->missing == PRSVD_H5_MISSING_DROP};
    PRSVD_TRY(prsvd_nc_apply(&s->nc, s->fname, s->dname, &np));
  }
done:
  if (mspace >= 0) H5Sclose(mspace);
  return status;
}

/* The length of a streamed row: the stored rows for column panels. */
static int64_t row_length(const struct h5_source *s) { return s->by_columns ? s->rows : s->cols; }

static int h5_read_rows(void *ctx, int64_t row0, int64_t nrows, double *panel) {
  struct h5_source *s = ctx;
  PRSVD_CHECK(h5_read(s, row0, nrows, 0, row_length(s), H5T_NATIVE_DOUBLE, panel));
  if (s->feat && nrows > 0) prsvd_features_apply(s->feat, panel, 0, nrows);
  return PRSVD_OK;
}

/* 1 if float32 panels are read through a float64 one (s->wide): values float32 may not hold,
 * float64 (1e-50 and 1e50 would come out of HDF5's conversion 0 and Inf) or a NetCDF variable
 * whose stored values float32 cannot hold exactly (32- and 64-bit integers, float64), checked
 * and unpacked in float64 where its missing values and limits compare with the values as
 * stored.  The float64 panel counts against the memory budget (layout.f32_staging). */
static int staged(const struct h5_source *s) { return s->nc.netcdf ? !s->nc.exact_float : s->wide_float; }

/* Float32 panels (h5_read's arguments, features: apply the features' flags and weights),
 * 2^*exp times the rows: staged ones read as float64, weighted, and narrowed by the power of
 * two that keeps them in float32's range (prsvd_narrow_rows); the others converted by HDF5. */
static int read_f32(struct h5_source *s, int64_t row0, int64_t nrows, int64_t col0, int64_t ncols, int features,
                    float *panel, int *exp) {
  *exp = 0;
  if (!staged(s)) {
    PRSVD_CHECK(h5_read(s, row0, nrows, col0, ncols, H5T_NATIVE_FLOAT, panel));
    if (features && s->feat && nrows > 0) prsvd_features_apply(s->feat, panel, 1, nrows);
    return PRSVD_OK;
  }
  const size_t count = (size_t)nrows * (size_t)ncols;
  if (count > s->wide_count || !s->wide) {
    free(s->wide);
    s->wide_count = 0;
    if (!(s->wide = malloc(sizeof(double) * (count ? count : 1))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a float64 panel of %zu values", count);
    s->wide_count = count;
  }
  PRSVD_CHECK(h5_read(s, row0, nrows, col0, ncols, H5T_NATIVE_DOUBLE, s->wide));
  if (features && s->feat && nrows > 0) prsvd_features_apply(s->feat, s->wide, 0, nrows);
  *exp = prsvd_narrow_rows(s->wide, (int64_t)count, panel);
  return PRSVD_OK;
}

static int h5_read_rows_f32(void *ctx, int64_t row0, int64_t nrows, float *panel, int *exp) {
  struct h5_source *s = ctx;
  return read_f32(s, row0, nrows, 0, row_length(s), 1, panel, exp);
}

/* Row panels only: a hyperslab of the columns [col0, col0 + ncols) (a 2-D process grid). */
static int h5_read_block(void *ctx, int64_t row0, int64_t nrows, int64_t col0, int64_t ncols,
                         int single, void *panel, int *exp) {
  *exp = 0;
  if (single) return read_f32(ctx, row0, nrows, col0, ncols, 0, panel, exp);
  return h5_read(ctx, row0, nrows, col0, ncols, H5T_NATIVE_DOUBLE, panel);
}

/* Rows lent in place (info->lends): the file checked unchanged, then mapped. */
static int h5_lend_rows(void *ctx, int64_t row0, int64_t nrows, struct prsvd_rows_lent *lent) {
  struct h5_source *s = ctx;
  PRSVD_CHECK(prsvd_file_unchanged(s->fname, &s->stamp, row0, nrows));
  return prsvd_h5map_lend(&s->map, s->what, row0, nrows, lent);
}

static int h5_return_rows(void *ctx, struct prsvd_rows_lent *lent) {
  const struct h5_source *s = ctx;
  return prsvd_h5map_return(lent, s->fname, &s->stamp);
}

/* The hints MPI-IO applies to the open input file, "key=value, ...", into out. */
static int hints_in_effect(hid_t file, char *out, size_t len) {
  int status = PRSVD_OK, nkeys = 0;
  hid_t fapl = -1;
  void *handle = NULL;
  MPI_Info used = MPI_INFO_NULL;
  size_t at = 0;
  out[0] = '\0';
  H5_TRY(fapl = H5Fget_access_plist(file), PRSVD_ERR_INPUT, "cannot read the access list of the input");
  H5_TRY(H5Fget_vfd_handle(file, fapl, &handle), PRSVD_ERR_INPUT, "cannot reach the input's MPI-IO handle");
  if (MPI_File_get_info(*(MPI_File *)handle, &used) != MPI_SUCCESS || used == MPI_INFO_NULL) goto done;
  MPI_Info_get_nkeys(used, &nkeys);
  for (int i = 0; i < nkeys && at + 1 < len; i++) {
    char key[MPI_MAX_INFO_KEY + 1], value[MPI_MAX_INFO_VAL + 1];
    int flag = 0;
    MPI_Info_get_nthkey(used, i, key);
    MPI_Info_get(used, key, MPI_MAX_INFO_VAL, value, &flag);
    if (flag) at += (size_t)snprintf(out + at, len - at, "%s%s=%s", at ? ", " : "", key, value);
  }
done:
  if (used != MPI_INFO_NULL) MPI_Info_free(&used);
  if (fapl >= 0) H5Pclose(fapl);
  return status;
}

/* Whether panels run along the columns: a column of chunks fits the budget (beside its
 * transpose scratch) and a row of chunks does not, or the dataset is wide. */
static int choose_columns(const struct prsvd_h5_info *in, const struct prsvd_h5_input *how) {
  if (how->panels != PRSVD_H5_PANELS_AUTO) return how->panels == PRSVD_H5_PANELS_COLUMNS;
  /* a chunk may be larger than the (extendible) dataset: these products are unbounded */
  const int64_t chunk_r = in->chunked ? in->chunk_rows : 1, chunk_c = in->chunked ? in->chunk_cols : 1;
  const int rows_fit = prsvd_size_mul(prsvd_size_mul(8, chunk_r), in->cols) <= how->memory / 2;
  const int cols_fit = prsvd_size_mul(prsvd_size_mul(8, chunk_c), in->rows) <= how->memory / 3;
  return cols_fit && (!rows_fit || in->cols / 8 >= in->rows);
}

/* Everything about the dataset we need, on this rank; s->file and s->dset left open.  info
 * describes the matrix streamed: with column panels its rows are the stored columns. */
static int open_dataset(MPI_Comm comm, const char *file, const char *dataset,
                        const struct prsvd_h5_input *how, struct prsvd_h5_info *info, struct h5_source *s) {
  const enum prsvd_h5_read read = how->read;
  int status = PRSVD_OK;
  hid_t fapl = -1, type = -1, dcpl = -1, dapl = -1;
  memset(info, 0, sizeof *info);
  s->ra.fd = -1;
  s->map.fd = -1;
  if (access(file, R_OK) != 0)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "cannot open '%s': %s", file, strerror(errno));
  /* POSIX reads (the sec2 driver): no MPI call happens inside HDF5, so a reader thread may
   * read while the main thread communicates; MPI-IO: collective open on comm, with hints */
  if (read == PRSVD_H5_READ_POSIX)
    H5_TRY(fapl = H5Pcreate(H5P_FILE_ACCESS), PRSVD_ERR_INPUT, "cannot create a property list");
  else
    H5_TRY(fapl = prsvd_h5_fapl(comm), PRSVD_ERR_INPUT, "cannot set up MPI-IO access to '%s'", file);
  s->dxpl = H5P_DEFAULT;
  if (read != PRSVD_H5_READ_POSIX) {
    H5_TRY(s->dxpl = H5Pcreate(H5P_DATASET_XFER), PRSVD_ERR_INPUT, "cannot create a property list");
    H5_TRY(H5Pset_dxpl_mpio(s->dxpl, read == PRSVD_H5_READ_COLLECTIVE ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT),
           PRSVD_ERR_INPUT, "cannot set the MPI-IO transfer mode");
  }
  PRSVD_TRY(prsvd_h5_open_ro(file, fapl, "input", &s->file));
  if (read != PRSVD_H5_READ_POSIX)
    PRSVD_TRY(hints_in_effect(s->file, info->mpiio_hints, sizeof info->mpiio_hints));
  PRSVD_TRY(prsvd_h5_find_dataset(s->file, file, dataset));
  H5_TRY(dapl = H5Pcreate(H5P_DATASET_ACCESS), PRSVD_ERR_NOMEM, "cannot create a property list");
  H5_TRY(s->dset = H5Dopen2(s->file, dataset, H5P_DEFAULT), PRSVD_ERR_INPUT,
         "cannot open dataset '%s' in '%s'", dataset, file);
  prsvd_h5_note_object_file(s->dset); /* an external link's target file */
  PRSVD_TRY(prsvd_nc_inspect(s->file, s->dset, file, dataset, &s->nc, info->conventions, sizeof info->conventions));
  H5_TRY(s->fspace = H5Dget_space(s->dset), PRSVD_ERR_INPUT, "cannot read the shape of '%s'", dataset);
  int nd = H5Sget_simple_extent_ndims(s->fspace);
  struct prsvd_h5_features *feat = how->features;
  if (feat && feat->min_dims > 2 && nd < feat->min_dims)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "dataset '%s' in '%s' is %d-D: %s", dataset, file, nd,
               feat->min_dims_why ? feat->min_dims_why : "too few dimensions");
  if (nd != 2 && !(feat && nd > 2 && nd <= PRSVD_H5_MAX_DIMS))
    PRSVD_FAIL(PRSVD_ERR_INPUT, "dataset '%s' in '%s' is %d-D, expected a 2-D matrix%s", dataset, file, nd,
               nd > 2 && feat ? "" : nd > 2 ? " (prsvd svd and pca take N-D variables)" : "");
  hsize_t dims[PRSVD_H5_MAX_DIMS];
  H5Sget_simple_extent_dims(s->fspace, dims, NULL);
  info->rows = (int64_t)dims[0];
  info->cols = (int64_t)dims[1];
  char what[4200];
  snprintf(what, sizeof what, "dataset '%s' in '%s'", dataset, file);
  int huge = 0;
  for (int d = 0; d < nd; d++) huge |= dims[d] > INT64_MAX;
  if (feat) { /* rows: the samples along the sample axis; columns: the rest in C order */
    PRSVD_TRY(prsvd_features_open(s->dset, nd, dims, what, feat));
    s->feat = feat->dropped || feat->w ? feat : NULL;
    s->nd_path = nd != 2 || feat->sample_axis != 0;
    s->nd = nd, s->sa = feat->sample_axis;
    s->outer = s->inner = 1;
    for (int d = 0; d < nd; d++) {
      s->dims[d] = dims[d];
      if (d < s->sa) s->outer = prsvd_size_mul(s->outer, (int64_t)dims[d]);
      if (d > s->sa) s->inner = prsvd_size_mul(s->inner, (int64_t)dims[d]);
    }
    info->rows = (int64_t)dims[s->sa];
    info->cols = feat->n;
  }
  /* before anything is sized by the shape: HDF5 takes extents up to 2^64 - 1 */
  if (huge) info->rows = info->cols = INT64_MAX;
  PRSVD_TRY(prsvd_check_shape(info->rows, info->cols, 1, what));
  H5_TRY(type = H5Dget_type(s->dset), PRSVD_ERR_INPUT, "cannot read the type of '%s'", dataset);
  PRSVD_TRY(prsvd_h5_number_type(type, what, info->type, sizeof info->type));
  info->element_bytes = (int64_t)H5Tget_size(type);
  s->wide_float = H5Tget_class(type) == H5T_FLOAT && info->element_bytes > (int64_t)sizeof(float);
  /* MATLAB v7.3 stores an m x n matrix as an n x m dataset (column-major): the rows streamed
   * are the MATLAB matrix's columns, so the source is A^T (info->transposed) */
  if (!s->nd_path && H5Aexists(s->dset, "MATLAB_class") > 0) {
    info->transposed = 1;
    snprintf(info->format, sizeof info->format, "matlab");
  }
  info->storage_bytes = (int64_t)H5Dget_storage_size(s->dset);
  H5_TRY(dcpl = H5Dget_create_plist(s->dset), PRSVD_ERR_INPUT, "cannot read the layout of '%s'", dataset);
  if (H5Pget_layout(dcpl) == H5D_VIRTUAL) /* before any work: HDF5 would read a missing source as fill */
    PRSVD_TRY(prsvd_h5_virtual_sources(s->file, dcpl, dapl, file, dataset, how->allow_missing_sources, info));
  snprintf(info->filters, sizeof info->filters, "none");
  if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
    hsize_t cd[PRSVD_H5_MAX_DIMS];
    info->chunked = 1;
    H5Pget_chunk(dcpl, nd, cd);
    info->chunk_rows = (int64_t)cd[0];
    info->chunk_cols = (int64_t)cd[1];
    if (s->nd_path) { /* the sample axis's chunks; a chunk's features */
      info->chunk_rows = (int64_t)cd[s->sa];
      info->chunk_cols = 1;
      for (int d = 0; d < nd; d++)
        if (d != s->sa) info->chunk_cols = prsvd_size_mul(info->chunk_cols, (int64_t)cd[d]);
    }
    prsvd_h5_describe_filters(dcpl, info->filters, sizeof info->filters);
  }
  s->rows = info->rows;
  s->cols = info->cols;
  /* the features' flags and weights apply to the streamed rows: row panels */
  s->by_columns = info->by_columns = s->nd_path || s->feat ? 0 : choose_columns(info, how);
  if (info->chunked) {
    /* a full row (column) of chunks stays cached: a panel boundary inside it costs no re-read */
    int64_t per_line = s->by_columns ? (info->rows + info->chunk_rows - 1) / info->chunk_rows
                                     : (info->cols + info->chunk_cols - 1) / info->chunk_cols;
    if (s->nd_path) { /* every chunk across the features, at one sample */
      hsize_t cd[PRSVD_H5_MAX_DIMS];
      H5Pget_chunk(dcpl, nd, cd);
      per_line = 1;
      for (int d = 0; d < nd; d++)
        if (d != s->sa) per_line = prsvd_size_mul(per_line, (int64_t)((dims[d] + cd[d] - 1) / cd[d]));
    }
    info->cache_bytes =
        prsvd_size_mul(prsvd_size_mul(per_line, info->chunk_rows), prsvd_size_mul(info->chunk_cols, info->element_bytes));
    H5Dclose(s->dset);
    H5_TRY(H5Pset_chunk_cache(dapl, (size_t)prsvd_size_mul(per_line, 10) + 1, (size_t)info->cache_bytes, 1.0),
           PRSVD_ERR_INPUT, "cannot size the chunk cache of '%s'", dataset);
    H5_TRY(s->dset = H5Dopen2(s->file, dataset, dapl), PRSVD_ERR_INPUT,
           "cannot open dataset '%s' in '%s'", dataset, file);
  }
  if (!s->by_columns && !s->nd_path)
    prsvd_readahead_open(&s->ra, s->file, fapl, dcpl, s->rows, s->cols);
  if (!s->by_columns && !s->nd_path && !s->feat && read == PRSVD_H5_READ_POSIX && !how->copy && !s->nc.netcdf)
    info->lends = prsvd_h5map_open(&s->map, s->file, fapl, s->dset, type, dcpl, s->rows, s->cols);
  if (s->by_columns) { /* the streamed matrix is the stored one's transpose */
    info->rows = s->cols;
    info->cols = s->rows;
    info->transposed ^= 1;
  }
done:
  if (type >= 0) H5Tclose(type);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (dapl >= 0) H5Pclose(dapl);
  if (fapl >= 0) H5Pclose(fapl);
  return status;
}

int prsvd_h5_inspect(MPI_Comm comm, const char *file, const char *dataset,
                     struct prsvd_h5_info *info) {
  if (prsvd_h5_is_sparse_group(file, dataset)) {
    prsvd_source *src = NULL;
    int status = prsvd_h5_open_sparse(comm, file, dataset, info, &src);
    prsvd_source_destroy(&src);
    return status;
  }
  static const struct prsvd_h5_input how = {PRSVD_H5_READ_POSIX, PRSVD_H5_PANELS_ROWS, 0, 0, 0, NULL};
  struct h5_source *s = calloc(1, sizeof *s);
  int status = s ? open_dataset(comm, file, dataset, &how, info, s) : PRSVD_ERR_NOMEM;
  h5_source_close(s);
  return prsvd_error_agree(comm, status);
}

int prsvd_h5_open_source(MPI_Comm comm, const char *file, const char *dataset,
                         struct prsvd_h5_info *info, prsvd_source **src) {
  static const struct prsvd_h5_input how = {PRSVD_H5_READ_POSIX, PRSVD_H5_PANELS_ROWS, 0, 0, 0, NULL};
  return prsvd_h5_open_input(comm, file, dataset, &how, info, src);
}

int prsvd_h5_open_input(MPI_Comm comm, const char *file, const char *dataset,
                        const struct prsvd_h5_input *how, struct prsvd_h5_info *info,
                        prsvd_source **src) {
  /* column panels read whole stored columns: no column blocks */
  static const struct prsvd_source_ops by_rows = {h5_read_rows, h5_source_close, NULL, h5_read_rows_f32,
                                                  h5_read_block, h5_lend_rows, h5_return_rows};
  static const struct prsvd_source_ops by_columns = {h5_read_rows, h5_source_close, NULL,
                                                     h5_read_rows_f32, NULL, NULL, NULL};
  /* the features' panels: whole rows, each read once into a buffer of the source's */
  static const struct prsvd_source_ops by_features = {h5_read_rows, h5_source_close, NULL,
                                                      h5_read_rows_f32, NULL, NULL, NULL};
  int status = PRSVD_OK, sparse = 0, rank;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) sparse = prsvd_h5_is_sparse_group(file, dataset); /* a safe probe: no FIFO is opened */
  PRSVD_MPI(MPI_Bcast(&sparse, 1, MPI_INT, 0, comm));
  if (sparse) return prsvd_h5_open_sparse(comm, file, dataset, info, src);
  struct h5_source *s = NULL;
  char name[4096];
  *src = NULL;
  PRSVD_ALLOC(s, 1);
  s->file = s->dset = s->fspace = s->dxpl = -1;
  PRSVD_TRY(open_dataset(comm, file, dataset, how, info, s));
  s->fname = strdup(file);
  PRSVD_TRY(prsvd_file_stamp(file, &s->stamp));
  s->dname = strdup(dataset);
  snprintf(name, sizeof name, "%s:%s", file, dataset);
  if (!s->fname || !s->dname) PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory copying names");
  snprintf(name, sizeof name, "'%s' of '%s'", dataset, file);
  if (!(s->what = strdup(name))) PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory copying names");
  snprintf(name, sizeof name, "%s:%s", file, dataset);
  PRSVD_TRY(prsvd_source_create(info->rows, info->cols, name,
                                info->by_columns ? &by_columns : s->nd_path || s->feat ? &by_features : &by_rows, s, src));
  const int scratch = s->nd_path && s->outer > 1;
  /* the float64 panel of a staged float32 read, and its scratch read as float64 too */
  const int f32_staging = staged(s) ? 2 + (info->by_columns || scratch) : 0;
  s = NULL;
  /* besides its cache HDF5 holds about one chunk more as it reads (measured: a solve grew above
   * the estimate by 0.6 of a chunk more for every chunk size, 80 KB to 2 MB chunks) */
  const int64_t chunk_bytes =
      info->chunked ? prsvd_size_mul(prsvd_size_mul(info->chunk_rows, info->chunk_cols), info->element_bytes) : 0;
  const struct prsvd_source_layout layout = {!strcmp(info->type, "float32"),
                                             info->by_columns ? info->chunk_cols : info->chunk_rows,
                                             how->read != PRSVD_H5_READ_POSIX, how->read == PRSVD_H5_READ_COLLECTIVE,
                                             info->by_columns || scratch, info->lends,
                                             info->cache_bytes + chunk_bytes, f32_staging};
  prsvd_source_set_layout(*src, &layout);
done:
  h5_source_close(s);
  return prsvd_error_agree(comm, status);
}
