/*
 * The HDF5 layer: dataset specs ("FILE:/path/to/dataset"), row-panel sources over 2-D
 * datasets of any integer or float type (chunked or contiguous, filtered or not), and writers
 * that create an output collectively with parallel HDF5 in a temporary file beside the target
 * and rename it into place only when complete.
 *
 * Only io/ includes hdf5.h; this header exposes no HDF5 type.  Functions marked collective
 * must be called by every rank of comm with the same arguments; their errors come back
 * agreed (the same status on every rank).
 */
#ifndef PRSVD_H5_H
#define PRSVD_H5_H

#include <mpi.h>
#include <stdint.h>

#include "prsvd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Before MPI_Init (it sets the MPI's environment): MPI-IO set up for every path up to
 * PATH_MAX. */
PRSVD_API void prsvd_h5_before_mpi_init(void);
/* Silence HDF5's own error printing unless debug (then its stack is shown on failures). */
PRSVD_API void prsvd_h5_init(int debug);
/* How dense inputs are read: POSIX reads by each rank (HDF5's sec2 driver), or MPI-IO
 * (HDF5's mpio driver) with independent or collective transfers. */
enum prsvd_h5_read { PRSVD_H5_READ_POSIX = 0, PRSVD_H5_READ_INDEPENDENT = 1, PRSVD_H5_READ_COLLECTIVE = 2 };
/* Which way panels run through a dense dataset: along its rows, or along its columns (the
 * source then streams the transpose, and info->transposed flips so that the program swaps U
 * and V back).  AUTO takes columns when a column of chunks fits the panel budget and a row
 * of chunks does not, or when the dataset is wide (n >= 8 m): then the sketches that every
 * rank holds whole are m long, not n. */
enum prsvd_h5_panels { PRSVD_H5_PANELS_AUTO = 0, PRSVD_H5_PANELS_ROWS = 1, PRSVD_H5_PANELS_COLUMNS = 2 };
/* The features (columns) of a dense input as the user's data has them (io/h5features.c): a
 * dataset of N >= 2 dimensions is the matrix whose rows are the sample dimension and whose
 * columns are the other dimensions flattened in C order (read by hyperslabs, without a copy);
 * missing values may leave features out, and weights multiply them.  The caller owns the
 * struct, sets its inputs, and keeps it alive while the source lives: the source records the
 * features it drops in it as it reads. */
#define PRSVD_H5_MAX_DIMS 32
#define PRSVD_H5_FEATURE_NAME 64
enum prsvd_h5_missing { PRSVD_H5_MISSING_FAIL = 0, PRSVD_H5_MISSING_DROP = 1 };
struct prsvd_h5_features {
  /* in */
  const char *sample_dim;         /* NULL: the first; a dimension index, or a NetCDF dimension name */
  enum prsvd_h5_missing missing;  /* DROP: a feature with a missing value (NaN, or a NetCDF
                                   * missing value) in any sample is left out: read as zeros */
  const char *weights;            /* NULL, "coslat" (sqrt(cos(latitude))) or "FILE:/DS" */
  /* out: set when the source opens */
  int ndims, sample_axis;
  int64_t dims[PRSVD_H5_MAX_DIMS];                      /* as stored */
  char dim_names[PRSVD_H5_MAX_DIMS][PRSVD_H5_FEATURE_NAME]; /* dimension scales; "" if none */
  char weights_from[PRSVD_H5_FEATURE_NAME + 16];            /* "coslat(lat)" or the file's spec */
  int64_t n;                      /* features: the product of the dims but the sample dim */
  double *w;                      /* n weights, or NULL */
  unsigned char *dropped;         /* n flags (DROP), 1: left out */
  int64_t n_dropped;              /* flags set (this rank's until prsvd_h5_features_agree) */
  int64_t fewest_dropped;         /* the fewest flags any panel this rank read was zeroed by */
  /* in, after the outputs so that their places do not move: 0, or the fewest dimensions the
   * caller takes (3 for a tensor), and the reason it names when a dataset has fewer */
  int min_dims;
  const char *min_dims_why;
};
/* Collective, after a pass or a solve under DROP: every rank's flags combined; *clean = 1 if
 * every panel every rank read was zeroed by all of them (the pass saw the matrix without
 * them), else 0; from then on every panel is read with all of them. */
PRSVD_API int prsvd_h5_features_agree(MPI_Comm comm, struct prsvd_h5_features *f, int *clean);
/* Frees what the source allocated in f (its inputs stay). */
PRSVD_API void prsvd_h5_features_free(struct prsvd_h5_features *f);

