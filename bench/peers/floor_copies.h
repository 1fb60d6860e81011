/*
 * What the floor benchmarks (gemm_floor.c, onepass_floor.c) share: the clocks, and COPIES
 * processes that sweep at the same time (one per rank or thread of the run being floored),
 * each reporting its best sweep to the first, which keeps the slowest copy's: a pass's time is
 * its slowest rank's.
 */
#ifndef FLOOR_COPIES_H
#define FLOOR_COPIES_H

#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double clock_s(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }

struct copies {
  int copies, copy;                 /* copy 0 is the parent */
  int ready[2], go[2], result[2];   /* copies -> parent, parent -> copies, copies -> parent */
  double best, best_cpu, cpu_total; /* seconds of the best sweep (the slowest copy's), its CPU */
};

/* One byte through a pipe: the copies wait for each other before every sweep. */
static void put(int fd) {
  if (write(fd, "x", 1) != 1) exit(3);
}
static void get(int fd) {
  char b;
  if (read(fd, &b, 1) != 1) exit(3);
}

/* Fork copies - 1 more processes; c->copy says which one this is.  3 if a pipe fails. */
static int copies_start(struct copies *c, int copies) {
  c->copies = copies, c->copy = 0, c->best = 1e300, c->best_cpu = c->cpu_total = 0.0;
  if (pipe(c->ready) || pipe(c->go) || pipe(c->result)) return 3;
  for (int i = 1; i < copies; i++)
    if (fork() == 0) {
      c->copy = i;
      break;
    }
  return 0;
}

/* Before a sweep: every copy at the line, then all go at once. */
static void copies_wait(const struct copies *c) {
  if (c->copy) {
    put(c->ready[1]);
    get(c->go[0]);
  } else {
    for (int i = 1; i < c->copies; i++) get(c->ready[0]);
    for (int i = 1; i < c->copies; i++) put(c->go[1]);
  }
}

/* A sweep of `seconds` that took `cpu` CPU seconds: the best of this copy's sweeps. */
static void copies_record(struct copies *c, double seconds, double cpu) {
  if (seconds < c->best) c->best = seconds, c->best_cpu = cpu;
}

/* After the sweeps: a copy sends its best to the parent and returns 1 (it then exits); the
 * parent takes the slowest copy's best, the largest CPU and their sum, waits, returns 0.
 * -1 on a short pipe transfer. */
static int copies_finish(struct copies *c) {
  if (c->copy) {
    double r[2] = {c->best, c->best_cpu};
    return write(c->result[1], r, sizeof r) == (ssize_t)sizeof r ? 1 : -1;
  }
  c->cpu_total = c->best_cpu;
  for (int i = 1; i < c->copies; i++) {
    double r[2];
    if (read(c->result[0], r, sizeof r) != (ssize_t)sizeof r) return -1;
    if (r[0] > c->best) c->best = r[0];
    if (r[1] > c->best_cpu) c->best_cpu = r[1];
    c->cpu_total += r[1];
  }
  while (wait(NULL) > 0) {
  }
  return 0;
}

#endif
