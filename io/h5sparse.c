/*
 * Sparse matrices stored as HDF5 groups, streamed as CSR row panels:
 *   AnnData (.h5ad): a group with data, indices, indptr and the attributes
 *     encoding-type = csr_matrix | csc_matrix and shape; or the legacy h5sparse_format /
 *     h5sparse_shape attributes;
 *   10x Genomics feature-barcode matrices: a group with data, indices, indptr and a shape
 *     dataset [genes, cells], stored CSC: that is the CSR of the cells x genes matrix, which
 *     is what is decomposed (cells are the rows, as in AnnData).
 *   MATLAB v7.3 sparse: a group with the MATLAB_sparse attribute (rows) and data, ir, jc (CSC).
 * A CSC matrix X is the CSR of X^T: it is opened as X^T with info->transposed = 1, and the
 * caller swaps the roles of U and V.  Index arrays may be int32 or int64; data any integer or
 * float type.  indptr[0] = 0, indptr[rows] = nnz and the lengths are checked on open;
 * monotonicity and column ranges are checked panel by panel as the rows are read.
 */
#include <stdlib.h>
#include <string.h>

#include "h5sparse.h"
#include "h5util.h"
#include "prsvd_h5.h"

struct h5_sparse {
  hid_t file, data, indices, indptr;
  int64_t rows, cols, nnz;
  char *name, *path;
  struct prsvd_file_stamp stamp;
  struct prsvd_sparse_arrays arrays; /* read from the three datasets */
};

static void sparse_close(void *ctx) {
  struct h5_sparse *s = ctx;
  if (!s) return;
  if (s->data > 0) H5Dclose(s->data);
  if (s->indices > 0) H5Dclose(s->indices);
  if (s->indptr > 0) H5Dclose(s->indptr);
  if (s->file > 0) H5Fclose(s->file);
  free(s->name);
  free(s->path);
  free(s);
}

/* out[0..count) = dataset[start .. start+count) as mem_type (1-D) */
static int read_range(hid_t d, hid_t mem_type, int64_t start, int64_t count, void *out) {
  int status = PRSVD_OK;
  hid_t fs = -1, ms = -1;
  hsize_t st[1] = {(hsize_t)start}, ct[1] = {(hsize_t)count};
  if (count == 0) return PRSVD_OK;
  H5_TRY(fs = H5Dget_space(d), PRSVD_ERR_INPUT, "cannot read a dataspace");
  H5_TRY(H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, ct, NULL), PRSVD_ERR_INPUT, "bad selection");
  H5_TRY(ms = H5Screate_simple(1, ct, NULL), PRSVD_ERR_NOMEM, "cannot create a dataspace");
  H5_TRY(H5Dread(d, mem_type, ms, fs, H5P_DEFAULT, out), PRSVD_ERR_INPUT, "read failed");
done:
  if (fs >= 0) H5Sclose(fs);
  if (ms >= 0) H5Sclose(ms);
  return status;
}

/* Counts from the file's indptr: a product that wrapped would allocate too little for the
 * read that follows, so a saturated one fails instead. */
static int grow(struct prsvd_csr *p, int64_t rows, int64_t nnz) {
  int64_t *ip = realloc(p->indptr, (size_t)prsvd_size_mul(sizeof(int64_t), rows + 1));
  if (!ip) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a CSR panel of %lld rows", (long long)rows);
  p->indptr = ip;
  if (nnz > p->cap) {
    int64_t *ix = realloc(p->indices, (size_t)prsvd_size_mul(sizeof(int64_t), nnz));
    if (ix) p->indices = ix;
    double *dv = realloc(p->data, (size_t)prsvd_size_mul(sizeof(double), nnz));
    if (dv) p->data = dv;
    if (!ix || !dv) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a CSR panel of %lld entries", (long long)nnz);
    p->cap = nnz;
  }
  return PRSVD_OK;
}

