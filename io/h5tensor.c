/* Slab sources over N-D HDF5 datasets (and NetCDF-4 variables): the mode-1 unfolding of a
 * d_0 x d_1 x ... x d_{N-1} dataset, whose row i is the slab A[i, :, ..., :] flattened in C
 * order (d_1 ... d_{N-1} values).  Each rank reads its own slabs as hyperslabs [row0, row0 +
 * nrows) x every other dimension whole, by POSIX reads (the sec2 driver), chunked and filtered
 * datasets alike, with a chunk cache that holds a whole slab of chunks so no chunk is
 * decompressed twice in a pass.  NetCDF-4 packing and missing values are applied as for a
 * matrix (io/h5netcdf.c), and the variable's dimension names are read from its dimension
 * scales (DIMENSION_LIST).  Kept apart from the 2-D source (io/h5source.c) on purpose: that
 * one also streams column panels, lends rows and reads through MPI-IO. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5util.h"
#include "prsvd_h5.h"

struct h5_tensor {
  hid_t file, dset, fspace;
  int ndims;
  hsize_t dims[PRSVD_H5_MAX_DIMS];
  int64_t cols;          /* d_1 ... d_{N-1} */
  char *fname, *dname;
  struct prsvd_file_stamp stamp;
  struct prsvd_nc_var nc;
};

/* dims[from] ... dims[to - 1] */
static int64_t dims_below(const hsize_t *dims, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; i++) p *= (int64_t)dims[i];
  return p;
}

static void tensor_close(void *ctx) {
  struct h5_tensor *s = ctx;
  if (!s) return;
  if (s->fspace > 0) H5Sclose(s->fspace);
  if (s->dset > 0) H5Dclose(s->dset);
  if (s->file > 0) H5Fclose(s->file);
  free(s->fname);
  free(s->dname);
  free(s);
}

/* Slabs [row0, row0 + nrows) as float64, row-major nrows x cols. */
static int tensor_read_rows(void *ctx, int64_t row0, int64_t nrows, double *panel) {
  struct h5_tensor *s = ctx;
  int status = PRSVD_OK;
  hid_t mspace = -1;
  hsize_t start[PRSVD_H5_MAX_DIMS] = {0}, count[PRSVD_H5_MAX_DIMS];
  if (nrows == 0) return PRSVD_OK;
  memcpy(count, s->dims, sizeof(hsize_t) * (size_t)s->ndims);
  start[0] = (hsize_t)row0, count[0] = (hsize_t)nrows;
  PRSVD_CHECK(prsvd_file_unchanged(s->fname, &s->stamp, row0, nrows));
  H5_TRY(H5Sselect_hyperslab(s->fspace, H5S_SELECT_SET, start, NULL, count, NULL), PRSVD_ERR_INPUT,
         "cannot select slabs [%lld, %lld) of '%s' in '%s'", (long long)row0, (long long)(row0 + nrows), s->dname,
         s->fname);
  H5_TRY(mspace = H5Screate_simple(s->ndims, count, NULL), PRSVD_ERR_NOMEM, "cannot create a dataspace");
  H5_TRY(H5Dread(s->dset, H5T_NATIVE_DOUBLE, mspace, s->fspace, H5P_DEFAULT, panel), PRSVD_ERR_INPUT,
         "cannot read dataset '%s' of '%s': slabs [%lld, %lld) of dimension 0 unreadable", s->dname, s->fname,
         (long long)row0, (long long)(row0 + nrows));
  if (s->nc.netcdf) {
    const struct prsvd_nc_panel np = {panel, 0, 0, row0, nrows, s->cols, 0, 0};
    PRSVD_TRY(prsvd_nc_apply(&s->nc, s->fname, s->dname, &np));
  }
  /* a value that is not finite, named by its index in the dataset (the pass's own check would
   * name the unfolding's row and column) */
  for (int64_t i = 0; i < nrows * s->cols; i++)
    if (!isfinite(panel[i])) {
      char at[32 * PRSVD_H5_MAX_DIMS] = "";
      size_t used = 0;
      int64_t rest = i % s->cols;
      for (int d = 1; d < s->ndims; d++) {
        const int64_t below = dims_below(s->dims, d + 1, s->ndims);
        used += (size_t)snprintf(at + used, sizeof at - used, ", %lld", (long long)(rest / below));
        rest %= below;
      }
      PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' in '%s': %s at [%lld%s]", s->dname, s->fname,
                 isnan(panel[i]) ? "NaN" : "Inf", (long long)(row0 + i / s->cols), at);
    }
done:
  if (mspace >= 0) H5Sclose(mspace);
  return status;
}

