/*
 * Per-phase profiling, as PETSc's -log_view: named events bracketed once in the code, each
 * accumulating time, bytes and flops on this rank; prsvd_profile_reduce() combines them over
 * ranks (max/min time, summed bytes and flops) for the summary table and --json.
 * Main thread only.
 */
#ifndef PRSVD_PROFILE_H
#define PRSVD_PROFILE_H

#include <mpi.h>
#include <stdio.h>

enum prsvd_event {
  PRSVD_EV_READ,       /* reading and converting panels */
  PRSVD_EV_SKETCH,     /* panel GEMMs into the sketches */
  PRSVD_EV_REDUCE,     /* combining sketches across ranks */
  PRSVD_EV_ORTH,       /* QR of tall-skinny sketches */
  PRSVD_EV_SMALL_SVD,  /* the l x l SVD and forming U, V */
  PRSVD_EV_ESTIMATE,   /* error estimate, signs */
  PRSVD_EV_WRITE,      /* output */
  PRSVD_EV_GENERATE,   /* prsvd gen: computing entries */
  PRSVD_EV_CHECKPOINT, /* saving the state of a solve (--checkpoint) */
  PRSVD_EV_RESUME,     /* loading and verifying a saved state (--checkpoint, when it resumes) */
  PRSVD_EV_PIVOTED_QR, /* the column-pivoted QR of an ID's sketch, and its coefficients */
  PRSVD_N_EVENTS
};

struct prsvd_profile_row {
  const char *name;
  double time_max, time_min, bytes, flops;
  long count;
};

void prsvd_profile_reset(void);
double prsvd_profile_begin(enum prsvd_event ev);
void prsvd_profile_end(enum prsvd_event ev, double bytes, double flops);
/* Collective: rows[PRSVD_N_EVENTS], identical on every rank. */
void prsvd_profile_reduce(MPI_Comm comm, struct prsvd_profile_row *rows);
/* Wall time and process CPU time (all threads: the GEMMs and the reader) of each pass over A
 * (one prsvd_sketch_pass, on this rank): the unit a pass's floor max(read, GEMM) is compared
 * with (bench/roofline.sh); the CPU time tells work from waiting on a shared machine.
 * Passes past the PRSVD_PROFILE_MAX_PASSES-th are counted but not timed. */
#define PRSVD_PROFILE_MAX_PASSES 64
struct prsvd_profile_passes {
  int count;
  double time_max[PRSVD_PROFILE_MAX_PASSES], time_min[PRSVD_PROFILE_MAX_PASSES];
  double cpu_max[PRSVD_PROFILE_MAX_PASSES];
};
void prsvd_profile_pass_begin(void);
void prsvd_profile_pass_end(void);
/* Collective: every rank's pass times combined (max/min over ranks). */
void prsvd_profile_reduce_passes(MPI_Comm comm, struct prsvd_profile_passes *out);
/* The table, rank imbalance (max/min) first. */
void prsvd_profile_print(FILE *out, const struct prsvd_profile_row *rows);

#endif
