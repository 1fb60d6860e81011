/*
 * What the subcommands of the prsvd program share: the dispatch table's signature, the
 * run context, progress on stderr, the summary and --json output.  The program layer: it may
 * use io/ (through include/prsvd_h5.h, never hdf5.h) and the library.
 */
#ifndef PRSVD_CLI_H
#define PRSVD_CLI_H

#include <json-c/json.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>

#include "prsvd_h5.h"
#include "options.h"
#include "profile.h"
#include "prsvd.h"

struct prsvd_cli {
  MPI_Comm comm;
  int rank, nprocs;
  const char *command_line;
  double t_start;
  int debug;
};

typedef int (*prsvd_cmd_fn)(struct prsvd_cli *cli, int argc, char **argv);

int cmd_svd(struct prsvd_cli *cli, int argc, char **argv);
int cmd_info(struct prsvd_cli *cli, int argc, char **argv);
int cmd_verify(struct prsvd_cli *cli, int argc, char **argv);
int cmd_gen(struct prsvd_cli *cli, int argc, char **argv);
int cmd_eig(struct prsvd_cli *cli, int argc, char **argv);
int cmd_kfac(struct prsvd_cli *cli, int argc, char **argv);
int cmd_pca(struct prsvd_cli *cli, int argc, char **argv);
int cmd_import(struct prsvd_cli *cli, int argc, char **argv);
/* 1 if name is an eig method (its enum in *method, if not NULL): what eig writes as an output's
 * 'method' attribute, and how verify tells an eig result from an svd one. */
int prsvd_eig_method(const char *name, enum prsvd_svd_method *method);
int cmd_id(struct prsvd_cli *cli, int argc, char **argv);
int cmd_cur(struct prsvd_cli *cli, int argc, char **argv);
int cmd_tucker(struct prsvd_cli *cli, int argc, char **argv);
int cmd_project(struct prsvd_cli *cli, int argc, char **argv);

/* Set by SIGUSR1/SIGTERM after prsvd_cli_stop_on_signals(): save a checkpoint and stop. */
extern volatile int prsvd_cli_stop;
void prsvd_cli_stop_on_signals(void);

/* The first thing main does, and again after MPI_Init: every signal whose default action
 * would end the process (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM, SIGXCPU, SIGPIPE, SIGUSR1
 * and SIGUSR2 among them) leaves through prsvd_cli_leave, but one ignored at start; with
 * --checkpoint in argv, SIGUSR1 and SIGTERM stop instead (prsvd_cli_stop_on_signals). */
void prsvd_cli_catch_signals(int argc, char **argv);
/* The handler of those signals, async-signal-safe, on any thread: removes the temporary output
 * unless it was renamed into place (prsvd_h5_leave), says which on stderr with the signal's
 * name unless prsvd_cli_finishing (the run is over and mpirun may be ending the job), and exits
 * 128 + sig.  Nothing but a complete, renamed file is ever left behind; a checkpoint is left
 * as it was. */
void prsvd_cli_leave(int sig);
/* MPI_Init_thread with those signals held back: a rank that leaves inside MPI_Init (during its
 * PMIx handshake) can deadlock Open MPI 4.1's mpirun in its own finalize, so a signal that
 * comes then takes effect as soon as MPI_Init returns, though rank 0 says so at once (a peer
 * ended before its MPI_Init leaves it in there until mpirun's SIGKILL); a second one does not
 * wait (an MPI_Init that hangs can still be interrupted). */
int prsvd_cli_mpi_init(int *argc, char ***argv, int required, int *provided);
/* Open MPI's ob1 point-to-point layer, unless the user chose one, for a launch with no peer off
 * its node (cli/pml.c): called by prsvd_cli_mpi_init, before MPI_Init. */
void prsvd_cli_pick_pml(void);
/* Open MPI 4's singleton without its orted (whose PMIx events raced MPI_Finalize into a
 * SIGSEGV), in a session directory of its own, unless the user chose (cli/singleton.c):
 * called by prsvd_cli_mpi_init, before MPI_Init. */
void prsvd_cli_pick_singleton(void);
/* Async-signal-safe: removes that session directory, with the MPI-IO file it may hold, on an
 * exit that skips MPI_Finalize (which removes it itself). */
void prsvd_cli_singleton_cleanup(void);
/* The rank the launcher gave this process, known before MPI_Init: Open MPI's mpirun, PMIx
 * (srun --mpi=pmix), PMI (MPICH, srun --mpi=pmi2), SLURM; -1 if none says (no launcher). */
