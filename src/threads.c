/* The compute threads of a rank (threads.h) and how many to run (prsvd_threads_choose). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_ISSET */
#include "threads.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas.h"
#include "error.h"
#include "prsvd.h"

struct prsvd_pool {
  int threads;
  pthread_t *workers;
  int started; /* workers running */
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  pthread_barrier_t barrier;    /* the T threads of a run, for prsvd_pool_barrier */
  unsigned long round; /* bumped by each run */
  int pending;         /* workers still in this round's fn */
  int quit;
  void (*fn)(void *arg, int t);
  void *arg;
};

struct worker_arg {
  struct prsvd_pool *pool;
  int t;
};

static void *worker(void *p) {
  struct worker_arg wa = *(struct worker_arg *)p;
  struct prsvd_pool *pool = wa.pool;
  unsigned long seen = 0;
  free(p);
  prsvd_blas_threads_local(1); /* this thread's BLAS calls run on this thread alone */
  pthread_mutex_lock(&pool->mu);
  for (;;) {
    while (pool->round == seen && !pool->quit) pthread_cond_wait(&pool->go, &pool->mu);
    if (pool->quit) break;
    seen = pool->round;
    void (*fn)(void *, int) = pool->fn;
    void *arg = pool->arg;
    pthread_mutex_unlock(&pool->mu);
    fn(arg, wa.t);
    pthread_mutex_lock(&pool->mu);
    if (--pool->pending == 0) pthread_cond_signal(&pool->done);
  }
  pthread_mutex_unlock(&pool->mu);
  return NULL;
}

int prsvd_pool_create(int threads, struct prsvd_pool **out) {
  int status = PRSVD_OK;
  struct prsvd_pool *pool = NULL;
  *out = NULL;
  if (threads < 1 || threads > PRSVD_MAX_THREADS)
    PRSVD_ERR(PRSVD_ERR_USAGE, "%d compute threads: expected 1 to %d", threads, PRSVD_MAX_THREADS);
  if (threads == 1) return PRSVD_OK;
  PRSVD_ALLOC(pool, 1);
  pool->threads = threads;
  pthread_mutex_init(&pool->mu, NULL);
  pthread_cond_init(&pool->go, NULL);
  pthread_cond_init(&pool->done, NULL);
  pthread_barrier_init(&pool->barrier, NULL, (unsigned)threads);
  PRSVD_ALLOC(pool->workers, threads - 1);
  for (int t = 1; t < threads; t++) {
    struct worker_arg *wa = malloc(sizeof *wa);
    if (!wa) PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory starting compute thread %d", t);
    wa->pool = pool, wa->t = t;
    if (pthread_create(&pool->workers[t - 1], NULL, worker, wa) != 0) {
      free(wa);
      PRSVD_FAIL(PRSVD_ERR_INTERNAL, "cannot start compute thread %d of %d", t, threads);
    }
    pool->started++;
  }
  *out = pool;
  return PRSVD_OK;
done:
  prsvd_pool_destroy(&pool);
  return status;
}

int prsvd_pool_threads(const struct prsvd_pool *pool) {
  return pool ? pool->threads : 1;
}

void prsvd_pool_share(int64_t n, int t, int threads, int64_t *first, int64_t *count) {
  *first = n * t / threads;
  *count = n * (t + 1) / threads - *first;
}

void prsvd_pool_run(struct prsvd_pool *pool, void (*fn)(void *arg, int t), void *arg) {
  if (!pool) {
    fn(arg, 0);
    return;
  }
  pthread_mutex_lock(&pool->mu);
  pool->fn = fn;
  pool->arg = arg;
  pool->pending = pool->threads - 1;
  pool->round++;
  pthread_cond_broadcast(&pool->go);
  pthread_mutex_unlock(&pool->mu);
  fn(arg, 0);
  pthread_mutex_lock(&pool->mu);
  while (pool->pending) pthread_cond_wait(&pool->done, &pool->mu);
  pthread_mutex_unlock(&pool->mu);
}

void prsvd_pool_barrier(struct prsvd_pool *pool) {
  if (pool) pthread_barrier_wait(&pool->barrier);
}

void prsvd_pool_destroy(struct prsvd_pool **pool) {
  struct prsvd_pool *p = pool ? *pool : NULL;
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->quit = 1;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  for (int t = 0; t < p->started; t++) pthread_join(p->workers[t], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->go);
  pthread_cond_destroy(&p->done);
  pthread_barrier_destroy(&p->barrier);
  free(p->workers);
  free(p);
  *pool = NULL;
}