int prsvd_sparse_read_rows(const struct prsvd_sparse_arrays *a, int64_t row0, int64_t nrows,
                           struct prsvd_csr *p) {
  PRSVD_CHECK(grow(p, nrows, 0));
  if (a->read(a->ctx, PRSVD_SPARSE_INDPTR, row0, nrows + 1, p->indptr))
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': cannot read indptr for rows [%lld, %lld)", a->name, (long long)row0,
              (long long)(row0 + nrows));
  const int64_t first = p->indptr[0], last = p->indptr[nrows];
  if (first < 0 || last < first || last > a->nnz)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': indptr of rows [%lld, %lld) points outside [0, nnz = %lld]", a->name,
              (long long)row0, (long long)(row0 + nrows), (long long)a->nnz);
  PRSVD_CHECK(grow(p, nrows, last - first));
  if (a->read(a->ctx, PRSVD_SPARSE_INDICES, first, last - first, p->indices) ||
      a->read(a->ctx, PRSVD_SPARSE_DATA, first, last - first, p->data))
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s': cannot read the entries of rows [%lld, %lld)", a->name,
              (long long)row0, (long long)(row0 + nrows));
  for (int64_t i = 0; i <= nrows; i++) p->indptr[i] -= first;
  p->rows = nrows;
  p->nnz = last - first;
  return PRSVD_OK;
}

static int sparse_read_csr(void *ctx, int64_t row0, int64_t nrows, struct prsvd_csr *p) {
  struct h5_sparse *s = ctx;
  PRSVD_CHECK(prsvd_file_unchanged(s->path, &s->stamp, row0, nrows));
  return prsvd_sparse_read_rows(&s->arrays, row0, nrows, p);
}

/* The arrays of struct prsvd_sparse_arrays from the group's datasets. */
static int sparse_read_array(void *ctx, enum prsvd_sparse_array which, int64_t start, int64_t count, void *out) {
  const struct h5_sparse *s = ctx;
  const hid_t d = which == PRSVD_SPARSE_INDPTR ? s->indptr : which == PRSVD_SPARSE_INDICES ? s->indices : s->data;
  return read_range(d, which == PRSVD_SPARSE_DATA ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, start, count, out);
}

/* Two integers from an attribute or a dataset named `name` of obj; 0 if absent. */
static int shape_of(hid_t obj, const char *name, int64_t shape[2]) {
  int64_t v[2] = {-1, -1};
  int found = 0;
  if (H5Aexists(obj, name) > 0) {
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), sp = H5Aget_space(a);
    if (H5Sget_simple_extent_npoints(sp) == 2 && H5Aread(a, H5T_NATIVE_INT64, v) >= 0) found = 1;
    H5Sclose(sp);
    H5Aclose(a);
  } else if (H5Lexists(obj, name, H5P_DEFAULT) > 0) {
    hid_t d = H5Dopen2(obj, name, H5P_DEFAULT), sp = H5Dget_space(d);
    if (H5Sget_simple_extent_npoints(sp) == 2 && H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0)
      found = 1;
    H5Sclose(sp);
    H5Dclose(d);
  }
  shape[0] = v[0], shape[1] = v[1];
  return found;
}

int prsvd_h5_is_sparse_group(const char *file, const char *group) {
  hid_t f = prsvd_h5_probe_ro(file);
  int yes = 0;
  if (f < 0) return 0;
  H5O_info_t oi;
  if (H5Lexists(f, group, H5P_DEFAULT) > 0 && H5Oget_info_by_name(f, group, &oi, H5P_DEFAULT) >= 0 &&
      oi.type == H5O_TYPE_GROUP) {
    hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
    yes = H5Lexists(g, "data", H5P_DEFAULT) > 0 &&
          ((H5Lexists(g, "indices", H5P_DEFAULT) > 0 && H5Lexists(g, "indptr", H5P_DEFAULT) > 0) ||
           (H5Lexists(g, "ir", H5P_DEFAULT) > 0 && H5Lexists(g, "jc", H5P_DEFAULT) > 0));
    H5Gclose(g);
  }
  H5Fclose(f);
  return yes;
}

