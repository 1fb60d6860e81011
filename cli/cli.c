/* Shared pieces of the subcommands: warnings, progress, JSON. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prsvd_h5.h"
#include "blas.h"
#include "error.h"
#include "options.h"

volatile int prsvd_cli_stop;
volatile sig_atomic_t prsvd_cli_finishing;
volatile sig_atomic_t prsvd_cli_silent_leave;
static volatile sig_atomic_t passes_over; /* with --checkpoint: no panel boundary is left */

/* The signals whose default action ends the process, by name (a handler may not format): all
 * but those a fault raises (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS: Open MPI
 * reports them with a backtrace) and SIGXFSZ (ignored: a write past the file-size limit fails,
 * and the writer cleans up), plus the real-time signals. */
static const struct {
  int sig;
  const char *name;
} ending[] = {
    {SIGHUP, "SIGHUP"},       {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},     {SIGPIPE, "SIGPIPE"},
    {SIGALRM, "SIGALRM"},     {SIGTERM, "SIGTERM"}, {SIGUSR1, "SIGUSR1"},     {SIGUSR2, "SIGUSR2"},
    {SIGXCPU, "SIGXCPU"},     {SIGPROF, "SIGPROF"}, {SIGVTALRM, "SIGVTALRM"}, {SIGPOLL, "SIGPOLL"},
#ifdef SIGPWR
    {SIGPWR, "SIGPWR"},
#endif
#ifdef SIGSTKFLT
    {SIGSTKFLT, "SIGSTKFLT"},
#endif
};
#define N_ENDING (int)(sizeof ending / sizeof ending[0])
static char signal_name[NSIG][16];
static sigset_t caught;          /* the signals prsvd_cli_leave handles */
static atomic_int holding, held; /* inside MPI_Init: the signal held back (prsvd_cli_mpi_init) */

/* Says on stderr, once, what a signal leaves (prsvd_h5_leave: the temporary goes, or the
 * output is in place), unless the run is over or this is a rank past 0: async-signal-safe.
 * Said before the temporary is removed: Open MPI's mpirun may SIGKILL a rank that it had
 * stopped within a millisecond of its SIGTERM (its own SIGCONT's SIGCHLD ends the wait). */
static void say_left(int sig) {
  static atomic_int said;
  static char line[PATH_MAX + 128];
  const char *done = prsvd_h5_leave(),
             *what = done ? done : "prsvd: interrupted: no output written";
  if (prsvd_cli_finishing || prsvd_cli_silent_leave || atomic_exchange(&said, 1)) return;
  const char *name = sig > 0 && sig < NSIG && signal_name[sig][0] ? signal_name[sig] : "a signal";
  size_t n = strlen(what), m = strlen(name);
  if (n + m + 4 > sizeof line) n = sizeof line - m - 4;
  memcpy(line, what, n);
  memcpy(line + n, " (", 2);
  memcpy(line + n + 2, name, m);
  memcpy(line + n + 2 + m, ")\n", 2);
  ssize_t rc = write(2, line, n + m + 4);
  (void)rc;
}

void prsvd_cli_leave(int sig) {
  static atomic_int leaving;
  int none = 0;
  if (atomic_load(&holding) && atomic_compare_exchange_strong(&held, &none, sig)) {
    /* Said now: no output exists inside MPI_Init, and MPI_Init may never return (a peer that a
     * signal ended before its own MPI_Init leaves this rank in the handshake until mpirun's
     * SIGKILL, a second after its SIGTERM). */
    say_left(sig);
    return;
  }
  /* called directly too (prsvd_cli_solve): no other signal enters it on this thread */
  pthread_sigmask(SIG_BLOCK, &caught, NULL);
  if (atomic_exchange(&leaving, 1)) /* another thread is leaving: its _exit ends this one too */
    for (;;) pause();
  say_left(sig);
  prsvd_h5_leave_remove();
  if (prsvd_cli_silent_leave && !prsvd_cli_finishing) {
    /* mpirun kills every rank as soon as one has exited: rank 0, which says what was left,
     * goes first (the temporary is already gone) */
    poll(NULL, 0, 300);
  }
  prsvd_cli_singleton_cleanup();
  _exit(128 + sig);
}

