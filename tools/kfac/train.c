/*
 * prsvd-kfac-train: train a fully connected ReLU network with softmax cross-entropy on
 * Fashion-MNIST (Debian's dataset-fashion-mnist) with sgd (momentum), adam or K-FAC whose
 * factors are inverted by prsvd_kfac (eig, revd, rsvd, nystrom), data parallel over MPI.
 *
 * Each minibatch of B samples (one permutation per epoch, the same on every rank) is split
 * into one contiguous block per rank; each rank back-propagates its block, and one
 * MPI_Allreduce sums the gradients with the loss and the count of right answers, so every
 * rank takes the same step.  K-FAC statistics go to prsvd_kfac_accumulate, whose
 * prsvd_kfac_step averages them over the ranks.  Logs per epoch (train loss, test accuracy,
 * wall time, CPU time, inversion time) as CSV and JSON; the JSON also holds every step's loss,
 * the test accuracy every --eval-every steps on the first --eval-size test images (with the
 * training clock at that step: evaluations are excluded from every time logged) and the cost
 * of a step split by phase; --spectra logs the eigenvalues of every factor at every refresh.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "idx.h"
#include "mlp.h"
#include "options.h"
#include "prsvd_kfac.h"

struct train_opts {
  const char *optimizer, *widths, *csv, *json, *data, *spectra, *eig_apply;
  int64_t epochs, batch, max_steps, train_size, test_size, rank, factor_period, inverse_period, distribute_dim;
  int64_t eval_every, eval_size, threads;
  double lr, momentum, damping, decay;
  uint64_t seed;
  int quiet, debug;
};

#define O(f) offsetof(struct train_opts, f)
static const struct prsvd_option train_options[] = {
    {"optimizer", 0, PRSVD_OPT_STRING, "NAME", "kfac-revd", 0, 0, 0, "sgd, adam, kfac-eig, kfac-revd, kfac-rsvd or kfac-nystrom", O(optimizer)},
    {"widths", 0, PRSVD_OPT_STRING, "W1,W2,..", "256,256", 0, 0, 0, "hidden layer widths", O(widths)},
    {"epochs", 0, PRSVD_OPT_INT, "E", "5", 1, 1e6, 0, "passes over the training set", O(epochs)},
    {"batch", 0, PRSVD_OPT_INT, "B", "256", 1, 1e7, 0, "global minibatch, split over the ranks", O(batch)},
    {"lr", 0, PRSVD_OPT_DOUBLE, "ETA", NULL, 0, 1e3, 0, "learning rate (default: sgd 0.05, adam 0.001, kfac 0.02)", O(lr)},
    {"momentum", 0, PRSVD_OPT_DOUBLE, "MU", "0.9", 0, 0.9999, 0, "momentum of sgd and kfac (adam: beta1)", O(momentum)},
    {"rank", 'k', PRSVD_OPT_INT, "R", "220", 1, 1e6, 0, "eigenpairs per factor of the randomized methods (+10 oversampling)", O(rank)},
    {"damping", 0, PRSVD_OPT_DOUBLE, "D", "0.1", 1e-12, 1e6, 0, "K-FAC damping relative to each factor's largest eigenvalue", O(damping)},
    {"decay", 0, PRSVD_OPT_DOUBLE, "RHO", "0.95", 0, 0.9999, 0, "K-FAC exponential average of the factors", O(decay)},
    {"factor-period", 0, PRSVD_OPT_INT, "T", "10", 1, 1e9, 0, "K-FAC: update the factors every T steps", O(factor_period)},
    {"inverse-period", 0, PRSVD_OPT_INT, "T", "50", 1, 1e9, 0, "K-FAC: decompose the factors every T steps", O(inverse_period)},
    {"distribute-dim", 0, PRSVD_OPT_INT, "D", "4096", 0, 1e9, 0, "K-FAC: factors of dimension >= D decomposed by all ranks together (0: never)", O(distribute_dim)},
    PRSVD_OPT_THREADS(struct train_opts, "for K-FAC's factor statistics, decompositions and preconditioning"),
    {"eig-apply", 0, PRSVD_OPT_STRING, "HOW", "dense", 0, 0, 0, "K-FAC: apply complete decompositions (kfac-eig) through their cached dense damped power (dense) or through all d eigenvectors (vectors, the paper's baseline)", O(eig_apply)},
    {"seed", 0, PRSVD_OPT_UINT64, "S", "0", 0, 0, 0, "seed of the weights, the shuffles and the sketches", O(seed)},
    {"train-size", 0, PRSVD_OPT_INT, "N", "60000", 1, 60000, 0, "use the first N training images", O(train_size)},
    {"test-size", 0, PRSVD_OPT_INT, "N", "10000", 1, 10000, 0, "use the first N test images", O(test_size)},
    {"eval-every", 0, PRSVD_OPT_INT, "N", "0", 0, 1e12, 0, "also measure the test accuracy at step 0 and every N steps (0: after each epoch only)", O(eval_every)},
    {"eval-size", 0, PRSVD_OPT_INT, "N", NULL, 1, 10000, 0, "images of the --eval-every evaluations: the first N test images (default --test-size)", O(eval_size)},
    {"max-steps", 0, PRSVD_OPT_INT, "N", NULL, 1, 1e12, 0, "stop after N steps in all", O(max_steps)},
    {"data", 0, PRSVD_OPT_STRING, "DIR", NULL, 0, 0, 0, "Fashion-MNIST directory (default $PRSVD_FASHION_MNIST or /usr/share/datasets/fashion-mnist)", O(data)},
    {"csv", 0, PRSVD_OPT_STRING, "FILE", NULL, 0, 0, 0, "write one line per epoch here", O(csv)},
    {"json", 0, PRSVD_OPT_STRING, "FILE", NULL, 0, 0, 0, "write the configuration, the epochs and every step's loss here", O(json)},
    {"spectra", 0, PRSVD_OPT_STRING, "FILE", NULL, 0, 0, 0, "K-FAC: write every factor's eigenvalues at every refresh here (step layer factor index lambda)", O(spectra)},
    {"quiet", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "no progress or per-epoch lines", O(quiet)},
    {"debug", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "show error traces", O(debug)},
    PRSVD_OPT_END};
#undef O

static const struct prsvd_command_doc train_doc = {
    "prsvd-kfac-train", "[options]", /* tools/kfac-train prints its own usage line */
    "Train a fully connected ReLU network (784 - widths - 10, softmax cross-entropy) on\n"
    "Fashion-MNIST with sgd, adam or K-FAC inverted by prsvd's eigendecompositions, data\n"
    "parallel over MPI.  Logs per epoch the train loss, test accuracy, wall time and time\n"
    "spent in factor inversion.",
    0, NULL, 0};

