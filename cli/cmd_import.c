/* prsvd import SOURCE -o FILE:/DS: an idx or idx.gz file, a .npy file, or Fashion-MNIST (Debian's
 * dataset-fashion-mnist) as a 2-D HDF5 dataset, written panel by panel through the atomic
 * writer.  gzip streams are read in order by rank 0; a .npy file by every rank, its own rows. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "prsvd_h5.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "idx.h"
#include "npy.h"
#include "options.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
static const char *const fashion_images[] = {"train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"};
static const char *const fashion_labels[] = {"train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
static const char fashion_classes[] = "0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, "
                                      "5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot";

struct import_opts {
  const char *output, *dtype;
  int64_t memory;
  int force, quiet, debug;
};

#define O(f) offsetof(struct import_opts, f)
static const struct prsvd_option import_options[] = {
    {"output", 'o', PRSVD_OPT_STRING, "FILE.h5:/DS", NULL, 0, 0, 1, "the dataset to write (fashion-mnist: labels go to 'labels' beside it)", O(output)},
    {"dtype", 0, PRSVD_OPT_STRING, "TYPE", NULL, 0, 0, 0, "float32 or float64 (default: float32 if it holds every value exactly, else float64)", O(dtype)},
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "256M", 1, 0, 0, "per-rank budget for the panels converted", O(memory)},
    PRSVD_OPT_FORCE(struct import_opts),
    PRSVD_OPT_QUIET(struct import_opts, "print nothing on success"),
    PRSVD_OPT_DEBUG(struct import_opts),
    PRSVD_OPT_END};
#undef O

static const struct prsvd_command_doc import_doc = {
    "import", "SOURCE -o FILE.h5:/DATASET [options]",
    "Write SOURCE as a 2-D HDF5 dataset that the other commands read.  SOURCE is an idx file,\n"
    "gzipped or not (N x d1 x ... x dk items become N rows of d1...dk columns; a 1-D labels\n"
    "file becomes N x 1), a .npy file (2-D, C order, <f8 <f4 <i4 <i8 or |u1), or\n"
    "'fashion-mnist': Debian's dataset-fashion-mnist, the 60000 training then 10000 test\n"
    "images as a 70000 x 784 dataset and their labels as 70000 x 1 'labels' beside it.\n"
    "FILE is created (temporary + rename); an existing FILE needs --force.",
    1,
    "# Fashion-MNIST (Debian's dataset-fashion-mnist) as 70000 x 784 float32\n"
    "prsvd import fashion-mnist -o fashion.h5:/X\n"
    "# a 2-D NumPy array (numpy.save)\n"
    "prsvd import data.npy -o data.h5:/X",
    0};

/* A matrix read for the import: a chain of idx files in row order (rank 0 only), or a .npy
 * file (every rank). */
struct matrix_in {
  int64_t rows, cols;
  int sequential;       /* only rank 0 reads, in row order */
  int exact_in_float32; /* every value converts to float32 exactly */
  int ndims;            /* of one idx item plus one; 2 for .npy */
  int64_t item_dims[PRSVD_IDX_MAX_DIMS];
  char what[256];       /* "uint8 idx, 60000 x 28 x 28" */
  prsvd_idx *idx[2];
  int n_idx, cur;
  int64_t done_in_cur;
  prsvd_npy *npy;
};

static void matrix_in_close(struct matrix_in *in) {
  for (int i = 0; i < in->n_idx; i++) prsvd_idx_close(&in->idx[i]);
  prsvd_npy_close(&in->npy);
}

/* Rank 0: open the idx files of one matrix, one after the other in rows; their items must
 * have one shape. */
static int open_idx_chain(struct matrix_in *in, int n, char *const *paths) {
  for (int i = 0; i < n; i++) {
    PRSVD_CHECK(prsvd_idx_open(paths[i], &in->idx[i]));
    in->n_idx = i + 1;
    const struct prsvd_idx_info *f = prsvd_idx_get_info(in->idx[i]);
    if (i == 0) {
      in->cols = f->cols;
      in->exact_in_float32 = f->exact_in_float32;
      in->ndims = f->ndims;
      memcpy(in->item_dims, f->dims, sizeof in->item_dims);
      size_t len = (size_t)snprintf(in->what, sizeof in->what, "%s idx", f->type_name);
      for (int d = 0; d < f->ndims && len < sizeof in->what; d++)
        len += (size_t)snprintf(in->what + len, sizeof in->what - len, "%s%lld", d ? " x " : ", ",
                                (long long)f->dims[d]);
    } else if (f->cols != in->cols) {
      PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' has items of %lld values but '%s' of %lld: cannot stack them",
                paths[i], (long long)f->cols, paths[0], (long long)in->cols);
    } else {
      in->exact_in_float32 &= f->exact_in_float32;
      size_t len = strlen(in->what);
      snprintf(in->what + len, sizeof in->what - len, " + %lld", (long long)f->rows);
    }
    in->rows += f->rows;
  }
  in->sequential = 1;
  return PRSVD_OK;
}