int prsvd_cli_mpi_init(int *argc, char ***argv, int required, int *provided) {
  prsvd_cli_pick_pml();
  prsvd_cli_pick_singleton();
  atomic_store(&holding, 1);
  int rc = MPI_Init_thread(argc, argv, required, provided);
  atomic_store(&holding, 0);
  int sig = atomic_exchange(&held, 0);
  if (sig) prsvd_cli_leave(sig);
  return rc;
}

/* With --checkpoint, SIGUSR1 and SIGTERM save at the next panel boundary. Once the passes are
 * over there is none: SIGTERM then leaves at once, as it does without --checkpoint (the last
 * checkpoint stays for the rerun), and SIGUSR1, a warning, lets the output be written. */
static void on_stop(int sig) {
  prsvd_cli_stop = sig;
  if (sig == SIGTERM && passes_over) prsvd_cli_leave(sig);
}

/* Handle sig with fn, no other ending signal entering the handler on its thread, and let it
 * arrive: a launcher may hand down a mask that blocks it (it would never come, or come now if
 * it is pending from before). */
static void catch_signal(int sig, void (*fn)(int)) {
  struct sigaction sa;
  sigset_t one;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_mask = caught;
  sa.sa_flags = SA_RESTART; /* the handlers that return (stop, continue) must not fail reads */
  sigaction(sig, &sa, NULL);
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, NULL);
}

/* SIGCONT begins the kill sequence of Open MPI's mpirun (prsvd_h5_continued). */
static void on_continue(int sig) {
  (void)sig;
  prsvd_h5_continued();
}

void prsvd_cli_stop_on_signals(void) {
  catch_signal(SIGUSR1, on_stop);
  catch_signal(SIGTERM, on_stop);
}

int prsvd_cli_launcher_rank(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                     "SLURM_PROCID"};
  for (int i = 0; i < (int)(sizeof vars / sizeof vars[0]); i++) {
    const char *v = getenv(vars[i]);
    if (v && *v) return atoi(v);
  }
  return -1;
}

void prsvd_cli_catch_signals(int argc, char **argv) {
  static int first = 1, owned[NSIG];
  int stop = 0;
  struct sigaction now;
  if (first) { /* which signals are ours: those that would end the process as it starts */
    int rank = prsvd_cli_launcher_rank();
    prsvd_cli_silent_leave = rank > 0;
    sigemptyset(&caught);
    for (int i = 0; i < N_ENDING; i++) {
      snprintf(signal_name[ending[i].sig], sizeof signal_name[0], "%s", ending[i].name);
      sigaddset(&caught, ending[i].sig);
    }
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++) {
      snprintf(signal_name[s], sizeof signal_name[0], "SIGRTMIN+%d", s - SIGRTMIN);
      sigaddset(&caught, s);
    }
    /* A signal ignored at start stays ignored (nohup; a shell's `cmd &` ignores SIGINT and
     * SIGQUIT): it ends nothing, so it leaves nothing behind.  One with a handler already (a
     * profiler's SIGPROF) stays its. */
    for (int s = 1; s < NSIG; s++)
      owned[s] = sigismember(&caught, s) == 1 && sigaction(s, NULL, &now) == 0 &&
                 now.sa_handler == SIG_DFL;
    for (int s = 1; s < NSIG; s++)
      if (!owned[s]) sigdelset(&caught, s);
  }
  /* With a checkpoint, the stop signals save and exit 99: their handler is in place before
   * they are let through (one may be pending).  Later calls (after MPI_Init) take back the
   * others that an MPI reset to the default, not one whose handler it installed for itself. */
  for (int i = 1; i < argc; i++)
    if (!strncmp(argv[i], "--checkpoint", 12) && strncmp(argv[i], "--checkpoint-every", 18))
      stop = 1;
  for (int s = 1; s < NSIG; s++)
    if (stop && (s == SIGUSR1 || s == SIGTERM))
      catch_signal(s, on_stop);
    else if (owned[s] && (first || (sigaction(s, NULL, &now) == 0 && now.sa_handler == SIG_DFL)))
      catch_signal(s, prsvd_cli_leave);
  catch_signal(SIGCONT, on_continue);
  signal(SIGXFSZ, SIG_IGN); /* a file-size limit: let the write fail and clean up */
  first = 0;
}