struct dataset {
  int64_t n;
  uint8_t *x; /* n x 784 pixels */
  uint8_t *y;
};

struct epoch_log {
  int64_t epoch, steps;
  double train_loss, test_loss, test_accuracy, seconds, inverse_seconds;
  double cpu_seconds; /* CPU time of the training, summed over the ranks: less sensitive than
                       * wall time to other jobs on a shared machine */
};

/* A test-accuracy measurement at a step, with the training clock at that step. */
struct eval_log {
  int64_t step;
  double seconds, cpu_seconds, test_loss, test_accuracy;
};

/* Seconds of every step's phases, summed over the steps (this rank). */
struct phase_times {
  double forward_backward; /* gathering the minibatch, forward, backward */
  double statistics;       /* prsvd_kfac_accumulate (DSYRK of activations and gradients) */
  double allreduce;        /* the gradients summed over the ranks */
  double factor_update;    /* prsvd_kfac_step's factor averaging (time_update) */
  double refresh;          /* decompositions, broadcasts, forming dense powers (time_inverse) */
  double form;             /* of which forming dense powers (time_form) */
  double precondition;     /* prsvd_kfac_precondition (time_precondition) */
  double optimizer;        /* the rest of the update: momentum, adam, the weights */
};

/* Everything a run logs. */
struct run_log {
  struct epoch_log *epochs;
  int64_t n_epochs;
  const double *step_loss;
  int64_t n_steps;
  struct eval_log *evals;
  int64_t n_evals;
  struct phase_times phases;
  int threads; /* K-FAC's compute threads a rank (1 without K-FAC) */
};

