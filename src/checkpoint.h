/*
 * Checkpoints of a streaming solve at panel boundaries (library side; the file format lives
 * in io/).  A solver describes its state as named arrays (struct prsvd_state), installs
 * prsvd_ckpt_hook as its pass hook, and at every panel step all ranks vote: an error on any
 * rank ends the pass with that error on every rank; a stop request (signal) on any rank, or
 * rank 0's clock passing every_seconds, saves the state collectively; a stop then returns
 * PRSVD_CHECKPOINTED on every rank.
 */
#ifndef PRSVD_CHECKPOINT_H
#define PRSVD_CHECKPOINT_H

#include "prsvd.h"
#include "sketch.h"

struct prsvd_ckpt {
  MPI_Comm comm;
  const struct prsvd_checkpointer *cp;
  struct prsvd_state st;
  /* called before save, collectively: fold partial sums into the saved arrays */
  int (*prepare)(void *solver);
  void *solver;
  double last_save;
  int phase, passes_done;
  double r_rcond;
  int saves;
  long steps; /* panel steps taken by this solve */
};

/* Add an array to the state (before load or save). */
void prsvd_ckpt_array(struct prsvd_ckpt *c, const char *name, double *data, int64_t rows,
                      int64_t cols, int64_t ld, int64_t row0, int64_t local_rows, int distributed);
/* Collective: load into the described arrays; *found = 0 if there is no checkpoint. */
int prsvd_ckpt_load(struct prsvd_ckpt *c, int *found);
/* The pass hook (struct prsvd_pass.hook) with arg = struct prsvd_ckpt *. */
int prsvd_ckpt_hook(void *arg, int status, const struct prsvd_cursor *cur);

#endif
