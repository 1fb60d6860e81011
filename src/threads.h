/*
 * Compute threads inside a rank: a small pool of T - 1 worker threads beside the calling
 * thread, created once per solve with T fixed for the run.  prsvd_pool_run() runs fn(arg, t)
 * for t = 0 .. T - 1, the caller taking t = 0, and returns when all have returned: work is
 * split by t alone, never by which thread comes first, so what each thread computes, and the
 * order in which the caller then combines it, does not depend on timing.  Each worker sets
 * its BLAS to one thread of its own (blas.h); the caller sets the process-wide count
 * (OpenBLAS) to 1 while a pool multiplies (pass.c, kfac_statistics.c).  A NULL pool is one
 * thread: fn(arg, 0).
 *
 * The automatic count (prsvd_threads_choose in prsvd.h): each rank's share of the CPUs of its
 * affinity mask, a CPU that k ranks of the node may run on counting 1/k to each; a rank alone
 * on its node under Open MPI's default binding to one core is first widened to the CPUs its
 * launcher may use (binding.c).
 */
#ifndef PRSVD_THREADS_H
#define PRSVD_THREADS_H

#include <stddef.h>
#include <stdint.h>

struct prsvd_pool;

/* threads >= 1 (1: no workers, and *pool stays NULL). */
int prsvd_pool_create(int threads, struct prsvd_pool **pool);
int prsvd_pool_threads(const struct prsvd_pool *pool);
void prsvd_pool_run(struct prsvd_pool *pool, void (*fn)(void *arg, int t), void *arg);
/* Thread t's share [*first, *first + *count) of n items split among `threads` in order. */
void prsvd_pool_share(int64_t n, int t, int threads, int64_t *first, int64_t *count);
/* Inside a run's fn: wait until all T threads of the run have reached it (every t must). */
void prsvd_pool_barrier(struct prsvd_pool *pool);
void prsvd_pool_destroy(struct prsvd_pool **pool);

/* CPUs of the calling thread's affinity mask (the CPUs online when it cannot be read). */
int prsvd_cpus_mine(void);

/* Rank me's fair share of CPUs among `ranks` ranks of one node, each with a bitmap of
 * mask_bytes bytes (bit c of byte c / 8: CPU c) at masks + r * mask_bytes: the sum over the
 * CPUs of its mask of 1 / (the number of masks holding that CPU). */
double prsvd_cpu_share(const unsigned char *masks, size_t mask_bytes, int ranks, int me);

/* Open MPI's default binding, told from one the user asked for (binding.c): from, the CPUs of
 * the mask it gave (0: no such binding, or nothing wider to give); to, the CPUs of the mask it
 * was widened to (0: not widened); kept, 1 when PRSVD_KEEP_BINDING kept it. */
struct prsvd_binding {
  int from, to, kept;
};

/* Not collective: node_ranks is the number of ranks of the job on this node.  Widens the
 * calling thread's affinity when Open MPI bound this rank by its default, the rank is alone on
 * its node, not under SLURM, and PRSVD_KEEP_BINDING is not set; decided once a process, each
 * call reports what the first did. */
void prsvd_binding_widen(int node_ranks, struct prsvd_binding *binding);

#endif