int prsvd_cli_check_files(const struct prsvd_cli *cli, const char *input, const char *output, int force,
                          const char *checkpoint) {
  const struct prsvd_h5_role not_output[] = {{"input", input}, {"checkpoint", checkpoint}, {NULL, NULL}};
  const struct prsvd_h5_role not_checkpoint[] = {{"input", input}, {"output", output}, {NULL, NULL}};
  if (output) PRSVD_CHECK(prsvd_h5_check_output(cli->comm, output, force, not_output));
  if (checkpoint) PRSVD_CHECK(prsvd_h5_check_checkpoint(cli->comm, checkpoint, not_checkpoint));
  return PRSVD_OK;
}

int prsvd_cli_checkpointer(const struct prsvd_cli *cli, const struct prsvd_h5_checkpoint_spec *spec,
                           struct prsvd_checkpointer *cp) {
  PRSVD_CHECK(prsvd_h5_checkpointer(cli->comm, spec, cp));
  /* tests stop a pass at an exact panel step (tests/README.md, "Test-only switches"): read
   * here, by the program, so the library reads no test switch */
  const char *at = getenv("PRSVD_TEST_STOP_AT_STEP");
  if (at) cp->stop_at_step = atol(at);
  prsvd_cli_stop_on_signals();
  return PRSVD_OK;
}

void prsvd_cli_checkpoint_options(char *buf, size_t size, const char *method,
                                  const struct prsvd_svd_params *prm, const char *sketch,
                                  const char *precision, int by_columns) {
  char q[96]; /* -q auto: the rule that decides when the passes end shapes the result too */
  if (prm->power_iters < 0)
    snprintf(q, sizeof q, "auto;conv_tol=%.15g;max_power_iters=%d", prm->conv_tol,
             prm->max_power_iters);
  else
    snprintf(q, sizeof q, "%d", prm->power_iters);
  snprintf(buf, size,
           "method=%s;k=%lld;p=%lld;q=%s;seed=%llu;center=%d;scale=%d;sketch=%s;range_dim=%lld;"
           "core_dim=%lld;tol=%.15g;max_rank=%lld;block=%lld;sym_tol=%.15g;precision=%s%s",
           method, (long long)prm->rank, (long long)prm->oversample, q,
           (unsigned long long)prm->seed, prm->center, prm->scale, sketch,
           (long long)prm->range_dim, (long long)prm->core_dim, prm->tol, (long long)prm->max_rank,
           (long long)prm->block, prm->sym_tol, precision, by_columns ? ";panels=columns" : "");
}

int prsvd_power_iters_parse(const char *text, int *q) {
  char *end;
  long v;
  if (!strcmp(text, "auto")) {
    *q = PRSVD_POWER_ITERS_AUTO;
    return PRSVD_OK;
  }
  errno = 0;
  v = strtol(text, &end, 10);
  if (end == text || *end)
    PRSVD_ERR(PRSVD_ERR_USAGE,
              "bad value '%s' for --power-iters: expected an integer in [0, 100] or auto", text);
  if (v > 100) /* as the option tables say of a number beyond the bound or its type */
    PRSVD_ERR(PRSVD_ERR_USAGE, "--power-iters = %s is too large (at most 100)", text);
  if (v < 0 || errno == ERANGE)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--power-iters = %s is out of range [0, 100] (or auto)", text);
  *q = (int)v;
  return PRSVD_OK;
}

