/* prsvd: initialise MPI, dispatch to a subcommand from the table, finalise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prsvd_h5.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "slurm_check.h"

static const struct {
  const char *name;
  prsvd_cmd_fn fn;
  const char *summary;
} commands[] = {
    {"svd", cmd_svd, "truncated SVD of an HDF5 dataset: A ~ U diag(S) V^T"},
    {"eig", cmd_eig, "eigendecomposition of a symmetric (PSD: Nystrom) dataset: A ~ U diag(L) U^T"},
    {"kfac", cmd_kfac, "eigendecompositions of K-FAC Kronecker factors for damped inverses"},
    {"pca", cmd_pca, "principal components, centering implicitly (scikit-learn's PCA outputs)"},
    {"info", cmd_info, "shape, type, chunks and filters of a dataset; the cost of a run"},
    {"verify", cmd_verify, "residual and orthogonality of an svd output, in one pass"},
    {"gen", cmd_gen, "write a test matrix with a planted singular spectrum"},
    {"import", cmd_import, "an idx(.gz) or .npy file, or Fashion-MNIST, as an HDF5 dataset"},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
  fprintf(f, "usage: prsvd COMMAND [options]   (mpirun -n P prsvd ... to run on P ranks)\n\n");
  fprintf(f, "Randomized truncated SVD of matrices too large for memory, streamed from HDF5.\n\n");
  fprintf(f, "commands:\n");
  for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n  prsvd COMMAND --help   options of one command\n");
  fprintf(f, "  prsvd --version        versions of prsvd and the libraries it runs with\n");
  fprintf(f, "\nexit codes: 0 ok, 1 usage, 2 bad input, 3 output, 4 numerical, 5 MPI, 6 memory,\n");
  fprintf(f, "            7 internal, 8 --tol not reached, 99 checkpointed (rerun to resume),\n");
  fprintf(f, "            128+N ended by signal N (130 SIGINT, 143 SIGTERM, 138 SIGUSR1, ...)\n");
}

static void version(void) {
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(mpi, &len);
  char *nl = strchr(mpi, '\n');
  if (nl) *nl = '\0';
  char *comma = strchr(mpi, ',');
  if (comma) *comma = '\0';
  printf("prsvd %s\n", PACKAGE_VERSION);
  printf("  MPI        %s\n", mpi);
  printf("  %s\n", prsvd_h5_version());
  printf("  ScaLAPACK  %s\n", PRSVD_SCALAPACK_LIBS);
  printf("  BLAS       %s\n", PRSVD_BLAS_LIBS);
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
  MPI_Finalize();
  return status;
}