struct prsvd_h5_input {
  enum prsvd_h5_read read;
  enum prsvd_h5_panels panels;
  int64_t memory; /* per-rank panel budget (for AUTO) */
  int copy;       /* POSIX reads always copied (--read posix-copy): no rows lent in place */
  int allow_missing_sources; /* a virtual dataset's missing source reads as its fill value
                              * (--allow-missing-sources); else the open fails naming it */
  struct prsvd_h5_features *features; /* NULL: a 2-D dataset, missing values fail, no weights */
};
/* MPI-IO hints "KEY=VALUE" for every file opened through MPI-IO from now on (outputs,
 * checkpoints, inputs read with MPI-IO), in the MPI_Info given to H5Pset_fapl_mpio.  Not
 * collective (every rank passes the same); usage error naming a hint without '='. */
PRSVD_API int prsvd_h5_set_mpiio_hints(int n_hints, const char *const *hints);

/* "HDF5 1.10.8" */
PRSVD_API const char *prsvd_h5_version(void);

/* Split "FILE:/DS" at the last ':' followed by '/'.  Allocates *file and *dataset. */
PRSVD_API int prsvd_h5_parse_spec(const char *spec, char **file, char **dataset);

struct prsvd_h5_info {
  int64_t rows, cols;
  char type[48];          /* "float64", "int32", ... */
  int chunked;
  int64_t chunk_rows, chunk_cols;
  char filters[96];       /* "gzip(4), shuffle" or "none" */
  int64_t storage_bytes;  /* on disk */
  int64_t element_bytes;
  int64_t cache_bytes;    /* chunk cache a source allocates */
  int64_t nnz;            /* sparse groups: stored entries (0 for dense datasets) */
  char format[16];        /* sparse groups: "csr", "csc", "10x csc"; "" for dense */
  int transposed;         /* 1: the source streams X^T (a CSC X): swap U and V */
  int sparse;             /* a sparse group streamed as CSR panels */
  char conventions[192];  /* NetCDF-4 variables: packing and missing values; "" otherwise */
  int by_columns;         /* 1: column panels (the source streams the stored columns) */
  int lends;              /* rows lent as a mapping of the file (io/h5map.c): float64 (8),
                           * float32 (4), or 0: read through HDF5 */
  char mpiio_hints[1024]; /* read through MPI-IO: the hints of the open input, as
                           * MPI_File_get_info reports them ("key=value, ..."); else "" */
  int64_t virtual_sources; /* a virtual dataset: its mappings (0 for any other layout) */
  int64_t missing_sources; /* of those, the ones whose file or dataset is missing (read as
                            * the fill value, allowed by how->allow_missing_sources) */
  char first_missing[1024];/* the first of them and what is wrong with it */
};

/* Collective: describe FILE:/DS, failing with PRSVD_ERR_INPUT naming what is wrong. */
PRSVD_API int prsvd_h5_inspect(MPI_Comm comm, const char *file, const char *dataset,
                     struct prsvd_h5_info *info);
/* Collective (errors agreed); each rank reads its own rows, by POSIX reads or through MPI-IO
 * as how->read says (collective MPI-IO reads then make every rank call the source the
 * same number of times in a pass; the source's layout says so).  The chunk cache holds a
 * full row of chunks so no chunk is decompressed twice in a pass. */
PRSVD_API int prsvd_h5_open_input(MPI_Comm comm, const char *file, const char *dataset,
                        const struct prsvd_h5_input *how, struct prsvd_h5_info *info,
                        prsvd_source **src);
/* The same with POSIX reads of row panels. */
PRSVD_API int prsvd_h5_open_source(MPI_Comm comm, const char *file, const char *dataset,
                         struct prsvd_h5_info *info, prsvd_source **src);

/* Not collective: 1 if FILE:/group is a group with data, indices and indptr. */
PRSVD_API int prsvd_h5_is_sparse_group(const char *file, const char *group);
/* Collective: a sparse group (AnnData CSR/CSC, legacy h5sparse, 10x) as a CSR row source of
 * X, or of X^T with info->transposed for CSC (io/h5sparse.c). */
PRSVD_API int prsvd_h5_open_sparse(MPI_Comm comm, const char *file, const char *group,
                         struct prsvd_h5_info *info, prsvd_source **src);

/* Collective, before any work: PRSVD_ERR_OUTPUT unless path can be written as an output (a
 * non-empty file name in an existing, writable directory; an existing name only with force,
 * and only if it is a regular file or a symbolic link, never a directory, device, FIFO or
 * socket); PRSVD_ERR_USAGE naming both if it is the same file as one of `others` (NULL, or
 * ended by an entry with path NULL: every file the run reads, and its checkpoint), by device and
 * inode, or by resolved name for files that do not exist yet.  Removes temporaries of path
 * that killed runs on this host left (saying so on stderr). */