/* Rank 0 reads one idx file's first n rows into u8 (n x cols). */
static int read_idx_u8(const char *dir, const char *name, int64_t n, int64_t cols, uint8_t *u8) {
  int status = PRSVD_OK;
  char path[4096];
  prsvd_idx *x = NULL;
  double *rows = NULL;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (access(path, R_OK) != 0)
    PRSVD_ERR(PRSVD_ERR_INPUT, "Fashion-MNIST not found: '%s' does not exist (install Debian's package "
              "dataset-fashion-mnist: apt-get install dataset-fashion-mnist)", path);
  PRSVD_TRY(prsvd_idx_open(path, &x));
  const struct prsvd_idx_info *in = prsvd_idx_get_info(x);
  if (in->cols != cols || in->rows < n || in->type != 0x08)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' holds %lld x %lld %s, expected at least %lld x %lld uint8", path,
               (long long)in->rows, (long long)in->cols, in->type_name, (long long)n, (long long)cols);
  PRSVD_ALLOC(rows, 1000 * cols);
  for (int64_t r = 0; r < n; r += 1000) {
    int64_t nr = n - r < 1000 ? n - r : 1000;
    PRSVD_TRY(prsvd_idx_read_rows(x, nr, rows));
    for (int64_t k = 0; k < nr * cols; k++) u8[r * cols + k] = (uint8_t)rows[k];
  }
done:
  free(rows);
  prsvd_idx_close(&x);
  return status;
}

/* Collective: rank 0 reads the images and labels, every rank receives them. */
static int load(MPI_Comm comm, const char *dir, const char *images, const char *labels, int64_t n,
                struct dataset *d) {
  int rank, status = PRSVD_OK, count;
  MPI_Comm_rank(comm, &rank);
  d->n = n;
  d->x = malloc((size_t)(n * 784));
  d->y = malloc((size_t)n);
  if (!d->x || !d->y) status = prsvd_error_set(PRSVD_ERR_NOMEM, __FILE__, __LINE__, __func__, "out of memory for %lld images", (long long)n);
  if (!status && rank == 0) status = read_idx_u8(dir, images, n, 784, d->x);
  if (!status && rank == 0) status = read_idx_u8(dir, labels, n, 1, d->y);
  PRSVD_CHECK(prsvd_error_agree(comm, status));
  PRSVD_CHECK(prsvd_to_int(n * 784, "pixels", &count));
  PRSVD_MPI(MPI_Bcast(d->x, count, MPI_UINT8_T, 0, comm));
  PRSVD_MPI(MPI_Bcast(d->y, (int)n, MPI_UINT8_T, 0, comm));
  return PRSVD_OK;
}

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* The same permutation on every rank: Fisher-Yates from (seed, epoch). */
static void shuffle(int64_t *perm, int64_t n, uint64_t seed, int64_t epoch) {
  uint64_t s = seed ^ (0x632be59bd9b4e019ULL * (uint64_t)(epoch + 1));
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)(splitmix64(&s) % (uint64_t)(i + 1)), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

/* Samples idx[0..n) as x (n x 784, pixels / 255) and labels. */
static void gather(const struct dataset *d, const int64_t *idx, int64_t n, double *x, uint8_t *y) {
  for (int64_t b = 0; b < n; b++) {
    for (int k = 0; k < 784; k++) x[b * 784 + k] = d->x[idx[b] * 784 + k] / 255.0;
    y[b] = d->y[idx[b]];
  }
}

/* Collective: loss and accuracy on the test set, each rank its block of rows. */
static int evaluate(MPI_Comm comm, struct mlp *m, const struct dataset *t, double *x, uint8_t *y,
                    double *loss, double *accuracy) {
  int rank, nprocs;
  int64_t row0, rows, correct, *idx = malloc(sizeof(int64_t) * (size_t)m->capacity);
  double sums[2] = {0.0, 0.0}, part;
  if (!idx) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory");
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &nprocs);
  prsvd_row_block(t->n, rank, nprocs, &row0, &rows);
  int status = PRSVD_OK;
  for (int64_t r = 0; r < rows && !status; r += m->capacity) {
    int64_t n = rows - r < m->capacity ? rows - r : m->capacity;
    for (int64_t b = 0; b < n; b++) idx[b] = row0 + r + b;
    gather(t, idx, n, x, y);
    status = mlp_forward(m, n, x, y, &part, &correct);
    sums[0] += part;
    sums[1] += (double)correct;
  }
  free(idx);
  PRSVD_CHECK(prsvd_error_agree(comm, status));
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, comm));
  *loss = sums[0] / (double)t->n;
  *accuracy = sums[1] / (double)t->n;
  return PRSVD_OK;
}