int prsvd_cli_launcher_rank(void);
extern volatile sig_atomic_t prsvd_cli_finishing;
/* Set on every rank but 0: the rank that speaks for the run says what a signal left. */
extern volatile sig_atomic_t prsvd_cli_silent_leave;

/* Collective: the checkpointer of a solve (spec->path is --checkpoint), stopped at a panel
 * boundary by SIGUSR1/SIGTERM. */
struct prsvd_h5_checkpoint_spec;
/* Collective, before any work: the output (and the checkpoint, when one is given) can be
 * written, and neither is the input nor the other (prsvd_h5_check_output, _checkpoint). */
int prsvd_cli_check_files(const struct prsvd_cli *cli, const char *input, const char *output, int force,
                          const char *checkpoint);
int prsvd_cli_checkpointer(const struct prsvd_cli *cli, const struct prsvd_h5_checkpoint_spec *spec,
                           struct prsvd_checkpointer *cp);
/* The identity of a run's options that a checkpoint's resume must match (svd, pca, eig):
 * every parameter that shapes the state or the result. */
void prsvd_cli_checkpoint_options(char *buf, size_t size, const char *method,
                                  const struct prsvd_svd_params *prm, const char *sketch,
                                  const char *precision, int by_columns);
/* Collective: prsvd_svd_solve; a stop on request says which checkpoint holds the state. */
int prsvd_cli_solve(prsvd_svd *svd, prsvd_source *src, const char *checkpoint);

/* The run of a solving command (svd, pca, eig), cli/run.c: open the input, make the params
 * (hook), estimate, print the plan (hook, then the cost lines), check the files, progress and
 * the checkpointer, solve, write (hook), report (hook: --json fields or the summary), and free
 * what it made.  Collective.  A command embeds the run as the first member of its own struct,
 * so its hooks reach their options by a cast. */

/* rank 0: "prsvd: warning: ..." on stderr */
void prsvd_cli_warn(const struct prsvd_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* rank 0: the warning that an input's missing virtual sources read as the fill value (they
 * were allowed by --allow-missing-sources); nothing when none is missing. */
void prsvd_cli_warn_missing_sources(const struct prsvd_cli *cli, const char *spec, const struct prsvd_h5_info *in);

/* Collective: the fewest CPUs a rank of this run may use (its affinity mask: 1 when the
 * launcher bound it to a core), 0 if unknown; *spare: some node has more CPUs online than
 * ranks of this run on it. */
int prsvd_cli_cpus(const struct prsvd_cli *cli, int *spare);
/* rank 0, once a run: with cpus == 1 and a CPU to spare, the warning that the reader thread
 * has no CPU of its own, and how to give it one (none when every CPU already runs a rank). */
void prsvd_cli_warn_cpus(const struct prsvd_cli *cli, int cpus, int spare);

/* The compute threads of a run, for the plan and --json: "2 ranks x 1 thread (auto: ...)",
 * and whether the method's passes split their panels among them (plan->threaded).  A NULL
 * plan (kfac: no streamed pass of its own) says ranks x threads and why alone. */
void prsvd_cli_print_threads(const struct prsvd_cli *cli, const struct prsvd_threads_choice *tc,
                             const struct prsvd_svd_plan *plan, int prefetch);
json_object *prsvd_threads_json(const struct prsvd_cli *cli, const struct prsvd_threads_choice *tc,
                                const struct prsvd_svd_plan *plan);

/* Progress on stderr from rank 0: percent, GB/s, ETA; a line per 10% when not a terminal.
 * Under -q auto also each pass's estimates (prsvd_progress_estimate), whose changes are kept
 * for the summary and --json. */
#define PRSVD_PROGRESS_MAX_ESTIMATES 128
struct prsvd_progress {
  const struct prsvd_cli *cli;
  int enabled, tty, last_decile;
  double bytes_per_row; /* one row of A, all ranks together read nprocs rows per row here */
  double t0;
  const char *values; /* what the estimates are: "singular values" (the default), "eigenvalues" */
  int n_changes;      /* -q auto: the estimates' change after each pass (NaN: the first) */
  double changes[PRSVD_PROGRESS_MAX_ESTIMATES];
};

