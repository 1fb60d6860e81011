/*
 * Checkpoints of a streaming solve at panel boundaries (library side; the file format lives
 * in io/).  A solver describes its state as named arrays (struct prsvd_state), installs
 * prsvd_ckpt_hook as its pass hook, and at every panel step all ranks vote: an error on any
 * rank ends the pass with that error on every rank; a stop request (signal) on any rank, or
 * rank 0's clock passing every_seconds, saves the state collectively; a stop then returns
 * PRSVD_CHECKPOINTED on every rank.
 *
 * Every method states its checkpoint the same way (subspace and revd in rsvd.c, onepass.c,
 * qb.c, nystrom in eig.c):
 *
 *   prsvd_ckpt_init(&ck, svd->comm, prm->checkpoint);      a no-op solve without one
 *   prsvd_ckpt_array(&ck, "Y", ...);                        arrays saved as they are
 *   prsvd_ckpt_partial(&ck, grid, "H", h_full, n, l);       per-rank partial sums
 *   prsvd_ckpt_passes(&ck, q, rcond_min);                   the passes a resume may be in
 *   prsvd_ckpt_start(&ck, &pass, &cur, &resumed);           load, check, restore, install the hook
 *   ... passes ...
 *   prsvd_ckpt_free(&ck);
 */
#ifndef PRSVD_CHECKPOINT_H
#define PRSVD_CHECKPOINT_H

#include "prsvd.h"
#include "sketch.h"

struct prsvd_ckpt {
  MPI_Comm comm;
  const struct prsvd_checkpointer *cp; /* NULL: the solve is not checkpointed */
  struct prsvd_state st;
  struct prsvd_pass *pass; /* the solver's, whose range state (sketch.h) is saved as "range" */
  double range[2];         /* its scale_exp and amax, agreed over ranks at each save */
  double last_save;
  int phase, passes_done;
  double r_rcond;
  long steps; /* panel steps taken by this solve */
  /* what a loaded state may hold (prsvd_ckpt_passes, prsvd_ckpt_start) */
  int last_pass;
  int ends_early; /* -q auto: the passes may end before last_pass, and the extra pass with them */
  double extra_below;
  int64_t row0, local_rows; /* this rank's rows in a pass: where its cursor may stand */
  /* partial sums: `full` on every rank, saved as their sum in `saved` (rows by block) */
  int n_partial;
  struct {
    double *full;
    prsvd_dmat *saved;
    int reduced; /* full already holds the total on every rank */
  } partial[PRSVD_STATE_MAX];
};

/* Start describing the state of a solve (cp NULL: every call below does nothing). */
void prsvd_ckpt_init(struct prsvd_ckpt *c, MPI_Comm comm, const struct prsvd_checkpointer *cp);
/* Add an array saved as it is (before prsvd_ckpt_start). */
void prsvd_ckpt_array(struct prsvd_ckpt *c, const char *name, double *data, int64_t rows,
                      int64_t cols, int64_t ld, int64_t row0, int64_t local_rows, int distributed);
/* Collective: add a per-rank partial sum `full` (rows x cols, column-major, ld = rows) that
 * the solver sums over ranks after its pass.  Saved as the sum over ranks; restored as this
 * rank's row block of that sum with zeros elsewhere, so the solver's own reduction then gives
 * the total (adding zeros is exact). */
int prsvd_ckpt_partial(struct prsvd_ckpt *c, const prsvd_grid *grid, const char *name,
                       double *full, int64_t rows, int64_t cols);
/* The solver has summed `full` in place (every rank holds the total): saved as it is. */
void prsvd_ckpt_partial_reduced(struct prsvd_ckpt *c, const double *full);
/* The passes of this solve, which a loaded state must be in: phase 0 is passes 0 to
 * last_pass; with extra_below > 0, phase 1 is one more pass (last_pass + 1), which the solve
 * takes only when r_rcond < extra_below.  Before prsvd_ckpt_start (default: one pass). */
void prsvd_ckpt_passes(struct prsvd_ckpt *c, int last_pass, double extra_below);
/* The passes may stop before last_pass (-q auto: when the values settle): phase 1 may follow
 * any pass. */
void prsvd_ckpt_ends_early(struct prsvd_ckpt *c);
/* Collective: load (*resumed = 1 if a checkpoint was found; the cursor then says where to
 * continue), after the loader has checked its scalars against prsvd_ckpt_passes, its
 * passes_done against its pass, and each rank's cursor against that rank's rows of the pass;
 * restore the partial sums and the pass's range state, and install the hook on the pass. */
int prsvd_ckpt_start(struct prsvd_ckpt *c, struct prsvd_pass *pass, struct prsvd_cursor *cur,
                     int *resumed);
/* The pass hook (struct prsvd_pass.hook) with arg = struct prsvd_ckpt *. */
int prsvd_ckpt_hook(void *arg, int status, const struct prsvd_cursor *cur);
void prsvd_ckpt_free(struct prsvd_ckpt *c);

#endif