static int allreduce(MPI_Comm comm, double *x, int n, MPI_Op op) {
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, op, comm));
  return PRSVD_OK;
}

static int parse_widths(const char *text, int64_t *widths, int *n_layers) {
  const char *p = text;
  int n = 1;
  widths[0] = 784;
  while (*p) {
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p || v < 1 || v > 100000 || n >= MLP_MAX_LAYERS || (*end && *end != ','))
      PRSVD_ERR(PRSVD_ERR_USAGE, "bad --widths '%s': expected up to %d widths like 256,128", text, MLP_MAX_LAYERS - 1);
    widths[n++] = v;
    p = *end ? end + 1 : end;
  }
  widths[n] = 10;
  *n_layers = n;
  return PRSVD_OK;
}

/* Rank 0: the CSV and JSON logs. */
static int write_logs(const struct train_opts *o, const struct run_log *run, int nprocs, int64_t n_params) {
  const struct epoch_log *log = run->epochs;
  const int64_t n_epochs = run->n_epochs, n_steps = run->n_steps;
  const double *step_loss = run->step_loss;
  const struct phase_times *ph = &run->phases;
  if (o->csv) {
    FILE *f = fopen(o->csv, "w");
    if (!f) PRSVD_ERR(PRSVD_ERR_OUTPUT, "cannot write '%s': %s", o->csv, strerror(errno));
    {
      fprintf(f, "epoch,steps,train_loss,test_loss,test_accuracy,seconds,inverse_seconds,cpu_seconds\n");
      for (int64_t e = 0; e < n_epochs; e++)
        fprintf(f, "%lld,%lld,%.10g,%.10g,%.6f,%.4f,%.4f,%.4f\n", (long long)log[e].epoch, (long long)log[e].steps,
                log[e].train_loss, log[e].test_loss, log[e].test_accuracy, log[e].seconds, log[e].inverse_seconds,
                log[e].cpu_seconds);
      if (fclose(f)) PRSVD_ERR(PRSVD_ERR_OUTPUT, "cannot write '%s': %s", o->csv, strerror(errno));
    }
  }
  if (o->json) {
    FILE *f = fopen(o->json, "w");
    if (!f) PRSVD_ERR(PRSVD_ERR_OUTPUT, "cannot write '%s': %s", o->json, strerror(errno));
    fprintf(f, "{\n  \"optimizer\": \"%s\", \"widths\": \"%s\", \"batch\": %lld, \"lr\": %.10g,\n", o->optimizer,
            o->widths, (long long)o->batch, o->lr);
    fprintf(f, "  \"rank\": %lld, \"damping\": %g, \"factor_period\": %lld, \"inverse_period\": %lld, \"eig_apply\": \"%s\",\n",
            (long long)o->rank, o->damping, (long long)o->factor_period, (long long)o->inverse_period, o->eig_apply);
    fprintf(f, "  \"seed\": %llu, \"nprocs\": %d, \"threads\": %d, \"parameters\": %lld, \"train_size\": %lld, \"test_size\": %lld,\n",
            (unsigned long long)o->seed, nprocs, run->threads, (long long)n_params, (long long)o->train_size,
            (long long)o->test_size);
    fprintf(f, "  \"epochs\": [");
    for (int64_t e = 0; e < n_epochs; e++)
      fprintf(f, "%s\n    {\"epoch\": %lld, \"steps\": %lld, \"train_loss\": %.17g, \"test_loss\": %.17g, "
              "\"test_accuracy\": %.6f, \"seconds\": %.4f, \"inverse_seconds\": %.4f, \"cpu_seconds\": %.4f}", e ? "," : "",
              (long long)log[e].epoch, (long long)log[e].steps, log[e].train_loss, log[e].test_loss,
              log[e].test_accuracy, log[e].seconds, log[e].inverse_seconds, log[e].cpu_seconds);
    fprintf(f, "\n  ],\n  \"eval_size\": %lld, \"evals\": [", (long long)o->eval_size);
    for (int64_t e = 0; e < run->n_evals; e++)
      fprintf(f, "%s\n    {\"step\": %lld, \"seconds\": %.4f, \"cpu_seconds\": %.4f, \"test_loss\": %.17g, \"test_accuracy\": %.6f}",
              e ? "," : "", (long long)run->evals[e].step, run->evals[e].seconds, run->evals[e].cpu_seconds,
              run->evals[e].test_loss, run->evals[e].test_accuracy);
    fprintf(f, "\n  ],\n  \"phase_seconds\": {\"forward_backward\": %.4f, \"statistics\": %.4f, \"allreduce\": %.4f, "
            "\"factor_update\": %.4f, \"refresh\": %.4f, \"form\": %.4f, \"precondition\": %.4f, \"optimizer\": %.4f},\n",
            ph->forward_backward, ph->statistics, ph->allreduce, ph->factor_update, ph->refresh, ph->form,
            ph->precondition, ph->optimizer);
    fprintf(f, "  \"step_loss\": [");
    for (int64_t s = 0; s < n_steps; s++) fprintf(f, "%s%.17g", s ? ", " : "", step_loss[s]);
    fprintf(f, "]\n}\n");
    if (fclose(f)) PRSVD_ERR(PRSVD_ERR_OUTPUT, "cannot write '%s': %s", o->json, strerror(errno));
  }
  return PRSVD_OK;
}

