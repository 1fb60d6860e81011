/* prsvd: initialise MPI, dispatch to a subcommand from the table, finalise. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prsvd_h5.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "options.h"
#include "slurm_check.h"

static const struct {
  const char *name;
  prsvd_cmd_fn fn;
  const char *summary;
} commands[] = {
    {"svd", cmd_svd, "truncated SVD of a dataset: A ~ U diag(S) V^T"},
    {"pca", cmd_pca, "principal components, centered implicitly (scikit-learn's outputs)"},
    {"project", cmd_project, "scores of new samples on the components of a pca (sklearn transform)"},
    {"eig", cmd_eig, "eigenpairs of a symmetric dataset (PSD: Nystrom): A ~ U diag(L) U^T"},
    {"id", cmd_id, "interpolative decomposition: k of A's own columns or rows"},
    {"cur", cmd_cur, "CUR decomposition: k columns C, k rows R and U, A ~ C U R"},
    {"tucker", cmd_tucker, "Tucker decomposition of an N-way dataset: A ~ G x_1 U1 ... x_N UN"},
    {"kfac", cmd_kfac, "eigendecompositions of K-FAC Kronecker factors: damped inverses"},
    {"info", cmd_info, "shape, type, chunks and filters of a dataset; the cost of a run"},
    {"verify", cmd_verify, "residual and orthogonality of an svd, pca or eig output"},
    {"gen", cmd_gen, "write a test matrix with a planted singular spectrum"},
    {"import", cmd_import, "an idx(.gz) or .npy file, or Fashion-MNIST, as an HDF5 dataset"},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

/* prsvd --help: the commands from the table (tools/man.sh reads them from here) */
static void usage(FILE *f) {
  fprintf(f, "usage: prsvd COMMAND [options]\n"
             "       mpirun -n P prsvd COMMAND [options]    (P ranks; under SLURM, srun)\n\n");
  prsvd_help_wrap(f,
                  "Randomized truncated SVD, PCA and symmetric eigendecompositions of matrices too "
                  "large for memory, streamed from HDF5 (also NetCDF-4, AnnData .h5ad, 10x and "
                  "MATLAB v7.3 files) in row panels of a memory budget, on 1 to N MPI ranks.",
                  0, 0);
  fprintf(f, "\ncommands:\n");
  for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n  prsvd COMMAND --help   options and examples of one command\n");
  fprintf(f, "  prsvd --version        versions of prsvd and the libraries it runs with\n");
  fprintf(f, "\nexamples:\n"
             "  # a 20000 x 1000 test matrix, its rank-10 SVD on 2 ranks, and a check\n"
             "  prsvd gen test.h5:/A --rows 20000 --cols 1000\n"
             "  mpirun -n 2 prsvd svd test.h5:/A -k 10 -o svd.h5\n"
             "  mpirun -n 2 prsvd verify test.h5:/A svd.h5\n");
  fprintf(f, "\nexit codes: 0 ok, 1 usage, 2 bad input, 3 output, 4 numerical, 5 MPI, 6 memory,\n");
  fprintf(f, "            7 internal, 8 --tol not reached, 99 checkpointed (rerun to resume),\n");
  fprintf(f, "            128+N ended by signal N (130 SIGINT, 143 SIGTERM, 138 SIGUSR1, ...)\n");
}

/* The BLAS's own description when it is OpenBLAS (openblas_get_config, found at run time so
 * that another BLAS links as well), else the package configure found (ScaLAPACK's too: it
 * has no version function). */
static void blas_version(void) {
  char *(*config)(void) = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_config");
  if (config) printf("  BLAS       %s\n", config()); /* names the core DYNAMIC_ARCH chose */
  else printf("  BLAS       %s; %s\n", PRSVD_BLAS_VERSION, PRSVD_BLAS_LIBS);
}