struct prsvd_cli_run;
struct prsvd_cli_run_hooks {
  /* the input is open (run->info, run->src): run->prm from the options; usage checks */
  int (*params)(struct prsvd_cli_run *run);
  /* rank 0, without --quiet or --json: the plan's lines before its cost */
  void (*plan)(const struct prsvd_cli_run *run);
  /* with --checkpoint: what a resume must match (prsvd_cli_checkpoint_options) */
  void (*identity)(const struct prsvd_cli_run *run, char *buf, size_t size);
  int (*write)(struct prsvd_cli_run *run);
  /* every rank: with --json, the command's fields into j (the run adds phases, pass_times,
   * plan, memory); without, the summary on stdout unless --quiet (j NULL).  Returns the run's
   * status (svd: --tol not met) */
  int (*report)(struct prsvd_cli_run *run, json_object *j);
  int uses_cpus; /* report the CPUs of a rank (plan, --json cpus) and warn when the reader has none */
};
struct prsvd_cli_run {
  /* set by the command */
  const struct prsvd_cli_run_hooks *hooks;
  const char *spec; /* FILE:/DATASET */
  struct prsvd_h5_input how;
  const struct prsvd_opt_list *mpiio_hints;
  const char *output, *checkpoint;
  int updates_input;  /* the output is the input file itself (pca --anndata): output NULL, and
                       * the command's hooks check and write it */
  double checkpoint_every;
  int force, json, quiet, progress;
  int threads;        /* --threads (0: automatic, prsvd_threads_choose) */
  const char *values; /* what -q auto's estimates are ("eigenvalues"; NULL: singular values) */
  /* set by the run, for the hooks */
  struct prsvd_cli *cli;
  char *file, *dataset;
  struct prsvd_h5_info info;
  prsvd_source *src;
  struct prsvd_svd_params prm;
  struct prsvd_svd_estimate est;
  struct prsvd_threads_choice tc;
  struct prsvd_progress prog;
  prsvd_svd *svd;
  struct prsvd_svd_stats st;
  struct prsvd_profile_row rows[PRSVD_N_EVENTS];
  int cpus;
  double elapsed;
};
int prsvd_cli_run(struct prsvd_cli *cli, struct prsvd_cli_run *run);

/* The explained variance S_j^2 / (m - 1) of each of the k components and its share of the
 * total variance (ratio; either may be NULL): pca's outputs, summary and --json alike. */
void prsvd_cli_pca_variance(const double *s, int64_t k, int64_t m, double total_variance, double *ev,
                            double *ratio);
/* pca --anndata (cli/pca_anndata.c): the PCA written into the input .h5ad. */
/* pca --rows-where and --log1p (cli/pca_anndata.c): the cells kept, of how many. */
struct prsvd_cli_select {
  unsigned char *mask;    /* NULL: every cell */
  int64_t cells, selected;
};
/* Collective, from the params hook: the run's source seen through the selection of cells (rows,
 * or of a CSC X streamed as X^T its columns) and log1p; run->info's shape becomes the kept
 * cells'. */
int prsvd_cli_select(struct prsvd_cli_run *run, int swap, const char *rows_where, int log1p,
                     struct prsvd_cli_select *sel);
void prsvd_cli_select_free(struct prsvd_cli_select *sel);
struct prsvd_cli_anndata {
  int swap;               /* the source streamed X^T (CSC): X's U is the computed V */
  int force, scale, log1p;
  const char *rows_where; /* --rows-where obs/COLUMN, or NULL */
  const struct prsvd_cli_select *sel;
};
/* Collective, from the params hook (before any work): the input file can take the PCA. */
int prsvd_cli_anndata_check(const struct prsvd_cli_run *run, int swap, int force);
/* Collective, the write hook: closes the input, then writes obsm/X_pca, varm/PCs, uns/pca. */
int prsvd_cli_anndata_write(struct prsvd_cli_run *run, const struct prsvd_cli_anndata *a);
void prsvd_progress_init(struct prsvd_progress *p, const struct prsvd_cli *cli, int enabled,
                         double bytes_per_row);
void prsvd_progress_report(void *arg, int pass, int n_passes, int64_t rows_done,
                           int64_t rows_total);
/* struct prsvd_svd_params.estimate: keeps the change; prints the estimates when enabled. */
void prsvd_progress_estimate(void *arg, int power_iters, int64_t k, const double *values,
                             double change);

/* -q/--power-iters: an integer in [0, 100], or "auto" (PRSVD_POWER_ITERS_AUTO). */
int prsvd_power_iters_parse(const char *text, int *q);
/* -q auto in the summary: "-q auto: 5 power iterations, ..." (rank 0 prints), and in --json
 * (power_iters_auto, conv_tol, conv_change, conv_met, conv_changes). */
