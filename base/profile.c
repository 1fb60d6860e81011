/* Event accumulators behind profile.h. */
#include "profile.h"

#include <string.h>
#include <time.h>

static const char *const names[PRSVD_N_EVENTS] = {
    "read", "sketch", "reduce", "orthonormalize", "small svd", "estimate", "write", "generate", "checkpoint",
    "resume", "pivoted qr"};

static struct {
  double start, time, bytes, flops;
  long count;
} ev_state[PRSVD_N_EVENTS];

/* per pass: [0, MAX) wall seconds, [MAX, 2 MAX) process CPU seconds */
static double pass_time[2 * PRSVD_PROFILE_MAX_PASSES], pass_start[2];
static int pass_count;

static double cpu_seconds(void) {
  struct timespec t;
  return clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) ? 0.0 : (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void prsvd_profile_reset(void) {
  memset(ev_state, 0, sizeof ev_state);
  pass_count = 0;
}

double prsvd_profile_begin(enum prsvd_event ev) {
  ev_state[ev].start = MPI_Wtime();
  return ev_state[ev].start;
}

void prsvd_profile_end(enum prsvd_event ev, double bytes, double flops) {
  ev_state[ev].time += MPI_Wtime() - ev_state[ev].start;
  ev_state[ev].bytes += bytes;
  ev_state[ev].flops += flops;
  ev_state[ev].count++;
}

void prsvd_profile_pass_begin(void) {
  pass_start[0] = MPI_Wtime();
  pass_start[1] = cpu_seconds();
}

void prsvd_profile_pass_end(void) {
  if (pass_count < PRSVD_PROFILE_MAX_PASSES) {
    pass_time[pass_count] = MPI_Wtime() - pass_start[0];
    pass_time[PRSVD_PROFILE_MAX_PASSES + pass_count] = cpu_seconds() - pass_start[1];
  }
  pass_count++;
}

void prsvd_profile_reduce_passes(MPI_Comm comm, struct prsvd_profile_passes *out) {
  const int timed = pass_count < PRSVD_PROFILE_MAX_PASSES ? pass_count : PRSVD_PROFILE_MAX_PASSES;
  double mine[2 * PRSVD_PROFILE_MAX_PASSES], most[2 * PRSVD_PROFILE_MAX_PASSES];
  out->count = pass_count;
  memcpy(mine, pass_time, sizeof(double) * (size_t)timed);
  memcpy(mine + timed, pass_time + PRSVD_PROFILE_MAX_PASSES, sizeof(double) * (size_t)timed);
  MPI_Allreduce(mine, most, 2 * timed, MPI_DOUBLE, MPI_MAX, comm);
  MPI_Allreduce(pass_time, out->time_min, timed, MPI_DOUBLE, MPI_MIN, comm);
  memcpy(out->time_max, most, sizeof(double) * (size_t)timed);
  memcpy(out->cpu_max, most + timed, sizeof(double) * (size_t)timed);
}

void prsvd_profile_reduce(MPI_Comm comm, struct prsvd_profile_row *rows) {
  double t[PRSVD_N_EVENTS], tmax[PRSVD_N_EVENTS], tmin[PRSVD_N_EVENTS];
  double bf[2 * PRSVD_N_EVENTS], bf_sum[2 * PRSVD_N_EVENTS];
  long cnt[PRSVD_N_EVENTS], cnt_max[PRSVD_N_EVENTS];
  for (int e = 0; e < PRSVD_N_EVENTS; e++) {
    t[e] = ev_state[e].time;
    bf[2 * e] = ev_state[e].bytes;
    bf[2 * e + 1] = ev_state[e].flops;
    cnt[e] = ev_state[e].count;
  }
  MPI_Allreduce(t, tmax, PRSVD_N_EVENTS, MPI_DOUBLE, MPI_MAX, comm);
  MPI_Allreduce(t, tmin, PRSVD_N_EVENTS, MPI_DOUBLE, MPI_MIN, comm);
  MPI_Allreduce(bf, bf_sum, 2 * PRSVD_N_EVENTS, MPI_DOUBLE, MPI_SUM, comm);
  MPI_Allreduce(cnt, cnt_max, PRSVD_N_EVENTS, MPI_LONG, MPI_MAX, comm);
  for (int e = 0; e < PRSVD_N_EVENTS; e++) {
    rows[e].name = names[e];
    rows[e].time_max = tmax[e];
    rows[e].time_min = tmin[e];
    rows[e].bytes = bf_sum[2 * e];
    rows[e].flops = bf_sum[2 * e + 1];
    rows[e].count = cnt_max[e];
  }
}

void prsvd_profile_print(FILE *out, const struct prsvd_profile_row *rows) {
  fprintf(out, "  %-15s %10s %10s %8s %12s %12s\n", "phase", "max s", "min s", "max/min",
          "GB", "GFLOP/s");
  for (int e = 0; e < PRSVD_N_EVENTS; e++) {
    const struct prsvd_profile_row *r = &rows[e];
    if (!r->count) continue;
    double imb = r->time_min > 0 ? r->time_max / r->time_min : 1.0;
    double rate = r->time_max > 0 ? r->flops / r->time_max * 1e-9 : 0.0;
    fprintf(out, "  %-15s %10.3f %10.3f %8.2f %12.3f %12.2f\n", r->name, r->time_max,
            r->time_min, imb, r->bytes * 1e-9, rate);
  }
}