void prsvd_cli_print_conv(const struct prsvd_svd_params *prm, const struct prsvd_svd_stats *st,
                          const char *values, int64_t k) {
  if (prm->power_iters >= 0) return;
  if (isnan(st->conv_change))
    printf("-q auto: %d power iteration%s, too few to compare the top-%lld %s of two passes\n",
           st->power_iters, st->power_iters == 1 ? "" : "s", (long long)k, values);
  else
    printf(
        "-q auto: %d power iteration%s; the top-%lld %s changed by %.2e in the last, %s --conv-tol "
        "%g%s\n",
        st->power_iters, st->power_iters == 1 ? "" : "s", (long long)k, values, st->conv_change,
        st->conv_met ? "below" : "NOT below", prm->conv_tol,
        st->conv_met ? "" : ": stopped at the limit of power iterations");
}

void prsvd_cli_json_conv(json_object *j, const struct prsvd_svd_params *prm,
                         const struct prsvd_svd_stats *st, const struct prsvd_progress *progress) {
  json_object_object_add(j, "power_iters_auto", json_object_new_boolean(prm->power_iters < 0));
  if (prm->power_iters >= 0) return;
  json_object *changes = json_object_new_array();
  for (int i = 0; i < progress->n_changes; i++)
    json_object_array_add(
        changes, isnan(progress->changes[i]) ? NULL : json_object_new_double(progress->changes[i]));
  json_object_object_add(j, "conv_tol", json_object_new_double(prm->conv_tol));
  json_object_object_add(j, "max_power_iters", json_object_new_int(prm->max_power_iters));
  json_object_object_add(j, "conv_change",
                         isnan(st->conv_change) ? NULL : json_object_new_double(st->conv_change));
  json_object_object_add(j, "conv_met", json_object_new_boolean(st->conv_met));
  json_object_object_add(j, "conv_changes", changes);
}

int prsvd_cli_solve(prsvd_svd *svd, prsvd_source *src, const char *checkpoint) {
  int status = prsvd_svd_solve(svd, src);
  if (status == PRSVD_OK && checkpoint) {
    passes_over = 1;
    if (prsvd_cli_stop == SIGTERM) prsvd_cli_leave(SIGTERM); /* came after the last boundary */
  }
  if (status == PRSVD_CHECKPOINTED) {
    char why[256];
    snprintf(why, sizeof why, "%s", prsvd_error_message());
    PRSVD_ERR(PRSVD_CHECKPOINTED, "state saved in '%s' (%s)", checkpoint, why);
  }
  return status;
}