/* Collective: rank 0 opens the source, every rank learns its shape. */
static int open_source(MPI_Comm comm, int n, char *const *paths, int is_npy, struct matrix_in *in) {
  int rank, status = PRSVD_OK;
  MPI_Comm_rank(comm, &rank);
  if (is_npy) {
    status = prsvd_npy_open(paths[0], &in->npy);
    if (!status) {
      const struct prsvd_npy_info *f = prsvd_npy_get_info(in->npy);
      in->rows = f->rows;
      in->cols = f->cols;
      in->exact_in_float32 = f->exact_in_float32;
      in->ndims = 2;
      in->item_dims[0] = f->rows;
      in->item_dims[1] = f->cols;
      snprintf(in->what, sizeof in->what, "%s .npy, %lld x %lld", f->descr, (long long)f->rows,
               (long long)f->cols);
    }
  } else if (rank == 0) {
    status = open_idx_chain(in, n, paths);
  }
  PRSVD_CHECK(prsvd_error_agree(comm, status));
  int64_t shape[3 + PRSVD_IDX_MAX_DIMS] = {in->rows, in->cols, in->exact_in_float32, in->ndims};
  memcpy(shape + 4, in->item_dims + 1, sizeof(int64_t) * (PRSVD_IDX_MAX_DIMS - 1));
  PRSVD_MPI(MPI_Bcast(shape, 3 + PRSVD_IDX_MAX_DIMS, MPI_INT64_T, 0, comm));
  PRSVD_MPI(MPI_Bcast(in->what, sizeof in->what, MPI_CHAR, 0, comm));
  in->rows = shape[0], in->cols = shape[1], in->exact_in_float32 = (int)shape[2], in->ndims = (int)shape[3];
  memcpy(in->item_dims + 1, shape + 4, sizeof(int64_t) * (PRSVD_IDX_MAX_DIMS - 1));
  in->sequential = !is_npy;
  return PRSVD_OK;
}

/* Rows [row0, row0 + nrows): from the .npy file at any offset, or the next rows of the idx
 * chain (each file checked to its end as it is used up). */
static int matrix_in_read(struct matrix_in *in, int64_t row0, int64_t nrows, double *panel) {
  if (in->npy) return prsvd_npy_read_rows(in->npy, row0, nrows, panel);
  while (nrows > 0) {
    prsvd_idx *x = in->idx[in->cur];
    int64_t nr = prsvd_idx_get_info(x)->rows - in->done_in_cur;
    if (nr > nrows) nr = nrows;
    PRSVD_CHECK(prsvd_idx_read_rows(x, nr, panel));
    panel += nr * in->cols;
    nrows -= nr;
    in->done_in_cur += nr;
    if (in->done_in_cur == prsvd_idx_get_info(x)->rows) {
      PRSVD_CHECK(prsvd_idx_finish(x));
      in->cur++;
      in->done_in_cur = 0;
    }
  }
  return PRSVD_OK;
}

/* Collective: write the matrix as `name`, panel by panel.  A sequential source is read and
 * written by rank 0 while the other ranks join each collective write with no rows. */