static void version(void) {
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(mpi, &len);
  char *nl = strchr(mpi, '\n');
  if (nl) *nl = '\0';
  char *comma = strchr(mpi, ',');
  if (comma) *comma = '\0';
  const char *h5 = prsvd_h5_version(); /* "HDF5 1.10.8" */
  printf("prsvd %s\n", PACKAGE_VERSION);
  printf("  MPI        %s\n", mpi);
  printf("  HDF5       %s\n", strncmp(h5, "HDF5 ", 5) ? h5 : h5 + 5);
  printf("  ScaLAPACK  %s; %s\n", PRSVD_SCALAPACK_VERSION, PRSVD_SCALAPACK_LIBS);
  blas_version();
}

static void command_line(int argc, char **argv, char *buf, size_t len) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < argc && used + 1 < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? " " : "", i ? argv[i] : "prsvd");
}

int main(int argc, char **argv) {
  int provided, status = PRSVD_OK;
  char cmdline[4096];
  struct prsvd_cli cli;
  /* before anything else, MPI_Init (seconds on a loaded node) above all: a signal at any moment
   * leaves with 128 + its number and a message, and a SLURM warning may come early */
  prsvd_cli_catch_signals(argc, argv);
  prsvd_h5_before_mpi_init();
  /* serialized: with MPI-IO inputs the reader thread calls MPI while the main thread
   * computes (never both at once) */
  prsvd_cli_mpi_init(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  memset(&cli, 0, sizeof cli);
  cli.comm = MPI_COMM_WORLD;
  cli.t_start = MPI_Wtime();
  MPI_Comm_rank(cli.comm, &cli.rank);
  MPI_Comm_size(cli.comm, &cli.nprocs);
  prsvd_cli_silent_leave = cli.rank != 0;
  prsvd_cli_catch_signals(argc, argv); /* any that MPI_Init reset */
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--debug")) cli.debug = 1;
  prsvd_h5_init(cli.debug);
  /* tests stop a write at an exact point (tests/README.md, "Test-only switches"): read here, by
   * the program, so the library reads no test switch */
  const char *at_write = getenv("PRSVD_TEST_SIGTERM_AT_WRITE"), *test_signal = getenv("PRSVD_TEST_SIGNAL");
  if (at_write) prsvd_h5_set_write_signal(at_write, test_signal ? atoi(test_signal) : 0);
  command_line(argc, argv, cmdline, sizeof cmdline);
  cli.command_line = cmdline;

  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    if (cli.rank == 0) usage(argc < 2 ? stderr : stdout);
    status = argc < 2 ? PRSVD_ERR_USAGE : PRSVD_OK;
  } else if (!strcmp(argv[1], "--version")) {
    if (cli.rank == 0) version();
  } else if ((status = prsvd_check_slurm_world(cli.comm)) != PRSVD_OK) {
    if (cli.rank == 0) prsvd_error_print(cli.debug); /* srun started copies, not one job */
  } else {
    int found = 0;
    for (int i = 0; i < N_COMMANDS; i++)
      if (!strcmp(argv[1], commands[i].name)) {
        found = 1;
        status = commands[i].fn(&cli, argc - 1, argv + 1);
        break;
      }
    if (!found) {
      status = prsvd_error_set(PRSVD_ERR_USAGE, __FILE__, __LINE__, __func__,
                               "unknown command '%s' (see prsvd --help)", argv[1]);
    }
    if (status < 0) status = PRSVD_OK; /* --help was shown */
    if (status == PRSVD_CHECKPOINTED && cli.rank == 0)
      fprintf(stderr, "prsvd: checkpointed: %s\n", prsvd_error_message());
    else if (status && cli.rank == 0)
      prsvd_error_print(cli.debug);
  }
  fflush(stdout);
  prsvd_cli_finishing = 1;
  if (prsvd_h5_close_failed()) { /* the error is printed and the temporary removed */
    fflush(stderr);
    prsvd_cli_singleton_cleanup();
    _exit(status ? status : PRSVD_ERR_OUTPUT);
  }
  MPI_Finalize();
  return status;
}