void prsvd_cli_print_conv(const struct prsvd_svd_params *prm, const struct prsvd_svd_stats *st,
                          const char *values, int64_t k);
void prsvd_cli_json_conv(json_object *j, const struct prsvd_svd_params *prm,
                         const struct prsvd_svd_stats *st, const struct prsvd_progress *progress);

/* --precision single | double | auto (PRSVD_ERR_USAGE otherwise). */
int prsvd_precision_parse(const char *text, enum prsvd_precision *precision);
/* Options into the params of a solve, for the commands that run one (svd, pca, eig) and for
 * `prsvd info`, which plans one:
 * the method --passes and --tol select (--passes 1: single pass; --tol: randQB_FP with --passes,
 * randQB_EI without; otherwise subspace iteration) and q (--passes N: N - 1; -q a number or
 * auto, given beside --passes only at its default q_default);
 * --onepass-method and --sketch; --grid PRxPC or auto (eig's --method: prsvd_eig_method).
 * PRSVD_ERR_USAGE naming the option on a bad value. */
int prsvd_cli_method(int64_t passes, const char *power_iters, const char *q_default, double conv_tol,
                     double tol, struct prsvd_svd_params *prm);
int prsvd_cli_sketch(const char *onepass, const char *sketch, struct prsvd_svd_params *prm);
int prsvd_cli_grid(const char *text, struct prsvd_svd_params *prm);
/* The method's name in outputs: subspace, onepass-three, -two, -hmt, qb-fp, qb-ei, nystrom, revd. */
const char *prsvd_cli_method_name(const struct prsvd_svd_params *prm);
/* Root attributes of how a solve iterated, as svd, pca and eig write them: oversample, the
 * power iterations it made (and under -q auto, autoq, the tolerance, the last change and
 * whether it was met), passes, seed and ranks. */
int prsvd_cli_write_iterations(prsvd_h5_writer *w, const struct prsvd_cli *cli,
                               const struct prsvd_svd_params *prm, const struct prsvd_svd_stats *st,
                               int64_t oversample, int power_iters, int autoq, uint64_t seed);
/* --read and --panels (either may be "posix"/"rows" for commands without them) into how
 * an input is opened. */
int prsvd_cli_input(const char *read, const char *panels, int64_t memory, struct prsvd_h5_input *how);
/* How panels reach the products: "mmap" (rows lent as a mapping of the file's page cache:
 * a contiguous dataset stored in the panel type, --read posix, a P x 1 grid) or "copy". */
const char *prsvd_read_path(const struct prsvd_h5_info *in, int single, int grid_cols);
/* "float32" or "float64": what a solve's panels were multiplied in. */
const char *prsvd_precision_name(int single);

/* The cost of a run (cli/plan.c), from prsvd_svd_estimate: the lines every plan and `prsvd
 * info` print (reads, flops, memory per rank; csr: the source is sparse), and as JSON. */
void prsvd_cli_print_cost(FILE *f, const struct prsvd_cli *cli, const struct prsvd_svd_params *prm,
                          const struct prsvd_svd_estimate *est, int csr);
json_object *prsvd_cli_estimate_json(const struct prsvd_svd_estimate *est);
/* What the solve measured of it: this rank's RSS before the solve and its peak during the solve
 * (VmHWM, reset at the start where Linux allows; else the peak since the process started). */
struct prsvd_cli_rss {
  int64_t before, peak;
  int reset;
};
void prsvd_cli_rss_start(struct prsvd_cli_rss *r);
void prsvd_cli_rss_stop(struct prsvd_cli_rss *r);
/* Collective: {rss_before_solve, rss_peak, growth, peak_since}, the most over the ranks ({} where
 * /proc/self/status is missing). */
json_object *prsvd_cli_rss_json(const struct prsvd_cli *cli, const struct prsvd_cli_rss *r);

/* The per-phase table as JSON. */
json_object *prsvd_profile_json(const struct prsvd_profile_row *rows);
/* [{time_max, time_min, cpu_max}, ...]: the wall time of each pass over A, max/min over
 * ranks, and its process CPU time (all threads), max over ranks. */
json_object *prsvd_profile_passes_json(const struct prsvd_profile_passes *passes);
/* A number for --json: null when x is NaN or infinite (JSON has neither; json-c would print
 * NaN, which no JSON parser reads). */
json_object *prsvd_json_double(double x);
/* Print a JSON object on stdout (rank 0). */
void prsvd_cli_print_json(const struct prsvd_cli *cli, json_object *obj);

#endif