static int write_matrix(const struct prsvd_cli *cli, prsvd_h5_writer *w, const char *name,
                        struct matrix_in *in, enum prsvd_h5_dtype dtype, int64_t memory) {
  int status = PRSVD_OK;
  prsvd_h5_matrix *mat = NULL;
  double *panel = NULL;
  int64_t row0 = 0, local_rows, span;
  int64_t panel_rows = memory / (8 * in->cols);
  if (panel_rows < 1)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--memory %lld bytes holds less than one row of %lld columns",
              (long long)memory, (long long)in->cols);
  if (in->sequential) {
    local_rows = cli->rank == 0 ? in->rows : 0;
    span = in->rows;
  } else {
    prsvd_row_block(in->rows, cli->rank, cli->nprocs, &row0, &local_rows);
    span = (in->rows + cli->nprocs - 1) / cli->nprocs;
  }
  if (panel_rows > span) panel_rows = span;
  PRSVD_TRY(prsvd_h5_matrix_create(w, name, in->rows, in->cols, dtype, 0, 0, 0, &mat));
  PRSVD_ALLOC(panel, (local_rows > 0 ? panel_rows : 1) * in->cols);
  /* every rank makes the same number of collective writes; the short ones write nothing */
  for (int64_t r = 0; r < span; r += panel_rows) {
    int64_t nr = local_rows - r;
    if (nr > panel_rows) nr = panel_rows;
    if (nr < 0) nr = 0;
    prsvd_profile_begin(PRSVD_EV_READ);
    if (nr > 0) status = matrix_in_read(in, row0 + r, nr, panel);
    prsvd_profile_end(PRSVD_EV_READ, 8.0 * (double)(nr * in->cols), 0.0);
    PRSVD_TRY(prsvd_error_agree(cli->comm, status));
    prsvd_profile_begin(PRSVD_EV_WRITE);
    PRSVD_TRY(prsvd_h5_matrix_write(mat, row0 + r, nr, panel));
    prsvd_profile_end(PRSVD_EV_WRITE, 0.0, 0.0);
  }
done:
  prsvd_h5_matrix_close(&mat);
  free(panel);
  return status;
}

/* Collective: the shape of one item (idx: the dimensions after the first) as an attribute. */
static int write_item_shape(prsvd_h5_writer *w, const char *name, const struct matrix_in *in) {
  double dims[PRSVD_IDX_MAX_DIMS];
  for (int d = 1; d < in->ndims; d++) dims[d - 1] = (double)in->item_dims[d];
  if (in->ndims > 1) PRSVD_CHECK(prsvd_h5_attr_doubles(w, name, "item_shape", in->ndims - 1, dims));
  return PRSVD_OK;
}

/* Rank 0: the four Fashion-MNIST files, or an error naming the Debian package. */
static int fashion_paths(char *images[2], char *labels[2]) {
  const char *dir = getenv("PRSVD_FASHION_MNIST");
  struct stat st;
  if (!dir || !*dir) dir = FASHION_DIR;
  for (int i = 0; i < 2; i++) {
    images[i] = malloc(strlen(dir) + 64);
    labels[i] = malloc(strlen(dir) + 64);
    if (!images[i] || !labels[i]) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory");
    sprintf(images[i], "%s/%s", dir, fashion_images[i]);
    sprintf(labels[i], "%s/%s", dir, fashion_labels[i]);
  }
  for (int i = 0; i < 2; i++) {
    const char *missing = stat(images[i], &st) ? images[i] : stat(labels[i], &st) ? labels[i] : NULL;
    if (missing)
      PRSVD_ERR(PRSVD_ERR_INPUT,
                "Fashion-MNIST not found: '%s' does not exist (install Debian's package "
                "dataset-fashion-mnist: apt-get install dataset-fashion-mnist)",
                missing);
  }
  return PRSVD_OK;
}

static int bcast_int(MPI_Comm comm, int *v) {
  PRSVD_MPI(MPI_Bcast(v, 1, MPI_INT, 0, comm));
  return PRSVD_OK;
}

/* "/group/X" -> "/group/labels" */
static int labels_name(const char *dataset, char **out) {
  const char *slash = strrchr(dataset, '/');
  size_t head = slash ? (size_t)(slash - dataset) + 1 : 0;
  if (!strcmp(dataset + head, "labels"))
    PRSVD_ERR(PRSVD_ERR_USAGE, "the images of fashion-mnist cannot be named '%s': the labels go "
              "there; choose another dataset name", dataset);
  *out = malloc(head + sizeof "labels");
  if (!*out) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory");
  memcpy(*out, dataset, head);
  strcpy(*out + head, "labels");
  return PRSVD_OK;
}