struct prsvd_h5_role { const char *what, *path; }; /* "input", "in.h5" */
PRSVD_API int prsvd_h5_check_output(MPI_Comm comm, const char *path, int force, const struct prsvd_h5_role *others);
/* Collective: the same for a checkpoint, which may exist (a resume reads, then replaces it)
 * and must not be any of `others` (the inputs and the output). */
PRSVD_API int prsvd_h5_check_checkpoint(MPI_Comm comm, const char *path, const struct prsvd_h5_role *others);

typedef struct prsvd_h5_writer prsvd_h5_writer;
typedef struct prsvd_h5_matrix prsvd_h5_matrix;

enum prsvd_h5_dtype { PRSVD_H5_FLOAT64 = 0, PRSVD_H5_FLOAT32 = 1 };

/* Collective: check path (prsvd_h5_check_output without others) and create the temporary
 * ".NAME.tmp.HOST.PID" beside it (NAME cut short to fit NAME_MAX, PID rank 0's; a path near
 * PATH_MAX is reached through its directory's descriptor); the commit replaces an existing
 * name only with force. */
PRSVD_API int prsvd_h5_writer_create(MPI_Comm comm, const char *path, int force, prsvd_h5_writer **w);
/* Collective: a writer for the datasets `datasets` (NULL-terminated paths) of path, which may
 * already hold others: those are kept (copied into the temporary, io/h5update.c); an
 * existing dataset of that name is replaced only with force. */
PRSVD_API int prsvd_h5_writer_update(MPI_Comm comm, const char *path, const char *const *datasets, int force,
                           prsvd_h5_writer **w);
/* Collective, before any work: the checks prsvd_h5_writer_update makes (path absent, or a
 * regular HDF5 file without those datasets unless force), and path none of `others`. */
PRSVD_API int prsvd_h5_check_update(MPI_Comm comm, const char *path, const char *const *datasets, int force,
                          const struct prsvd_h5_role *others);
/* Collective: a rows x cols dataset; chunk_rows = 0 means contiguous; gzip 0..9. */
PRSVD_API int prsvd_h5_matrix_create(prsvd_h5_writer *w, const char *name, int64_t rows, int64_t cols,
                           enum prsvd_h5_dtype dtype, int64_t chunk_rows, int64_t chunk_cols,
                           int gzip, prsvd_h5_matrix **mat);
/* Collective: every rank calls (nrows may be 0); writes rows [row0, row0+nrows) from a
 * row-major buffer. */
PRSVD_API int prsvd_h5_matrix_write(prsvd_h5_matrix *mat, int64_t row0, int64_t nrows, const double *rows);
/* Collective: the same from a column-major block with leading dimension ld. */
PRSVD_API int prsvd_h5_matrix_write_colmajor(prsvd_h5_matrix *mat, int64_t row0, int64_t nrows,
                                   const double *data, int64_t ld);
/* Collective: every rank calls (ncols may be 0); writes columns [col0, col0 + ncols) of every
 * row from data, row-major with row stride ld (entry (i, j) at data[i * ld + j]): a short, wide
 * matrix written by the column blocks its ranks hold. */
PRSVD_API int prsvd_h5_matrix_write_cols(prsvd_h5_matrix *mat, int64_t col0, int64_t ncols,
                                         const double *data, int64_t ld);
PRSVD_API void prsvd_h5_matrix_close(prsvd_h5_matrix **mat);
/* Collective: a 1-D float64 dataset, values identical on every rank. */
PRSVD_API int prsvd_h5_write_vector(prsvd_h5_writer *w, const char *name, int64_t n, const double *x);
/* Collective: an nd-way float64 dataset (shape[0] x ... x shape[nd - 1], C order, at most
 * PRSVD_H5_MAX_DIMS ways), values identical on every rank. */
PRSVD_API int prsvd_h5_write_array(prsvd_h5_writer *w, const char *name, int nd, const int64_t *shape,
                                   const double *x);
