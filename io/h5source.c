/* Row-panel sources over 2-D HDF5 datasets, and `prsvd info`'s description of them.  Each
 * rank reads its own hyperslabs: with POSIX reads (the sec2 driver: no MPI inside HDF5) or
 * through MPI-IO, independently or collectively (then a rank whose rows are done joins the
 * other ranks' reads with zero rows). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5util.h"
#include "prsvd_h5.h"

struct h5_source {
  hid_t file, dset, fspace, dxpl;
  int64_t rows, cols;
  char *fname, *dname;
  struct prsvd_file_stamp stamp;
};

static void h5_source_close(void *ctx) {
  struct h5_source *s = ctx;
  if (!s) return;
  if (s->fspace > 0) H5Sclose(s->fspace);
  if (s->dxpl > 0) H5Pclose(s->dxpl);
  if (s->dset > 0) H5Dclose(s->dset);
  if (s->file > 0) H5Fclose(s->file);
  free(s->fname);
  free(s->dname);
  free(s);
}

/* Rows [row0, row0 + nrows) converted by HDF5 to memtype (float64 or float32). */
static int h5_read(struct h5_source *s, int64_t row0, int64_t nrows, hid_t memtype, void *panel) {
  int status = PRSVD_OK;
  hid_t mspace = -1;
  hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)nrows, (hsize_t)s->cols};
  if (nrows == 0) { /* a collective read this rank only joins */
    hsize_t one[2] = {1, 1};
    H5_TRY(mspace = H5Screate_simple(2, one, NULL), PRSVD_ERR_NOMEM, "cannot create a dataspace");
    H5_TRY(H5Sselect_none(mspace), PRSVD_ERR_INTERNAL, "cannot select nothing");
    H5_TRY(H5Sselect_none(s->fspace), PRSVD_ERR_INTERNAL, "cannot select nothing");
  } else {
    PRSVD_CHECK(prsvd_file_unchanged(s->fname, &s->stamp, row0, nrows));
    H5_TRY(H5Sselect_hyperslab(s->fspace, H5S_SELECT_SET, start, NULL, count, NULL),
           PRSVD_ERR_INPUT, "cannot select rows [%lld, %lld) of '%s' in '%s'", (long long)row0,
           (long long)(row0 + nrows), s->dname, s->fname);
    H5_TRY(mspace = H5Screate_simple(2, count, NULL), PRSVD_ERR_NOMEM, "cannot create a dataspace");
  }
  H5_TRY(H5Dread(s->dset, memtype, mspace, s->fspace, s->dxpl, panel),
         PRSVD_ERR_INPUT, "cannot read dataset '%s' of '%s': rows [%lld, %lld) unreadable",
         s->dname, s->fname, (long long)row0, (long long)(row0 + nrows));
done:
  if (mspace >= 0) H5Sclose(mspace);
  return status;
}

static int h5_read_rows(void *ctx, int64_t row0, int64_t nrows, double *panel) {
  return h5_read(ctx, row0, nrows, H5T_NATIVE_DOUBLE, panel);
}