int cmd_import(struct prsvd_cli *cli, int argc, char **argv) {
  int status;
  struct import_opts o;
  const char *pos[1] = {NULL};
  char *file = NULL, *dataset = NULL, *labels = NULL;
  char *images_paths[2] = {NULL, NULL}, *labels_paths[2] = {NULL, NULL};
  struct matrix_in images, label_in;
  prsvd_h5_writer *w = NULL;
  int fashion, is_npy = 0;
  enum prsvd_h5_dtype dtype;
  memset(&images, 0, sizeof images);
  memset(&label_in, 0, sizeof label_in);

  status = prsvd_options_parse(&import_doc, import_options, argc, argv, &o, pos);
  if (status) return status;
  if (o.dtype && strcmp(o.dtype, "float64") && strcmp(o.dtype, "float32"))
    PRSVD_FAIL(PRSVD_ERR_USAGE, "unknown --dtype '%s': expected float64 or float32", o.dtype);
  PRSVD_TRY(prsvd_h5_parse_spec(o.output, &file, &dataset));
  fashion = !strcmp(pos[0], "fashion-mnist");
  if (fashion) PRSVD_TRY(labels_name(dataset, &labels));
  const char *written[] = {dataset, labels, NULL};
  const struct prsvd_h5_role read[] = {{"input", pos[0]}, {NULL, NULL}};
  PRSVD_TRY(prsvd_h5_check_update(cli->comm, file, written, o.force, read));

  if (cli->rank == 0) {
    if (fashion) status = fashion_paths(images_paths, labels_paths);
    else is_npy = prsvd_npy_is_npy(pos[0]);
  }
  PRSVD_TRY(prsvd_error_agree(cli->comm, status));
  PRSVD_TRY(bcast_int(cli->comm, &is_npy));
  if (fashion) {
    PRSVD_TRY(open_source(cli->comm, 2, images_paths, 0, &images));
    PRSVD_TRY(open_source(cli->comm, 2, labels_paths, 0, &label_in));
    if (cli->rank == 0)
      for (int i = 0; i < 2; i++) {
        int64_t ni = prsvd_idx_get_info(images.idx[i])->rows, nl = prsvd_idx_get_info(label_in.idx[i])->rows;
        if (ni != nl || label_in.cols != 1)
          status = prsvd_error_set(PRSVD_ERR_INPUT, __FILE__, __LINE__, __func__,
                                   "'%s' holds %lld labels of %lld values but '%s' %lld images",
                                   labels_paths[i], (long long)nl, (long long)label_in.cols,
                                   images_paths[i], (long long)ni);
      }
    PRSVD_TRY(prsvd_error_agree(cli->comm, status));
  } else {
    char *source = (char *)pos[0];
    PRSVD_TRY(open_source(cli->comm, 1, &source, is_npy, &images));
  }
  if (o.dtype) dtype = !strcmp(o.dtype, "float32") ? PRSVD_H5_FLOAT32 : PRSVD_H5_FLOAT64;
  else dtype = images.exact_in_float32 ? PRSVD_H5_FLOAT32 : PRSVD_H5_FLOAT64;

  PRSVD_TRY(prsvd_h5_writer_update(cli->comm, file, written, o.force, &w));
  PRSVD_TRY(write_matrix(cli, w, dataset, &images, dtype, o.memory));
  PRSVD_TRY(prsvd_h5_attr_string(w, dataset, "source", fashion ? "fashion-mnist" : pos[0]));
  PRSVD_TRY(prsvd_h5_attr_string(w, dataset, "source_format", images.what));
  if (!is_npy) PRSVD_TRY(write_item_shape(w, dataset, &images));
  if (fashion) {
    PRSVD_TRY(prsvd_h5_attr_int(w, dataset, "train_rows", 60000));
    PRSVD_TRY(write_matrix(cli, w, labels, &label_in, dtype, o.memory));
    PRSVD_TRY(prsvd_h5_attr_string(w, labels, "source_format", label_in.what));
    PRSVD_TRY(prsvd_h5_attr_string(w, labels, "classes", fashion_classes));
    PRSVD_TRY(prsvd_h5_attr_int(w, labels, "train_rows", 60000));
  }
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "prsvd_version", PACKAGE_VERSION));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "command_line", cli->command_line));
  PRSVD_TRY(prsvd_h5_writer_commit(&w));
  if (!o.quiet && cli->rank == 0) {
    const char *type = dtype == PRSVD_H5_FLOAT32 ? "float32" : "float64";
    printf("wrote %s:%s (%lld x %lld %s, from %s)", file, dataset, (long long)images.rows,
           (long long)images.cols, type, images.what);
    if (fashion) printf(" and %s (%lld x 1 %s)", labels, (long long)label_in.rows, type);
    printf(" in %.2f s\n", MPI_Wtime() - cli->t_start);
  }
done:
  prsvd_h5_writer_abort(&w);
  matrix_in_close(&images);
  matrix_in_close(&label_in);
  for (int i = 0; i < 2; i++) free(images_paths[i]), free(labels_paths[i]);
  free(file);
  free(dataset);
  free(labels);
  return status;
}
