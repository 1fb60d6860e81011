/* Writing some datasets of a file that already holds others (import and gen with FILE:/DS):
 * the new file is the old one's other objects copied into the temporary, then the new
 * datasets, renamed into place as every output is.  The user's file is never modified in
 * place (a crash inside HDF5 while it is open for writing can leave it unreadable), and no
 * other dataset of it is lost.  The cost is a copy of the rest of the file; a replaced dataset
 * inside a group is copied with its group, then unlinked, so its space stays in the file
 * (h5repack reclaims it). */
#include <stdlib.h>
#include <string.h>

#include "h5util.h"
#include "paths.h"
#include "prsvd_h5.h"

/* Copy every attribute of src onto dst (root groups: H5Ocopy cannot copy a root). */
static herr_t copy_attr(hid_t src, const char *name, const H5A_info_t *info, void *vdst) {
  (void)info;
  hid_t a = H5Aopen(src, name, H5P_DEFAULT), type = a >= 0 ? H5Aget_type(a) : -1;
  hid_t space = a >= 0 ? H5Aget_space(a) : -1, b = -1;
  herr_t rc = -1;
  const hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  const size_t size = type >= 0 ? H5Tget_size(type) : 0;
  void *buf = n >= 0 && size > 0 ? calloc((size_t)(n ? n : 1), size) : NULL;
  if (buf && H5Aread(a, type, buf) >= 0) {
    b = H5Acreate2(*(hid_t *)vdst, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    rc = b >= 0 && H5Awrite(b, type, buf) >= 0 ? 0 : -1;
    if (H5Tdetect_class(type, H5T_VLEN) > 0 || H5Tis_variable_str(type) > 0)
      H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf);
  }
  free(buf);
  if (b >= 0) H5Aclose(b);
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  if (a >= 0) H5Aclose(a);
  return rc;
}

struct copy_ctx {
  hid_t dst;
  const char *const *replaced;
  const char *failed;
};

/* Copy each member of the root except a replaced dataset; members are copied whole. */
static herr_t copy_link(hid_t src, const char *name, const H5L_info_t *info, void *vctx) {
  struct copy_ctx *c = vctx;
  (void)info;
  for (int i = 0; c->replaced[i]; i++)
    if (!strcmp(c->replaced[i] + (c->replaced[i][0] == '/'), name)) return 0;
  if (H5Ocopy(src, name, c->dst, name, H5P_DEFAULT, H5P_DEFAULT) < 0) {
    c->failed = name;
    return -1;
  }
  return 0;
}

/* Rank 0 and every rank: *exists, and the checks of prsvd_h5_check_update. */
static int check_update(MPI_Comm comm, const char *path, const char *const *datasets, int force,
                        const struct prsvd_h5_role *others, int *exists) {
  int status = PRSVD_OK, rank;
  hid_t old = -1;
  MPI_Comm_rank(comm, &rank);
  *exists = 0;
  if (rank == 0) {
    *exists = prsvd_path_kind(path) != PRSVD_PATH_ABSENT;
    /* an existing file must be a regular one, and it is replaced (with its other objects kept) */
    status = prsvd_path_check_output(path, "output", *exists);
    if (!status && *exists) status = prsvd_path_check_input(path, "output");
    if (!status) status = prsvd_h5_check_distinct(path, "output", others);
    if (!status && *exists) status = prsvd_h5_open_ro(path, H5P_DEFAULT, "output", &old);
    for (int i = 0; !status && *exists && datasets[i]; i++)
      if (H5Lexists(old, datasets[i], H5P_DEFAULT) > 0 && !force)
        status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__,
                                 "'%s' already holds '%s' (use --force to replace that dataset; the "
                                 "file's other objects are kept)", path, datasets[i]);
    if (old >= 0) H5Fclose(old);
  }
  PRSVD_CHECK(prsvd_error_agree(comm, status));
  PRSVD_MPI(MPI_Bcast(exists, 1, MPI_INT, 0, comm));
  return PRSVD_OK;
}

int prsvd_h5_check_update(MPI_Comm comm, const char *path, const char *const *datasets, int force,
                          const struct prsvd_h5_role *others) {
  int exists;
  return check_update(comm, path, datasets, force, others, &exists);
}

int prsvd_h5_writer_update(MPI_Comm comm, const char *path, const char *const *datasets, int force,
                           prsvd_h5_writer **out) {
  int status = PRSVD_OK, exists = 0;
  hid_t old = -1, root = -1, dst_root = -1;
  *out = NULL;
  PRSVD_CHECK(check_update(comm, path, datasets, force, NULL, &exists));
  if (!exists) return prsvd_h5_writer_create(comm, path, 0, out);
  /* every rank reads the old file (HDF5 copies collectively into the parallel temporary) */
  status = prsvd_h5_open_ro(path, H5P_DEFAULT, "output", &old);
  status = prsvd_error_agree(comm, status);
  if (!status) status = prsvd_h5_writer_create_temp(comm, path, out);
  if (!status) {
    struct copy_ctx c = {prsvd_h5_writer_file(*out), datasets, NULL};
    hsize_t idx = 0;
    root = H5Gopen2(old, "/", H5P_DEFAULT);
    dst_root = H5Gopen2(c.dst, "/", H5P_DEFAULT);
    if (root < 0 || dst_root < 0 || H5Aiterate2(root, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, copy_attr, &dst_root) < 0)
      status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__,
                               "cannot copy the attributes of '%s' into its new version", path);
    idx = 0;
    if (!status && H5Literate(root, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, copy_link, &c) < 0)
      status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__,
                               "cannot copy '%s' of '%s' into its new version", c.failed ? c.failed : "?", path);
    for (int i = 0; !status && datasets[i]; i++) /* one inside a group came with it */
      if (strchr(datasets[i] + 1, '/') && H5Lexists(c.dst, datasets[i], H5P_DEFAULT) > 0 &&
          H5Ldelete(c.dst, datasets[i], H5P_DEFAULT) < 0)
        status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__,
                                 "cannot unlink the old '%s' in the new version of '%s'", datasets[i], path);
    status = prsvd_error_agree(comm, status);
    if (status) prsvd_h5_writer_abort(out);
    else prsvd_h5_writer_mark_output(*out, 1);
  }
  if (dst_root >= 0) H5Gclose(dst_root);
  if (root >= 0) H5Gclose(root);
  if (old >= 0) H5Fclose(old);
  return status;
}