/* Collective: a 1-D int64 dataset (indices), values identical on every rank. */
PRSVD_API int prsvd_h5_write_indices(prsvd_h5_writer *w, const char *name, int64_t n, const int64_t *x);
/* Collective: a rows x cols CSR matrix as the group `name`, in AnnData's encoding (data float64,
 * indices and indptr int64; encoding-type csr_matrix, encoding-version 0.1.0, shape) and
 * h5sparse's (h5sparse_format, h5sparse_shape), so anndata, h5sparse and prsvd read it.  Every
 * rank calls with its own consecutive rows, rank 0's first (nrows may be 0): indptr holds
 * nrows + 1 offsets from indptr[0] = 0 into indices and data.  PRSVD_ERR_USAGE if the ranks'
 * rows do not add up to rows or an index lies outside [0, cols). */
PRSVD_API int prsvd_h5_write_csr(prsvd_h5_writer *w, const char *name, int64_t rows, int64_t cols, int64_t nrows,
                                 const int64_t *indptr, const int64_t *indices, const double *data);
/* Collective attributes on an object ("/" for the root); values identical on every rank. */
PRSVD_API int prsvd_h5_attr_string(prsvd_h5_writer *w, const char *obj, const char *name, const char *v);
PRSVD_API int prsvd_h5_attr_int(prsvd_h5_writer *w, const char *obj, const char *name, int64_t v);
PRSVD_API int prsvd_h5_attr_double(prsvd_h5_writer *w, const char *obj, const char *name, double v);
PRSVD_API int prsvd_h5_attr_doubles(prsvd_h5_writer *w, const char *obj, const char *name, int64_t n,
                          const double *v);
PRSVD_API int prsvd_h5_attr_ints(prsvd_h5_writer *w, const char *obj, const char *name, int64_t n,
                                 const int64_t *v);
/* Collective: close and rename into place (never over a name that appeared meanwhile unless
 * force); on failure the temporary is removed and the target left as it was. */
PRSVD_API int prsvd_h5_writer_commit(prsvd_h5_writer **w);
/* 1 once HDF5 failed to close a file (a full disk at the last moment): the program must then
 * end without MPI_Finalize, which would run HDF5's shutdown into that file and crash. */
PRSVD_API int prsvd_h5_close_failed(void);
/* Collective: close and remove the temporary. */
PRSVD_API void prsvd_h5_writer_abort(prsvd_h5_writer **w);
/* Not collective: for the handler of a terminating signal, on any thread; async-signal-safe,
 * and the process must exit right after prsvd_h5_leave_remove.  Decides this rank's temporary
 * goes unless it was renamed into place, after which none is created or renamed; waits for a
 * rename under way on another thread to end.  Returns the line (without a newline) saying that
 * an output was renamed into place and so is complete ("prsvd: interrupted: 'OUT' was written
 * in full"), or NULL. */
PRSVD_API const char *prsvd_h5_leave(void);
/* Async-signal-safe, after prsvd_h5_leave: removes the temporary it decided goes.  Separate so
 * that the handler says what happened first: a launcher may SIGKILL it within a millisecond. */
PRSVD_API void prsvd_h5_leave_remove(void);
/* Not collective, for tests: raise signal sig (SIGTERM if 0) on this rank at an exact point of
 * an output's write: point "rename", "renamed" or "commit" (just before and after the rename
 * into place, and at the commit's end), or "N", after the N-th dataset write; NULL or "": none. */
PRSVD_API void prsvd_h5_set_write_signal(const char *point, int sig);
/* Not collective: for a SIGCONT handler (async-signal-safe).  A launcher's kill sequence may
 * have begun, so the next output's rename into place waits until 2 s after it for a
 * terminating signal that may follow. */
PRSVD_API void prsvd_h5_continued(void);

/* Checkpoints of a solve (struct prsvd_checkpointer) in an HDF5 file, saved atomically.
 * The identity (input path, size, mtime, shape, type, and the options string) must match on
 * resume, and so must the number of ranks. */
struct prsvd_h5_checkpoint_spec {
  const char *path;
  const char *input_file, *input_dataset, *dtype;
  int64_t rows, cols;
  const char *options;   /* "k=20;p=10;q=1;..." */
  double every_seconds;
  volatile int *stop;
};
/* Collective. */
PRSVD_API int prsvd_h5_checkpointer(MPI_Comm comm, const struct prsvd_h5_checkpoint_spec *spec,
                          struct prsvd_checkpointer *cp);
PRSVD_API void prsvd_h5_checkpointer_free(struct prsvd_checkpointer *cp);
/* Collective: remove the checkpoint after a successful run (absent is fine). */
PRSVD_API int prsvd_h5_checkpoint_remove(MPI_Comm comm, const char *path);
/* A PCA written back into its AnnData file (pca --anndata, io/h5anndata.c).
 * Collective, before any work: file is an AnnData file (/obs and /var dataframes) of cells x
 * genes, a regular file this user may write, and holds none of obsm/X_pca, varm/PCs, uns/pca
 * unless force (PRSVD_ERR_INPUT: not AnnData, or of another shape; PRSVD_ERR_OUTPUT: read-only,
 * or a name taken). */