static int h5_read_rows_f32(void *ctx, int64_t row0, int64_t nrows, float *panel) {
  return h5_read(ctx, row0, nrows, H5T_NATIVE_FLOAT, panel);
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

/* Everything about the dataset we need, on this rank; s->file and s->dset left open. */
static int open_dataset(MPI_Comm comm, const char *file, const char *dataset,
                        enum prsvd_h5_read read, struct prsvd_h5_info *info, struct h5_source *s) {
  int status = PRSVD_OK;
  hid_t fapl = -1, type = -1, dcpl = -1, dapl = -1;
  memset(info, 0, sizeof *info);
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
  if (H5Fis_hdf5(file) <= 0)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' is not an HDF5 file (or it is truncated or corrupt)", file);
  H5_TRY(s->file = H5Fopen(file, H5F_ACC_RDONLY, fapl), PRSVD_ERR_INPUT,
         "cannot open HDF5 file '%s' (truncated or corrupt?)", file);
  if (read != PRSVD_H5_READ_POSIX)
    PRSVD_TRY(hints_in_effect(s->file, info->mpiio_hints, sizeof info->mpiio_hints));
  PRSVD_TRY(prsvd_h5_find_dataset(s->file, file, dataset));
  H5_TRY(dapl = H5Pcreate(H5P_DATASET_ACCESS), PRSVD_ERR_NOMEM, "cannot create a property list");
  H5_TRY(s->dset = H5Dopen2(s->file, dataset, H5P_DEFAULT), PRSVD_ERR_INPUT,
         "cannot open dataset '%s' in '%s'", dataset, file);
  H5_TRY(s->fspace = H5Dget_space(s->dset), PRSVD_ERR_INPUT, "cannot read the shape of '%s'", dataset);
  int nd = H5Sget_simple_extent_ndims(s->fspace);
  if (nd != 2)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "dataset '%s' in '%s' is %d-D, expected a 2-D matrix", dataset, file, nd);
  hsize_t dims[2];
  H5Sget_simple_extent_dims(s->fspace, dims, NULL);
  info->rows = (int64_t)dims[0];
  info->cols = (int64_t)dims[1];
  if (info->rows < 1 || info->cols < 1)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "dataset '%s' in '%s' is empty (%lld x %lld)", dataset, file,
               (long long)info->rows, (long long)info->cols);
  H5_TRY(type = H5Dget_type(s->dset), PRSVD_ERR_INPUT, "cannot read the type of '%s'", dataset);
  if (!prsvd_h5_type_name(type, info->type, sizeof info->type))
    PRSVD_FAIL(PRSVD_ERR_INPUT, "dataset '%s' in '%s' has %s type: only integer and float matrices are supported",
               dataset, file, info->type);
  info->element_bytes = (int64_t)H5Tget_size(type);
  /* MATLAB v7.3 stores an m x n matrix as an n x m dataset (column-major): the rows streamed
   * are the MATLAB matrix's columns, so the source is A^T (info->transposed) */
  if (H5Aexists(s->dset, "MATLAB_class") > 0) {
    info->transposed = 1;
    snprintf(info->format, sizeof info->format, "matlab");
  }
  info->storage_bytes = (int64_t)H5Dget_storage_size(s->dset);
  H5_TRY(dcpl = H5Dget_create_plist(s->dset), PRSVD_ERR_INPUT, "cannot read the layout of '%s'", dataset);
  snprintf(info->filters, sizeof info->filters, "none");
  if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
    hsize_t cd[2];
    info->chunked = 1;
    H5Pget_chunk(dcpl, 2, cd);
    info->chunk_rows = (int64_t)cd[0];
    info->chunk_cols = (int64_t)cd[1];
    int nf = H5Pget_nfilters(dcpl);
    size_t used = 0;
    for (int i = 0; i < nf && used < sizeof info->filters; i++) {
      unsigned flags, cvals[8];
      size_t nvals = 8;
      char name[32] = "";
      H5Z_filter_t f = H5Pget_filter2(dcpl, (unsigned)i, &flags, &nvals, cvals, sizeof name, name, NULL);
      const char *label = f == H5Z_FILTER_DEFLATE ? "gzip" : f == H5Z_FILTER_SHUFFLE ? "shuffle"
                        : f == H5Z_FILTER_FLETCHER32 ? "fletcher32" : name[0] ? name : "filter";
      if (f == H5Z_FILTER_DEFLATE && nvals > 0)
        used += (size_t)snprintf(info->filters + used, sizeof info->filters - used, "%s%s(%u)",
                                 i ? ", " : "", label, cvals[0]);
      else
        used += (size_t)snprintf(info->filters + used, sizeof info->filters - used, "%s%s",
                                 i ? ", " : "", label);
    }
    /* a full row of chunks stays cached: a panel boundary inside a chunk row costs no re-read */
    int64_t per_row = (info->cols + info->chunk_cols - 1) / info->chunk_cols;
    info->cache_bytes = per_row * info->chunk_rows * info->chunk_cols * info->element_bytes;
    H5Dclose(s->dset);
    H5_TRY(H5Pset_chunk_cache(dapl, (size_t)(per_row * 10 + 1), (size_t)info->cache_bytes, 1.0),
           PRSVD_ERR_INPUT, "cannot size the chunk cache of '%s'", dataset);
    H5_TRY(s->dset = H5Dopen2(s->file, dataset, dapl), PRSVD_ERR_INPUT,
           "cannot open dataset '%s' in '%s'", dataset, file);
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
  struct h5_source *s = calloc(1, sizeof *s);
  int status = s ? open_dataset(comm, file, dataset, PRSVD_H5_READ_POSIX, info, s) : PRSVD_ERR_NOMEM;
  h5_source_close(s);
  return prsvd_error_agree(comm, status);
}

int prsvd_h5_open_source(MPI_Comm comm, const char *file, const char *dataset,
                         struct prsvd_h5_info *info, prsvd_source **src) {
  return prsvd_h5_open_input(comm, file, dataset, PRSVD_H5_READ_POSIX, info, src);
}

int prsvd_h5_open_input(MPI_Comm comm, const char *file, const char *dataset,
                        enum prsvd_h5_read read, struct prsvd_h5_info *info, prsvd_source **src) {
  static const struct prsvd_source_ops ops = {h5_read_rows, h5_source_close, NULL, h5_read_rows_f32};
  int status = PRSVD_OK, sparse = 0, rank;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) sparse = access(file, R_OK) == 0 && H5Fis_hdf5(file) > 0 && prsvd_h5_is_sparse_group(file, dataset);
  PRSVD_MPI(MPI_Bcast(&sparse, 1, MPI_INT, 0, comm));
  if (sparse) return prsvd_h5_open_sparse(comm, file, dataset, info, src);
  struct h5_source *s = NULL;
  char name[4096];
  *src = NULL;
  PRSVD_ALLOC(s, 1);
  s->file = s->dset = s->fspace = s->dxpl = -1;
  PRSVD_TRY(open_dataset(comm, file, dataset, read, info, s));
  s->rows = info->rows;
  s->cols = info->cols;
  s->fname = strdup(file);
  PRSVD_TRY(prsvd_file_stamp(file, &s->stamp));
  s->dname = strdup(dataset);
  snprintf(name, sizeof name, "%s:%s", file, dataset);
  PRSVD_TRY(prsvd_source_create(info->rows, info->cols, name, &ops, s, src));
  s = NULL;
  const struct prsvd_source_layout layout = {!strcmp(info->type, "float32"), info->chunk_rows,
                                             read != PRSVD_H5_READ_POSIX, read == PRSVD_H5_READ_COLLECTIVE};
  prsvd_source_set_layout(*src, &layout);
done:
  h5_source_close(s);
  return prsvd_error_agree(comm, status);
}