void prsvd_cli_warn(const struct prsvd_cli *cli, const char *fmt, ...) {
  va_list ap;
  if (cli->rank) return;
  fprintf(stderr, "prsvd: warning: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

void prsvd_cli_warn_missing_sources(const struct prsvd_cli *cli, const char *spec, const struct prsvd_h5_info *in) {
  if (in->missing_sources)
    prsvd_cli_warn(cli, "'%s': %lld of its %lld virtual sources are missing and read as the fill value "
                   "(--allow-missing-sources); the first: %s", spec, (long long)in->missing_sources,
                   (long long)in->virtual_sources, in->first_missing);
}

int prsvd_cli_cpus(const struct prsvd_cli *cli, int *spare) {
  cpu_set_t set;
  MPI_Comm node;
  int mine = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0, fewest = mine;
  int here = 1, idle = 0;
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  MPI_Allreduce(&mine, &fewest, 1, MPI_INT, MPI_MIN, cli->comm);
  /* a CPU to spare: some node has more CPUs online than ranks of this run */
  if (MPI_Comm_split_type(cli->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    MPI_Comm_size(node, &here);
    MPI_Comm_free(&node);
  }
  idle = online > here;
  MPI_Allreduce(MPI_IN_PLACE, &idle, 1, MPI_INT, MPI_MAX, cli->comm);
  *spare = idle;
  return fewest;
}

void prsvd_cli_warn_cpus(const struct prsvd_cli *cli, int cpus, int spare) {
  if (cpus != 1 || !spare) return;
  fflush(stdout); /* after the plan, not inside it */
  prsvd_cli_warn(cli, "%s on 1 CPU (bound by the launcher?) while the machine has a CPU to spare: the "
                 "reader thread takes turns with the GEMMs instead of overlapping them; give each rank 2 "
                 "(mpirun --bind-to none or --map-by slot:PE=2; SLURM --cpus-per-task=2)",
                 cli->nprocs > 1 ? "a rank runs" : "prsvd runs");
}

void prsvd_cli_print_threads(const struct prsvd_cli *cli, const struct prsvd_threads_choice *tc,
                             const struct prsvd_svd_plan *plan, int prefetch) {
  const char *reader = !plan ? "" : prefetch ? ", reader thread on" : ", reader thread off";
  printf("  %d rank%s x %d thread%s (%s)%s\n", cli->nprocs, cli->nprocs > 1 ? "s" : "", tc->threads,
         tc->threads > 1 ? "s" : "", tc->why, reader);
  if (plan && tc->threads > 1 && !plan->threaded)
    printf("  these passes multiply on one thread a rank (a 2-D grid): "
           "its BLAS runs %d threads\n", tc->threads);
}

json_object *prsvd_threads_json(const struct prsvd_cli *cli, const struct prsvd_threads_choice *tc,
                                const struct prsvd_svd_plan *plan) {
  json_object *j = json_object_new_object();
  json_object_object_add(j, "per_rank", json_object_new_int(tc->threads));
  json_object_object_add(j, "ranks", json_object_new_int(cli->nprocs));
  json_object_object_add(j, "chosen", json_object_new_string(tc->requested ? "--threads" : "auto"));
  json_object_object_add(j, "cpus", json_object_new_int(tc->cpus));
  json_object_object_add(j, "sharing", json_object_new_int(tc->sharing));
  json_object_object_add(j, "share", prsvd_json_double(tc->share));
  json_object_object_add(j, "why", json_object_new_string(tc->why));
  json_object_object_add(j, "widened_from", json_object_new_int(tc->widened_from));
  json_object_object_add(j, "binding_kept", json_object_new_boolean(tc->binding_kept));
  if (plan) {
    json_object_object_add(j, "split_panels", json_object_new_boolean(plan->threaded));
    json_object_object_add(j, "thread_bytes", json_object_new_int64(plan->thread_bytes));
  }
  json_object_object_add(j, "blas_control", json_object_new_string(prsvd_blas_threads_control()));
  return j;
}

void prsvd_progress_init(struct prsvd_progress *p, const struct prsvd_cli *cli, int enabled,
                         double bytes_per_row) {
  p->cli = cli;
  p->tty = isatty(2);
  p->enabled = cli->rank == 0 && enabled;
  p->last_decile = -1;
  p->bytes_per_row = bytes_per_row;
  p->t0 = MPI_Wtime();
  p->values = "singular values";
  p->n_changes = 0;
}

void prsvd_progress_estimate(void *arg, int power_iters, int64_t k, const double *values,
                             double change) {
  struct prsvd_progress *p = arg;
  if (p->n_changes < PRSVD_PROGRESS_MAX_ESTIMATES) p->changes[p->n_changes++] = change;
  if (!p->enabled) return;
  if (p->tty) fputc('\n', stderr); /* below the pass's progress line */
  fprintf(stderr, "progress: %d power iteration%s (%d passes): top-%lld %s", power_iters,
          power_iters == 1 ? "" : "s", power_iters + 1, (long long)k, p->values);
  for (int64_t j = 0; j < k && j < 10; j++) fprintf(stderr, " %.6g", values[j]);
  if (k > 10) fprintf(stderr, " ... %.6g", values[k - 1]);
  if (isnan(change))
    fprintf(stderr, "\n");
  else
    fprintf(stderr, "; change %.2e\n", change);
}

void prsvd_progress_report(void *arg, int pass, int n_passes, int64_t rows_done,
                           int64_t rows_total) {
  struct prsvd_progress *p = arg;
  if (!p->enabled || rows_total <= 0) return;
  double frac = (pass + (double)rows_done / (double)rows_total) / n_passes;
  double t = MPI_Wtime() - p->t0;
  double gbs = t > 0 ? (double)(pass * rows_total + rows_done) * p->bytes_per_row *
                           p->cli->nprocs / t * 1e-9
                     : 0.0;
  double eta = frac > 0 ? t / frac - t : 0.0;
  int decile = (int)(frac * 10);
  if (p->tty) {
    fprintf(stderr, "\rpass %d/%d  %5.1f%%  %6.2f GB/s  ETA %6.1f s ", pass + 1, n_passes,
            100 * frac, gbs, eta);
    if (rows_done == rows_total && pass + 1 == n_passes) fputc('\n', stderr);
  } else if (decile != p->last_decile) {
    fprintf(stderr, "progress: pass %d/%d %5.1f%% %.2f GB/s ETA %.1f s\n", pass + 1, n_passes,
            100 * frac, gbs, eta);
  }
  p->last_decile = decile;
}

int prsvd_precision_parse(const char *text, enum prsvd_precision *precision) {
  static const char *const names[] = {"auto", "double", "single"};
  int i;
  PRSVD_CHECK(prsvd_parse_choice(text, "--precision", names, 3, &i));
  *precision = (enum prsvd_precision)i;
  return PRSVD_OK;
}

int prsvd_cli_method(int64_t passes, const char *power_iters, const char *q_default, double conv_tol,
                     double tol, struct prsvd_svd_params *prm) {
  int q;
  if (passes && strcmp(power_iters, q_default))
    PRSVD_ERR(PRSVD_ERR_USAGE, "give either --passes or -q/--power-iters, not both");
  PRSVD_CHECK(prsvd_power_iters_parse(power_iters, &q));
  prm->power_iters = passes ? (int)passes - 1 : q;
  prm->conv_tol = conv_tol;
  /* with --tol a pass count fixes the sketch before A is read (randQB_FP); otherwise grow
   * (randQB_EI) */
  if (tol > 0) prm->method = passes ? PRSVD_METHOD_QB : PRSVD_METHOD_QB_EI;
  else prm->method = passes == 1 ? PRSVD_METHOD_ONEPASS : PRSVD_METHOD_SUBSPACE;
  return PRSVD_OK;
}

const char *prsvd_cli_method_name(const struct prsvd_svd_params *prm) {
  static const char *const onepass[] = {"onepass-three", "onepass-two", "onepass-hmt"};
  switch (prm->method) {
  case PRSVD_METHOD_ONEPASS: return onepass[prm->onepass];
  case PRSVD_METHOD_QB: return "qb-fp";
  case PRSVD_METHOD_QB_EI: return "qb-ei";
  case PRSVD_METHOD_NYSTROM: return "nystrom";
  case PRSVD_METHOD_REVD: return "revd";
  default: return "subspace";
  }
}

int prsvd_cli_write_iterations(prsvd_h5_writer *w, const struct prsvd_cli *cli,
                               const struct prsvd_svd_params *prm, const struct prsvd_svd_stats *st,
                               int64_t oversample, int power_iters, int autoq, uint64_t seed) {
  PRSVD_CHECK(prsvd_h5_attr_int(w, "/", "oversample", oversample));
  PRSVD_CHECK(prsvd_h5_attr_int(w, "/", "power_iters", power_iters));
  if (autoq) {
    PRSVD_CHECK(prsvd_h5_attr_int(w, "/", "power_iters_auto", 1));
    PRSVD_CHECK(prsvd_h5_attr_double(w, "/", "conv_tol", prm->conv_tol));
    PRSVD_CHECK(prsvd_h5_attr_double(w, "/", "conv_change", st->conv_change));
    PRSVD_CHECK(prsvd_h5_attr_int(w, "/", "conv_met", st->conv_met));
  }
  PRSVD_CHECK(prsvd_h5_attr_int(w, "/", "passes", st->passes));
  PRSVD_CHECK(prsvd_h5_attr_int(w, "/", "seed", (int64_t)seed));
  PRSVD_CHECK(prsvd_h5_attr_int(w, "/", "nprocs", cli->nprocs));
  return PRSVD_OK;
}

int prsvd_cli_sketch(const char *onepass, const char *sketch, struct prsvd_svd_params *prm) {
  static const char *const methods[] = {"three", "two", "hmt"}, *const kinds[] = {"gaussian", "sparse"};
  int i;
  PRSVD_CHECK(prsvd_parse_choice(onepass, "--onepass-method", methods, 3, &i));
  prm->onepass = (enum prsvd_onepass_method)i;
  PRSVD_CHECK(prsvd_parse_choice(sketch, "--sketch", kinds, 2, &i));
  prm->test_matrix = (enum prsvd_test_matrix)i;
  return PRSVD_OK;
}

int prsvd_cli_grid(const char *text, struct prsvd_svd_params *prm) {
  int64_t pr, pc;
  if (!strcmp(text, "auto")) return PRSVD_OK;
  PRSVD_CHECK(prsvd_parse_pair(text, "--grid", "PRxPC (e.g. 2x2) or auto", INT_MAX, &pr, &pc));
  prm->grid_rows = (int)pr, prm->grid_cols = (int)pc;
  return PRSVD_OK;
}

int prsvd_cli_input(const char *read, const char *panels, int64_t memory, struct prsvd_h5_input *how) {
  /* the enum's order, then posix-copy (POSIX reads that never lend rows in place) and posix-map
   * (posix, said explicitly) */
  static const char *const reads[] = {"posix", "independent", "collective", "posix-copy", "posix-map"};
  static const char *const dirs[] = {"auto", "rows", "columns"};
  int r, d;
  memset(how, 0, sizeof *how); /* the fields a command does not set are off */
  PRSVD_CHECK(prsvd_parse_choice(read, "--read", reads, 5, &r));
  PRSVD_CHECK(prsvd_parse_choice(panels, "--panels", dirs, 3, &d));
  how->copy = r == 3;
  how->read = r >= 3 ? PRSVD_H5_READ_POSIX : (enum prsvd_h5_read)r;
  how->panels = (enum prsvd_h5_panels)d;
  how->memory = memory;
  return PRSVD_OK;
}

const char *prsvd_read_path(const struct prsvd_h5_info *in, int single, int grid_cols) {
  return in->lends && in->lends == (single ? 4 : 8) && grid_cols <= 1 ? "mmap" : "copy";
}

const char *prsvd_precision_name(int single) { return single ? "float32" : "float64"; }

json_object *prsvd_profile_json(const struct prsvd_profile_row *rows) {
  json_object *o = json_object_new_object();
  for (int e = 0; e < PRSVD_N_EVENTS; e++) {
    if (!rows[e].count) continue;
    json_object *r = json_object_new_object();
    json_object_object_add(r, "time_max", json_object_new_double(rows[e].time_max));
    json_object_object_add(r, "time_min", json_object_new_double(rows[e].time_min));
    json_object_object_add(r, "bytes", json_object_new_double(rows[e].bytes));
    json_object_object_add(r, "flops", json_object_new_double(rows[e].flops));
    json_object_object_add(r, "count", json_object_new_int64(rows[e].count));
    json_object_object_add(o, rows[e].name, r);
  }
  return o;
}

json_object *prsvd_profile_passes_json(const struct prsvd_profile_passes *passes) {
  json_object *a = json_object_new_array();
  for (int i = 0; i < passes->count && i < PRSVD_PROFILE_MAX_PASSES; i++) {
    json_object *r = json_object_new_object();
    json_object_object_add(r, "time_max", json_object_new_double(passes->time_max[i]));
    json_object_object_add(r, "time_min", json_object_new_double(passes->time_min[i]));
    json_object_object_add(r, "cpu_max", json_object_new_double(passes->cpu_max[i]));
    json_object_array_add(a, r);
  }
  return a;
}

json_object *prsvd_json_double(double x) { return isfinite(x) ? json_object_new_double(x) : NULL; }

void prsvd_cli_print_json(const struct prsvd_cli *cli, json_object *obj) {
  if (cli->rank == 0)
    printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}