PRSVD_API int prsvd_h5_anndata_check(MPI_Comm comm, const char *file, int64_t cells, int64_t genes, int force);
/* Collective, once the computation is done and its input closed: a writer for the new version
 * of file (the file a symbolic link names): every object of it copied into a temporary beside
 * it but those three names (PRSVD_ERR_OUTPUT, before the copy, unless its directory has room
 * for the file's size and pca_bytes); the caller writes /obsm/X_pca, /varm/PCs, /uns/pca/variance and
 * /uns/pca/variance_ratio, then prsvd_h5_anndata_finish, then prsvd_h5_writer_commit, which
 * refuses to rename it over the file if that changed meanwhile, keeps the file's mode and
 * fsyncs the new version first. */
PRSVD_API int prsvd_h5_anndata_writer(MPI_Comm comm, const char *file, int force, int64_t pca_bytes,
                                      prsvd_h5_writer **w);
/* What the computation was, for uns/pca/params (beside scanpy's zero_center = True and
 * use_highly_variable = False). */
struct prsvd_h5_anndata_params {
  int log1p, scale;
  const char *rows_where; /* NULL: every cell */
};
/* Collective: the AnnData encoding attributes of what was written, the groups the file lacked
 * (as dicts) and uns/pca/params. */
PRSVD_API int prsvd_h5_anndata_finish(MPI_Comm comm, prsvd_h5_writer *w, const struct prsvd_h5_anndata_params *p);
/* Collective: the cells --rows-where obs/COLUMN (or obs/COLUMN=VALUE) selects: *mask (cells
 * bytes, 1 where selected; free it) and their count, from a boolean column of /obs (h5py's
 * bool, integers holding only 0 and 1, a categorical of True and False) or, with =VALUE, the
 * cells whose categorical column (string categories) is VALUE; as many entries as cells.
 * PRSVD_ERR_USAGE for a spec other than obs/COLUMN[=VALUE]; PRSVD_ERR_INPUT naming the column
 * for a missing, non-boolean or wrong-length column, a value other than 0 and 1 (with its
 * cell), a string categorical without =VALUE or without that category, or no cell selected. */
PRSVD_API int prsvd_h5_anndata_mask(MPI_Comm comm, const char *file, const char *column, int64_t cells,
                                    unsigned char **mask, int64_t *selected);
/* Collective: like prsvd_h5_writer_create, but always replacing path (no --force check). */
PRSVD_API int prsvd_h5_writer_create_temp(MPI_Comm comm, const char *path, prsvd_h5_writer **w);

/* Reading results back (verify, tests): attributes of the root group of FILE, not collective. */
PRSVD_API int prsvd_h5_read_attr_double(const char *file, const char *name, double *v);
/* Not collective: a string attribute of the root group of FILE into out, "" if it is absent
 * or not one string. */
PRSVD_API int prsvd_h5_read_attr_string(const char *file, const char *name, char *out, size_t len);
/* Not collective: 1 if FILE holds a dataset at path (0 if not, or unreadable). */
PRSVD_API int prsvd_h5_has_dataset(const char *file, const char *path);
/* Not collective: attribute `name` of object `obj` as doubles; *n = 0 if it is absent. */
PRSVD_API int prsvd_h5_read_attr_vector(const char *file, const char *obj, const char *name, int64_t *n,
                              double **x);
/* Not collective: a whole dataset of 1 to PRSVD_H5_MAX_DIMS dimensions as float64, C order;
 * *nd and shape[] its shape, *x allocated. */
PRSVD_API int prsvd_h5_read_array(const char *file, const char *dataset, int *nd, int64_t *shape, double **x);
/* Not collective: a whole 1-D float64 dataset; *n is its length, *x allocated. */
PRSVD_API int prsvd_h5_read_vector(const char *file, const char *dataset, int64_t *n, double **x);

/* Collective (rank 0 reads, every rank receives): the names of the groups directly under
 * `path` ("/" for the root) of FILE, in name order (io/h5groups.c).  Free with
 * prsvd_h5_free_names. */
PRSVD_API int prsvd_h5_list_groups(MPI_Comm comm, const char *file, const char *path, int *n, char ***names);
PRSVD_API void prsvd_h5_free_names(int n, char **names);

#ifdef __cplusplus
}
#endif
#endif
