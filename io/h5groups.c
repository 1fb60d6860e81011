/* Listing the groups of a file: the layers of a K-FAC factor file (prsvd kfac). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5util.h"
#include "prsvd_h5.h"

struct group_list {
  char *buf; /* names, each followed by '\0' */
  size_t len, cap;
  int n;
};

static herr_t add_group(hid_t parent, const char *name, const H5L_info_t *li, void *arg) {
  struct group_list *g = arg;
  H5O_info_t oi;
  (void)li;
  if (H5Oget_info_by_name(parent, name, &oi, H5P_DEFAULT) < 0) return -1;
  if (oi.type != H5O_TYPE_GROUP) return 0;
  size_t need = strlen(name) + 1;
  if (g->len + need > g->cap) {
    size_t cap = 2 * (g->len + need);
    char *grown = realloc(g->buf, cap);
    if (!grown) return -1;
    g->buf = grown, g->cap = cap;
  }
  memcpy(g->buf + g->len, name, need);
  g->len += need;
  g->n++;
  return 0;
}

/* rank 0: the '\0'-separated names of the groups under path */
static int list_local(const char *file, const char *path, struct group_list *g) {
  int status = PRSVD_OK;
  hid_t f = -1, grp = -1;
  PRSVD_TRY(prsvd_h5_open_ro(file, H5P_DEFAULT, "input", &f));
  if (strcmp(path, "/") != 0 && H5Lexists(f, path, H5P_DEFAULT) <= 0)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' has no group '%s'", file, path);
  H5_TRY(grp = H5Gopen2(f, path, H5P_DEFAULT), PRSVD_ERR_INPUT, "'%s' in '%s' is not a group", path, file);
  H5_TRY(H5Literate(grp, H5_INDEX_NAME, H5_ITER_INC, NULL, add_group, g), PRSVD_ERR_INPUT,
         "cannot list the groups of '%s' in '%s'", path, file);
done:
  if (grp >= 0) H5Gclose(grp);
  if (f >= 0) H5Fclose(f);
  return status;
}

int prsvd_h5_list_groups(MPI_Comm comm, const char *file, const char *path, int *n, char ***names) {
  int status = PRSVD_OK, rank;
  struct group_list g = {NULL, 0, 0, 0};
  int64_t head[2] = {0, 0};
  *n = 0;
  *names = NULL;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) status = list_local(file, path, &g);
  PRSVD_TRY(prsvd_error_agree(comm, status));
  head[0] = g.n, head[1] = (int64_t)g.len;
  MPI_Bcast(head, 2, MPI_INT64_T, 0, comm);
  if (rank != 0) {
    g.n = (int)head[0], g.len = (size_t)head[1];
    g.buf = malloc(g.len ? g.len : 1);
    if (!g.buf) MPI_Abort(comm, PRSVD_ERR_NOMEM); /* the others wait in the broadcast */
  }
  if (g.len) MPI_Bcast(g.buf, (int)g.len, MPI_CHAR, 0, comm);
  PRSVD_ALLOC(*names, g.n ? g.n : 1);
  for (size_t off = 0; (int)*n < g.n; off += strlen(g.buf + off) + 1) {
    (*names)[*n] = strdup(g.buf + off);
    if (!(*names)[*n]) PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory listing the groups of '%s'", file);
    (*n)++;
  }
done:
  free(g.buf);
  if (status) {
    prsvd_h5_free_names(*n, *names);
    *n = 0;
    *names = NULL;
  }
  return status;
}

void prsvd_h5_free_names(int n, char **names) {
  for (int i = 0; names && i < n; i++) free(names[i]);
  free(names);
}