static int64_t length_of(hid_t d) {
  hid_t sp = H5Dget_space(d);
  int64_t n = sp >= 0 ? (int64_t)H5Sget_simple_extent_npoints(sp) : -1;
  if (sp >= 0) H5Sclose(sp);
  return n;
}

static int open_sparse(const char *file, const char *group, struct prsvd_h5_info *info,
                       struct h5_sparse *s) {
  int status = PRSVD_OK;
  hid_t g = -1, t = -1;
  char enc[64], legacy[64];
  int64_t shape[2];
  memset(info, 0, sizeof *info);
  PRSVD_TRY(prsvd_h5_open_ro(file, H5P_DEFAULT, "input", &s->file));
  H5_TRY(g = H5Gopen2(s->file, group, H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open group '%s' in '%s'", group, file);
  prsvd_h5_note_object_file(g); /* an external link's target file */
  if (H5Aexists(g, "MATLAB_sparse") > 0) { /* MATLAB v7.3 sparse: CSC with ir, jc; m rows */
    int64_t mrows = 0;
    hid_t a = H5Aopen(g, "MATLAB_sparse", H5P_DEFAULT);
    herr_t rc = H5Aread(a, H5T_NATIVE_INT64, &mrows);
    H5Aclose(a);
    if (rc < 0 || mrows < 1) PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' in '%s': unreadable MATLAB_sparse attribute", group, file);
    H5_TRY(s->data = H5Dopen2(g, "data", H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open '%s/data'", group);
    H5_TRY(s->indices = H5Dopen2(g, "ir", H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open '%s/ir'", group);
    H5_TRY(s->indptr = H5Dopen2(g, "jc", H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open '%s/jc'", group);
    shape[0] = mrows;
    shape[1] = length_of(s->indptr) - 1;
    snprintf(info->format, sizeof info->format, "matlab csc");
    info->transposed = 1; /* CSC of A is the CSR of A^T */
    s->rows = shape[1];
    s->cols = shape[0];
    goto opened;
  }
  prsvd_h5_string_attr(g, "encoding-type", enc, sizeof enc);
  prsvd_h5_string_attr(g, "h5sparse_format", legacy, sizeof legacy);
  int csc;
  if (!strcmp(enc, "csr_matrix") || !strcmp(legacy, "csr")) {
    csc = 0;
    if (!shape_of(g, "shape", shape) && !shape_of(g, "h5sparse_shape", shape))
      PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' in '%s' is CSR but has no shape attribute", group, file);
    snprintf(info->format, sizeof info->format, "csr");
  } else if (!strcmp(enc, "csc_matrix") || !strcmp(legacy, "csc")) {
    csc = 1;
    if (!shape_of(g, "shape", shape) && !shape_of(g, "h5sparse_shape", shape))
      PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' in '%s' is CSC but has no shape attribute", group, file);
    snprintf(info->format, sizeof info->format, "csc");
  } else if (H5Lexists(g, "shape", H5P_DEFAULT) > 0 && shape_of(g, "shape", shape)) {
    /* 10x (a shape dataset): genes x cells CSC = cells x genes CSR */
    csc = 0;
    const int64_t genes = shape[0];
    shape[0] = shape[1], shape[1] = genes;
    snprintf(info->format, sizeof info->format, "10x");
  } else {
    PRSVD_FAIL(PRSVD_ERR_INPUT,
               "'%s' in '%s' holds data/indices/indptr but no encoding-type (csr_matrix or csc_matrix), h5sparse_format or 10x shape",
               group, file);
  }
  if (shape[0] < 1 || shape[1] < 1)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' in '%s' has shape %lld x %lld", group, file, (long long)shape[0], (long long)shape[1]);
  /* the streamed matrix: CSR rows of X, or of X^T for CSC */
  info->transposed = csc;
  s->rows = csc ? shape[1] : shape[0];
  s->cols = csc ? shape[0] : shape[1];
  H5_TRY(s->data = H5Dopen2(g, "data", H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open '%s/data'", group);
  H5_TRY(s->indices = H5Dopen2(g, "indices", H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open '%s/indices'", group);
  H5_TRY(s->indptr = H5Dopen2(g, "indptr", H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open '%s/indptr'", group);
opened:
  H5_TRY(t = H5Dget_type(s->data), PRSVD_ERR_INPUT, "cannot read the type of '%s/data'", group);
  {
    char what[4200];
    snprintf(what, sizeof what, "'%s/data' in '%s'", group, file);
    PRSVD_TRY(prsvd_h5_number_type(t, what, info->type, sizeof info->type));
  }
  s->nnz = length_of(s->data);
  s->arrays.rows = s->rows;
  s->arrays.cols = s->cols;
  s->arrays.nnz = s->nnz;
  s->arrays.read = sparse_read_array;
  s->arrays.ctx = s;
  {
    char where[4200];
    snprintf(where, sizeof where, "'%s' in '%s'", group, file);
    PRSVD_TRY(prsvd_sparse_check_layout(&s->arrays, where, info->format, shape, length_of(s->indices),
                                        length_of(s->indptr)));
  }
  info->rows = s->rows;
  info->cols = s->cols;
  info->nnz = s->nnz;
  info->sparse = 1;
  info->element_bytes = 8;
  info->storage_bytes = (int64_t)H5Dget_storage_size(s->data) + (int64_t)H5Dget_storage_size(s->indices) +
                        (int64_t)H5Dget_storage_size(s->indptr);
  snprintf(info->filters, sizeof info->filters, "none");
done:
  if (t >= 0) H5Tclose(t);
  if (g >= 0) H5Gclose(g);
  return status;
}

int prsvd_sparse_check_layout(const struct prsvd_sparse_arrays *a, const char *where,
                              const char *format, const int64_t shape[2], int64_t n_indices,
                              int64_t n_indptr) {
  int64_t ends[2];
  if (n_indices != a->nnz)
    PRSVD_ERR(PRSVD_ERR_INPUT, "%s: indices has %lld entries but data has %lld", where, (long long)n_indices,
              (long long)a->nnz);
  if (n_indptr != a->rows + 1)
    PRSVD_ERR(PRSVD_ERR_INPUT, "%s: indptr has %lld entries, expected %lld for %s shape %lld x %lld", where,
              (long long)n_indptr, (long long)(a->rows + 1), format, (long long)shape[0], (long long)shape[1]);
  if (a->read(a->ctx, PRSVD_SPARSE_INDPTR, 0, 1, &ends[0]) || a->read(a->ctx, PRSVD_SPARSE_INDPTR, a->rows, 1, &ends[1]))
    PRSVD_ERR(PRSVD_ERR_INPUT, "cannot read the indptr of %s", where);
  if (ends[0] != 0 || ends[1] != a->nnz)
    PRSVD_ERR(PRSVD_ERR_INPUT, "%s: indptr runs from %lld to %lld, expected 0 to nnz = %lld", where,
              (long long)ends[0], (long long)ends[1], (long long)a->nnz);
  return PRSVD_OK;
}

int prsvd_h5_open_sparse(MPI_Comm comm, const char *file, const char *group, struct prsvd_h5_info *info,
                         prsvd_source **src) {
  static const struct prsvd_source_ops ops = {NULL, sparse_close, sparse_read_csr, NULL, NULL, NULL, NULL};
  int status = PRSVD_OK;
  struct h5_sparse *s = NULL;
  char name[4096];
  *src = NULL;
  PRSVD_ALLOC(s, 1);
  s->file = s->data = s->indices = s->indptr = -1;
  PRSVD_TRY(open_sparse(file, group, info, s));
  snprintf(name, sizeof name, "%s:%s", file, group);
  s->name = strdup(name);
  s->arrays.name = s->name;
  s->path = strdup(file);
  PRSVD_TRY(prsvd_file_stamp(file, &s->stamp));
  PRSVD_TRY(prsvd_source_create_sparse(s->rows, s->cols, s->nnz, name, &ops, s, src));
  s = NULL;
done:
  sparse_close(s);
  return prsvd_error_agree(comm, status);
}