static int open_tensor(const char *file, const char *dataset, int min_dims, const char *needs,
                       struct prsvd_h5_tensor_info *info, struct h5_tensor *s) {
  int status = PRSVD_OK;
  hid_t type = -1, dcpl = -1, dapl = -1;
  char what[4200];
  if (access(file, R_OK) != 0) PRSVD_FAIL(PRSVD_ERR_INPUT, "cannot open '%s': %s", file, strerror(errno));
  PRSVD_TRY(prsvd_h5_open_ro(file, H5P_DEFAULT, "input", &s->file));
  PRSVD_TRY(prsvd_h5_find_dataset(s->file, file, dataset));
  H5_TRY(s->dset = H5Dopen2(s->file, dataset, H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open dataset '%s' in '%s'",
         dataset, file);
  prsvd_h5_note_object_file(s->dset); /* an external link's target file */
  PRSVD_TRY(prsvd_nc_inspect(s->file, s->dset, file, dataset, &s->nc, info->conventions, sizeof info->conventions));
  H5_TRY(s->fspace = H5Dget_space(s->dset), PRSVD_ERR_INPUT, "cannot read the shape of '%s'", dataset);
  const int nd = H5Sget_simple_extent_ndims(s->fspace);
  if (nd < min_dims || nd > PRSVD_H5_MAX_DIMS)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "dataset '%s' in '%s' is %d-D: %s", dataset, file, nd, needs);
  H5Sget_simple_extent_dims(s->fspace, s->dims, NULL);
  s->ndims = info->ndims = nd;
  snprintf(what, sizeof what, "dataset '%s' in '%s'", dataset, file);
  int64_t cols = 1;
  for (int i = 0; i < nd; i++) {
    if (s->dims[i] == 0) PRSVD_FAIL(PRSVD_ERR_INPUT, "%s is empty: dimension %d has length 0", what, i);
    info->dims[i] = s->dims[i] > INT64_MAX ? INT64_MAX : (int64_t)s->dims[i];
    if (i > 0) cols = prsvd_size_mul(cols, info->dims[i]);
  }
  PRSVD_TRY(prsvd_check_shape(info->dims[0], cols, 1, what)); /* the unfolding's size in bytes */
  s->cols = cols;
  H5_TRY(type = H5Dget_type(s->dset), PRSVD_ERR_INPUT, "cannot read the type of '%s'", dataset);
  PRSVD_TRY(prsvd_h5_number_type(type, what, info->type, sizeof info->type));
  info->element_bytes = (int64_t)H5Tget_size(type);
  prsvd_h5_dimension_scales(s->dset, nd, info->dim_names[0], PRSVD_H5_DIM_NAME, NULL);
  H5_TRY(dcpl = H5Dget_create_plist(s->dset), PRSVD_ERR_INPUT, "cannot read the layout of '%s'", dataset);
  snprintf(info->filters, sizeof info->filters, "none");
  if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
    hsize_t cd[PRSVD_H5_MAX_DIMS];
    int64_t per_slab = 1, chunk_bytes = info->element_bytes;
    info->chunked = 1;
    H5Pget_chunk(dcpl, nd, cd);
    for (int i = 0; i < nd; i++) {
      info->chunk[i] = (int64_t)cd[i];
      chunk_bytes = prsvd_size_mul(chunk_bytes, info->chunk[i]);
      if (i > 0) per_slab = prsvd_size_mul(per_slab, (info->dims[i] + info->chunk[i] - 1) / info->chunk[i]);
    }
    prsvd_h5_describe_filters(dcpl, info->filters, sizeof info->filters);
    /* the chunks one slab of chunks holds stay cached: a panel boundary inside them costs no
     * second decompression */
    info->cache_bytes = prsvd_size_mul(per_slab, chunk_bytes);
    H5_TRY(dapl = H5Pcreate(H5P_DATASET_ACCESS), PRSVD_ERR_NOMEM, "cannot create a property list");
    H5_TRY(H5Pset_chunk_cache(dapl, (size_t)prsvd_size_mul(per_slab, 10) + 1, (size_t)info->cache_bytes, 1.0),
           PRSVD_ERR_INPUT, "cannot size the chunk cache of '%s'", dataset);
    H5Sclose(s->fspace);
    H5Dclose(s->dset);
    s->fspace = -1;
    H5_TRY(s->dset = H5Dopen2(s->file, dataset, dapl), PRSVD_ERR_INPUT, "cannot open dataset '%s' in '%s'", dataset,
           file);
    H5_TRY(s->fspace = H5Dget_space(s->dset), PRSVD_ERR_INPUT, "cannot read the shape of '%s'", dataset);
  }
done:
  if (type >= 0) H5Tclose(type);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (dapl >= 0) H5Pclose(dapl);
  return status;
}

int prsvd_h5_open_tensor(MPI_Comm comm, const char *file, const char *dataset, int min_dims, const char *needs,
                         struct prsvd_h5_tensor_info *info, prsvd_source **src) {
  static const struct prsvd_source_ops ops = {tensor_read_rows, tensor_close, NULL, NULL, NULL, NULL, NULL};
  int status = PRSVD_OK, rank;
  struct h5_tensor *s = NULL;
  char name[4096];
  *src = NULL;
  memset(info, 0, sizeof *info);
  MPI_Comm_rank(comm, &rank);
  PRSVD_ALLOC(s, 1);
  s->file = s->dset = s->fspace = -1;
  if (rank == 0 && prsvd_h5_is_sparse_group(file, dataset)) /* a safe probe: no FIFO is opened */
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' in '%s' is a sparse matrix group: %s", dataset, file, needs);
  PRSVD_TRY(open_tensor(file, dataset, min_dims, needs, info, s));
  PRSVD_TRY(prsvd_file_stamp(file, &s->stamp));
  if (!(s->fname = strdup(file)) || !(s->dname = strdup(dataset)))
    PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory copying names");
  snprintf(name, sizeof name, "%s:%s", file, dataset);
  PRSVD_TRY(prsvd_source_create(info->dims[0], s->cols, name, &ops, s, src));
  s = NULL;
  const struct prsvd_source_layout layout = {.chunk_rows = info->chunked ? info->chunk[0] : 0};
  prsvd_source_set_layout(*src, &layout);
done:
  tensor_close(s);
  return prsvd_error_agree(comm, status);
}