double prsvd_cpu_share(const unsigned char *masks, size_t mask_bytes, int ranks, int me) {
  const unsigned char *mine = masks + (size_t)me * mask_bytes;
  double share = 0.0;
  for (size_t c = 0; c < 8 * mask_bytes; c++) {
    if (!(mine[c / 8] >> (c % 8) & 1)) continue;
    int holders = 0;
    for (int r = 0; r < ranks; r++) holders += masks[(size_t)r * mask_bytes + c / 8] >> (c % 8) & 1;
    share += 1.0 / holders;
  }
  return share;
}

/* This rank's affinity mask as a bitmap (CPU_SETSIZE bits); the CPUs online when there is
 * none to read. */
static int my_mask(unsigned char *bits, size_t bytes) {
  cpu_set_t set;
  int count = 0;
  memset(bits, 0, bytes);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (size_t c = 0; c < 8 * bytes && c < CPU_SETSIZE; c++)
      if (CPU_ISSET(c, &set)) bits[c / 8] |= (unsigned char)(1u << (c % 8)), count++;
    if (count) return count;
  }
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  for (long c = 0; c < online && c < (long)(8 * bytes); c++)
    bits[c / 8] |= (unsigned char)(1u << (c % 8)), count++;
  return count;
}

int prsvd_cpus_mine(void) {
  unsigned char bits[CPU_SETSIZE / 8];
  return my_mask(bits, sizeof bits);
}

int prsvd_threads_choose(MPI_Comm comm, int requested, struct prsvd_threads_choice *choice) {
  enum { BYTES = CPU_SETSIZE / 8 };
  int status = PRSVD_OK, me = 0, here = 1, shared_with = 0;
  unsigned char mine[BYTES], *all = NULL;
  char bound[96] = "";
  struct prsvd_binding binding;
  MPI_Comm node = MPI_COMM_NULL;
  memset(choice, 0, sizeof *choice);
  choice->requested = requested;
  if (requested < 0 || requested > PRSVD_MAX_THREADS)
    PRSVD_ERR(PRSVD_ERR_USAGE, "%d compute threads a rank: expected 1 to %d (0: automatic)",
              requested, PRSVD_MAX_THREADS);
  PRSVD_MPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  MPI_Comm_rank(node, &me);
  MPI_Comm_size(node, &here);
  prsvd_binding_widen(here, &binding); /* before the mask is counted */
  choice->widened_from = binding.to ? binding.from : 0;
  choice->binding_kept = binding.kept;
  if (binding.to)
    snprintf(bound, sizeof bound, " (Open MPI's default binding to %d, widened: the rank is alone on its node)",
             binding.from);
  else if (binding.kept)
    snprintf(bound, sizeof bound, " (Open MPI's default binding, kept: PRSVD_KEEP_BINDING)");
  choice->cpus = my_mask(mine, BYTES);
  /* the node's masks side by side: the share of each CPU among the ranks that may run on it */
  PRSVD_ALLOC(all, (int64_t)here * BYTES);
  PRSVD_MPI_TRY(MPI_Allgather(mine, BYTES, MPI_UNSIGNED_CHAR, all, BYTES, MPI_UNSIGNED_CHAR, node));
  choice->share = prsvd_cpu_share(all, BYTES, here, me);
  for (int r = 0; r < here; r++) {
    int common = 0;
    for (int b = 0; b < BYTES && !common; b++) common = (all[(size_t)r * BYTES + b] & mine[b]) != 0;
    shared_with += common;
  }
  choice->sharing = shared_with;
  /* whole CPUs (a rank given 1.5 runs 1 thread), the same count on every rank, so that the
   * panels, the plan and the results are the same everywhere */
  int fair = (int)floor(choice->share + 1e-9), fewest;
  if (fair < 1) fair = 1;
  if (fair > PRSVD_MAX_THREADS) fair = PRSVD_MAX_THREADS;
  PRSVD_MPI_TRY(MPI_Allreduce(&fair, &fewest, 1, MPI_INT, MPI_MIN, comm));
  if (requested > 0) {
    choice->threads = requested;
    snprintf(choice->why, sizeof choice->why,
             "--threads %d; this rank's fair share of its %d CPU%s%s is %.3g", requested,
             choice->cpus, choice->cpus == 1 ? "" : "s", bound, choice->share);
  } else {
    choice->threads = fewest;
    snprintf(choice->why, sizeof choice->why,
             "auto: %d CPU%s in the affinity mask%s, shared by %d rank%s: %.3g each%s", choice->cpus,
             choice->cpus == 1 ? "" : "s", bound, shared_with, shared_with == 1 ? "" : "s", choice->share,
             fewest < fair ? " (another rank has fewer)" : "");
  }
done:
  free(all);
  if (node != MPI_COMM_NULL) MPI_Comm_free(&node);
  return status;
}