/* CPU time of this process (every thread), seconds. */
static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Rank 0: the eigenvalues of every factor after a refresh, one line each. */
static int log_spectra(FILE *f, const prsvd_kfac *kf, int n_layers, int64_t step) {
  for (int l = 0; l < n_layers; l++)
    for (int w = 0; w < 2; w++) {
      const double *u, *lambda;
      double damping;
      int64_t d, r;
      PRSVD_CHECK(prsvd_kfac_get_inverse(kf, l, w ? PRSVD_KFAC_G : PRSVD_KFAC_A, &d, &r, &u, &lambda, &damping));
      for (int64_t j = 0; j < r; j++)
        fprintf(f, "%lld %d %c %lld %.10g\n", (long long)step, l, w ? 'G' : 'A', (long long)j + 1, lambda[j]);
    }
  if (ferror(f)) PRSVD_ERR(PRSVD_ERR_OUTPUT, "cannot write the spectra: %s", strerror(errno));
  return PRSVD_OK;
}

static int train(MPI_Comm comm, struct train_opts *o) {
  int status = PRSVD_OK, rank, nprocs, n_layers = 0;
  int64_t widths[MLP_MAX_LAYERS + 1], row0, local, step = 0, n_epochs = 0;
  struct dataset tr = {0, NULL, NULL}, te = {0, NULL, NULL};
  struct mlp *m = NULL;
  struct mlp_opt *opt = NULL;
  prsvd_kfac *kf = NULL;
  struct mlp_opt_params op = {MLP_KFAC, 0.02, o->momentum, o->momentum, 0.999, 1e-8};
  struct prsvd_kfac_params kp = PRSVD_KFAC_PARAMS_INIT;
  int64_t *perm = NULL;
  double *x = NULL, *step_loss = NULL;
  uint8_t *y = NULL;
  struct epoch_log *log = NULL;
  struct eval_log *evals = NULL;
  int64_t n_evals = 0;
  struct phase_times phases = {0}, *ph = &phases;
  struct dataset tv; /* the first eval_size test images */
  FILE *spectra = NULL;
  const char *dir = o->data ? o->data : getenv("PRSVD_FASHION_MNIST");
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &nprocs);
  if (!dir || !*dir) dir = "/usr/share/datasets/fashion-mnist";

  if (!strcmp(o->optimizer, "sgd")) op.method = MLP_SGD, op.lr = 0.05;
  else if (!strcmp(o->optimizer, "adam")) op.method = MLP_ADAM, op.lr = 1e-3;
  else if (!strcmp(o->optimizer, "kfac-eig")) kp.method = PRSVD_KFAC_EIG;
  else if (!strcmp(o->optimizer, "kfac-revd")) kp.method = PRSVD_KFAC_REVD;
  else if (!strcmp(o->optimizer, "kfac-rsvd")) kp.method = PRSVD_KFAC_RSVD;
  else if (!strcmp(o->optimizer, "kfac-nystrom")) kp.method = PRSVD_KFAC_NYSTROM;
  else PRSVD_FAIL(PRSVD_ERR_USAGE, "unknown --optimizer '%s': expected sgd, adam, kfac-eig, kfac-revd, kfac-rsvd or kfac-nystrom", o->optimizer);
  if (strcmp(o->eig_apply, "dense") && strcmp(o->eig_apply, "vectors"))
    PRSVD_FAIL(PRSVD_ERR_USAGE, "unknown --eig-apply '%s': expected dense or vectors", o->eig_apply);
  kp.apply_through_vectors = !strcmp(o->eig_apply, "vectors");
  if (o->lr > 0) op.lr = o->lr;
  o->lr = op.lr;
  if (o->batch > o->train_size)
    PRSVD_FAIL(PRSVD_ERR_USAGE, "--batch %lld exceeds the %lld training images", (long long)o->batch, (long long)o->train_size);
  PRSVD_TRY(parse_widths(o->widths, widths, &n_layers));

  PRSVD_TRY(load(comm, dir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", o->train_size, &tr));
  PRSVD_TRY(load(comm, dir, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", o->test_size, &te));
  if (!o->eval_size) o->eval_size = o->test_size;
  if (o->eval_size > o->test_size)
    PRSVD_FAIL(PRSVD_ERR_USAGE, "--eval-size %lld exceeds --test-size %lld", (long long)o->eval_size, (long long)o->test_size);
  tv = te, tv.n = o->eval_size;
  int64_t capacity = (o->batch + nprocs - 1) / nprocs;
  if (capacity < 500) capacity = 500; /* evaluation panels */
  PRSVD_TRY(mlp_create(n_layers, widths, o->seed, capacity, &m));
  if (op.method == MLP_KFAC) {
    kp.rank = o->rank;
    kp.damping = o->damping;
    kp.decay = o->decay;
    kp.factor_period = (int)o->factor_period;
    kp.inverse_period = (int)o->inverse_period;
    kp.seed = o->seed;
    kp.distribute_dim = o->distribute_dim;
    kp.threads = (int)o->threads; /* 0: chosen by prsvd_kfac_create, as svd chooses them */
    PRSVD_TRY(prsvd_kfac_create(comm, &kf));
    PRSVD_TRY(prsvd_kfac_set_params(kf, &kp));
    for (int l = 0; l < n_layers; l++) {
      int id;
      PRSVD_TRY(prsvd_kfac_add_layer(kf, widths[l], widths[l + 1], 1, &id));
    }
  }
  PRSVD_TRY(mlp_opt_create(m, &op, kf, &opt));
  if (kf && o->spectra && rank == 0) {
    spectra = fopen(o->spectra, "w");
    if (!spectra) status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__, "cannot write '%s': %s", o->spectra, strerror(errno));
    else fprintf(spectra, "# step layer factor index lambda\n");
  }
  PRSVD_TRY(prsvd_error_agree(comm, status));

  int64_t steps_per_epoch = tr.n / o->batch, total = steps_per_epoch * o->epochs;
  if (o->max_steps && o->max_steps < total) total = o->max_steps;
  PRSVD_ALLOC(perm, tr.n);
  PRSVD_ALLOC(x, capacity * 784);
  PRSVD_ALLOC(y, capacity);
  PRSVD_ALLOC(step_loss, total);
  PRSVD_ALLOC(log, o->epochs);
  if (o->eval_every) PRSVD_ALLOC(evals, total / o->eval_every + 2);
  prsvd_row_block(o->batch, rank, nprocs, &row0, &local);
  /* the training clock (wall and CPU) runs in segments between evaluations */
  double clock = 0.0, cpu_clock = 0.0, seg0 = MPI_Wtime(), cpu_seg0 = cpu_seconds();
#define CLOCK_STOP() (clock += MPI_Wtime() - seg0, cpu_clock += cpu_seconds() - cpu_seg0)
#define CLOCK_START() (seg0 = MPI_Wtime(), cpu_seg0 = cpu_seconds())
  if (o->eval_every) { /* the accuracy before training */
    CLOCK_STOP();
    struct eval_log *ev = &evals[n_evals++];
    ev->step = 0, ev->seconds = 0.0, ev->cpu_seconds = 0.0;
    PRSVD_TRY(evaluate(comm, m, &tv, x, y, &ev->test_loss, &ev->test_accuracy));
    CLOCK_START();
  }
  for (int64_t e = 0; e < o->epochs && step < total; e++) {
    double clock0 = clock + (MPI_Wtime() - seg0), cpu0 = cpu_clock + (cpu_seconds() - cpu_seg0), inv0 = 0.0;
    double loss_sum = 0.0;
    struct prsvd_kfac_stats ks;
    int64_t s0 = step;
    if (kf) prsvd_kfac_get_stats(kf, &ks), inv0 = ks.time_inverse;
    shuffle(perm, tr.n, o->seed, e);
    for (int64_t s = 0; s < steps_per_epoch && step < total; s++, step++) {
      double loss, t = MPI_Wtime(), t1;
      int64_t correct;
      /* this rank's block of the minibatch */
      gather(&tr, perm + s * o->batch + row0, local, x, y);
      status = mlp_forward(m, local, x, y, &loss, &correct);
      if (!status) status = mlp_backward(m, local, y, 1.0 / (double)o->batch);
      t1 = MPI_Wtime(), ph->forward_backward += t1 - t, t = t1;
      if (!status && kf && prsvd_kfac_wants_statistics(kf))
        for (int l = 0; l < n_layers && !status; l++)
          status = prsvd_kfac_accumulate(kf, l, local, m->act[l], m->d_in[l], m->delta[l], m->d_out[l]);
      PRSVD_TRY(prsvd_error_agree(comm, status));
      t1 = MPI_Wtime(), ph->statistics += t1 - t, t = t1;
      /* one allreduce, in place: every gradient (contiguous in m->grads), the loss, the count */
      const int64_t k = m->n_params;
      int count;
      m->grads[k] = loss;
      m->grads[k + 1] = (double)correct;
      PRSVD_TRY(prsvd_to_int(k + 2, "gradient length", &count));
      PRSVD_TRY(allreduce(comm, m->grads, count, MPI_SUM));
      t1 = MPI_Wtime(), ph->allreduce += t1 - t, t = t1;
      step_loss[step] = m->grads[k] / (double)o->batch;
      loss_sum += step_loss[step];
      if (!isfinite(step_loss[step]))
        PRSVD_FAIL(PRSVD_ERR_NUMERIC, "the loss diverged at step %lld (%g): lower --lr", (long long)step, step_loss[step]);
      struct prsvd_kfac_stats k0, k1, k2;
      if (kf) {
        prsvd_kfac_get_stats(kf, &k0);
        PRSVD_TRY(prsvd_kfac_step(kf));
        prsvd_kfac_get_stats(kf, &k1);
        if (spectra && k1.refreshes > k0.refreshes) status = log_spectra(spectra, kf, n_layers, step);
        PRSVD_TRY(prsvd_error_agree(comm, status));
      }
      PRSVD_TRY(mlp_opt_update(opt, m));
      t1 = MPI_Wtime();
      if (kf) { /* the library's clocks split K-FAC's share of the step */
        prsvd_kfac_get_stats(kf, &k2);
        const double update = k1.time_update - k0.time_update, refresh = k2.time_inverse - k0.time_inverse;
        const double precondition = k2.time_precondition - k1.time_precondition;
        ph->factor_update += update, ph->refresh += refresh, ph->precondition += precondition;
        ph->form += k2.time_form - k0.time_form;
        ph->optimizer += t1 - t - update - refresh - precondition;
      } else {
        ph->optimizer += t1 - t;
      }
      if (!o->quiet && rank == 0 && isatty(2) && (s % 10 == 0 || s + 1 == steps_per_epoch)) {
        int done = (int)(40 * (s + 1) / steps_per_epoch);
        fprintf(stderr, "\repoch %lld/%lld [%.*s%*s] loss %.4f ", (long long)e + 1, (long long)o->epochs, done,
                "========================================", 40 - done, "", step_loss[step]);
      }
      if (o->eval_every && (step + 1) % o->eval_every == 0) {
        CLOCK_STOP();
        struct eval_log *ev = &evals[n_evals++];
        double cpu = cpu_clock;
        PRSVD_TRY(allreduce(comm, &cpu, 1, MPI_SUM));
        ev->step = step + 1, ev->seconds = clock, ev->cpu_seconds = cpu;
        PRSVD_TRY(evaluate(comm, m, &tv, x, y, &ev->test_loss, &ev->test_accuracy));
        CLOCK_START();
      }
    }
    CLOCK_STOP();
    struct epoch_log *l = &log[n_epochs++];
    l->epoch = e + 1;
    l->steps = step - s0;
    l->train_loss = loss_sum / (double)l->steps;
    l->seconds = clock - clock0;
    l->cpu_seconds = cpu_clock - cpu0;
    PRSVD_TRY(allreduce(comm, &l->cpu_seconds, 1, MPI_SUM));
    if (kf) prsvd_kfac_get_stats(kf, &ks), l->inverse_seconds = ks.time_inverse - inv0;
    PRSVD_TRY(allreduce(comm, &l->inverse_seconds, 1, MPI_MAX));
    PRSVD_TRY(evaluate(comm, m, &te, x, y, &l->test_loss, &l->test_accuracy));
    if (!o->quiet && rank == 0) {
      if (isatty(2)) fputc('\n', stderr);
      printf("epoch %lld  steps %lld  train loss %.4f  test loss %.4f  test accuracy %.4f  %.2f s  inversion %.2f s\n",
             (long long)l->epoch, (long long)l->steps, l->train_loss, l->test_loss, l->test_accuracy,
             l->seconds, l->inverse_seconds);
      fflush(stdout);
    }
    CLOCK_START();
  }
#undef CLOCK_STOP
#undef CLOCK_START
  int threads = 1;
  if (kf) {
    struct prsvd_kfac_stats ks;
    prsvd_kfac_get_stats(kf, &ks);
    threads = ks.threads;
  }
  if (!o->quiet && rank == 0) {
    const double n = step > 0 ? (double)step : 1.0;
    printf("%s on %d rank(s) x %d thread(s): %lld steps in %.2f s of training (evaluations excluded)\n", o->optimizer,
           nprocs, threads, (long long)step, clock);
    printf("seconds per step: forward+backward %.4f, factor statistics %.4f, gradient allreduce %.4f, factor update "
           "%.4f, refresh %.4f, precondition %.4f, optimizer %.4f\n", ph->forward_backward / n, ph->statistics / n,
           ph->allreduce / n, ph->factor_update / n, ph->refresh / n, ph->precondition / n, ph->optimizer / n);
  }
  struct run_log run = {log, n_epochs, step_loss, step, evals, n_evals, *ph, threads};
  if (rank == 0) status = write_logs(o, &run, nprocs, m->n_params);
  PRSVD_TRY(prsvd_error_agree(comm, status));
  if (spectra && fclose(spectra)) status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__, "cannot write '%s': %s", o->spectra, strerror(errno));
  spectra = NULL;
  PRSVD_TRY(prsvd_error_agree(comm, status));
done:
  if (spectra) fclose(spectra);
  mlp_opt_destroy(&opt);
  prsvd_kfac_destroy(&kf);
  mlp_destroy(&m);
  free(tr.x), free(tr.y), free(te.x), free(te.y);
  free(perm), free(x), free(y), free(step_loss), free(log), free(evals);
  return status;
}

int main(int argc, char **argv) {
  int provided, rank, status;
  struct train_opts o;
  prsvd_cli_pick_pml(); /* as prsvd does: no 0.2 s probe of cm on one node */
  prsvd_cli_pick_singleton(); /* and no orted, whose PMIx events could fault MPI_Finalize */
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { /* the options table, after our usage line */
      char *text = NULL;
      size_t len = 0;
      FILE *f = open_memstream(&text, &len);
      if (f) prsvd_options_help(f, &train_doc, train_options), fclose(f);
      if (rank == 0 && text) printf("usage: tools/kfac-train [-n RANKS] [options]\n%s", strchr(text, '\n') + 1);
      free(text);
      MPI_Finalize();
      return 0;
    }
  status = prsvd_options_parse(&train_doc, train_options, argc, argv, &o, NULL);
  if (status == 0) status = train(MPI_COMM_WORLD, &o);
  if (status < 0) status = 0; /* --help */
  if (status && rank == 0) prsvd_error_print(o.debug);
  MPI_Finalize();
  return status;
}
