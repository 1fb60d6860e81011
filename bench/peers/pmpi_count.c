/*
 * Counts MPI calls through the profiling interface: LD_PRELOAD this library into any MPI
 * program and each rank writes, at MPI_Finalize, one JSON line to $PMPI_COUNT_DIR/rank.R.json:
 * for every MPI routine below that was called, the number of calls and the payload bytes.
 *
 * Payload is the logical size of the data the call moves, as the model in
 * docs/performance.md counts it (not the bytes on the wire, which depend on the collective
 * algorithm MPI picks; Open MPI's pml monitoring measures those):
 *   Allreduce, Reduce, Bcast, Send, Isend, Recv, Irecv: count x type size
 *   Reduce_scatter: the sum of recvcounts (the whole vector reduced)
 *   Reduce_scatter_block: recvcount x size of the communicator
 *   Allgather: recvcount x size;  Allgatherv: the sum of recvcounts
 *   Barrier: 0
 * Calls on every communicator count (prsvd's, HDF5's and BLACS's).  With
 * PMPI_COUNT_LARGE=B, calls whose payload is at least B bytes are also counted apart
 * ("large_calls", "large_bytes"): the sketches whose size grows with m or n, told apart from
 * the l x l and scalar reductions.
 *
 * build: mpicc -shared -fPIC -O2 -o libpmpi_count.so pmpi_count.c
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

enum { ALLREDUCE, REDUCE, BCAST, REDUCE_SCATTER, REDUCE_SCATTER_BLOCK, ALLGATHER, ALLGATHERV,
       BARRIER, SEND, ISEND, RECV, IRECV, N_ROUTINES };
static const char *const names[N_ROUTINES] = {
    "MPI_Allreduce", "MPI_Reduce", "MPI_Bcast", "MPI_Reduce_scatter", "MPI_Reduce_scatter_block",
    "MPI_Allgather", "MPI_Allgatherv", "MPI_Barrier", "MPI_Send", "MPI_Isend", "MPI_Recv",
    "MPI_Irecv"};
static long long calls[N_ROUTINES], bytes[N_ROUTINES], large_calls[N_ROUTINES],
    large_bytes[N_ROUTINES], large = -1;

static void count(int r, long long n, MPI_Datatype t) {
  int size = 0;
  if (n > 0) PMPI_Type_size(t, &size);
  if (large < 0) large = getenv("PMPI_COUNT_LARGE") ? atoll(getenv("PMPI_COUNT_LARGE")) : 0;
  calls[r]++;
  bytes[r] += n * size;
  if (large > 0 && n * size >= large) large_calls[r]++, large_bytes[r] += n * size;
}

static long long comm_sum(const int *counts, MPI_Comm comm) {
  int p;
  long long s = 0;
  PMPI_Comm_size(comm, &p);
  for (int i = 0; i < p; i++) s += counts[i];
  return s;
}

static int comm_size(MPI_Comm comm) {
  int p;
  PMPI_Comm_size(comm, &p);
  return p;
}

int MPI_Allreduce(const void *s, void *r, int n, MPI_Datatype t, MPI_Op op, MPI_Comm c) {
  count(ALLREDUCE, n, t);
  return PMPI_Allreduce(s, r, n, t, op, c);
}

int MPI_Reduce(const void *s, void *r, int n, MPI_Datatype t, MPI_Op op, int root, MPI_Comm c) {
  count(REDUCE, n, t);
  return PMPI_Reduce(s, r, n, t, op, root, c);
}

int MPI_Bcast(void *b, int n, MPI_Datatype t, int root, MPI_Comm c) {
  count(BCAST, n, t);
  return PMPI_Bcast(b, n, t, root, c);
}

int MPI_Reduce_scatter(const void *s, void *r, const int *counts, MPI_Datatype t, MPI_Op op,
                       MPI_Comm c) {
  count(REDUCE_SCATTER, comm_sum(counts, c), t);
  return PMPI_Reduce_scatter(s, r, counts, t, op, c);
}

int MPI_Reduce_scatter_block(const void *s, void *r, int n, MPI_Datatype t, MPI_Op op,
                             MPI_Comm c) {
  count(REDUCE_SCATTER_BLOCK, (long long)n * comm_size(c), t);
  return PMPI_Reduce_scatter_block(s, r, n, t, op, c);
}

int MPI_Allgather(const void *s, int sn, MPI_Datatype st, void *r, int rn, MPI_Datatype rt,
                  MPI_Comm c) {
  count(ALLGATHER, (long long)rn * comm_size(c), rt);
  return PMPI_Allgather(s, sn, st, r, rn, rt, c);
}

int MPI_Allgatherv(const void *s, int sn, MPI_Datatype st, void *r, const int *rn,
                   const int *displs, MPI_Datatype rt, MPI_Comm c) {
  count(ALLGATHERV, comm_sum(rn, c), rt);
  return PMPI_Allgatherv(s, sn, st, r, rn, displs, rt, c);
}

int MPI_Barrier(MPI_Comm c) {
  count(BARRIER, 0, MPI_BYTE);
  return PMPI_Barrier(c);
}

int MPI_Send(const void *b, int n, MPI_Datatype t, int dest, int tag, MPI_Comm c) {
  count(SEND, n, t);
  return PMPI_Send(b, n, t, dest, tag, c);
}

int MPI_Isend(const void *b, int n, MPI_Datatype t, int dest, int tag, MPI_Comm c,
              MPI_Request *req) {
  count(ISEND, n, t);
  return PMPI_Isend(b, n, t, dest, tag, c, req);
}

int MPI_Recv(void *b, int n, MPI_Datatype t, int src, int tag, MPI_Comm c, MPI_Status *st) {
  count(RECV, n, t);
  return PMPI_Recv(b, n, t, src, tag, c, st);
}

int MPI_Irecv(void *b, int n, MPI_Datatype t, int src, int tag, MPI_Comm c, MPI_Request *req) {
  count(IRECV, n, t);
  return PMPI_Irecv(b, n, t, src, tag, c, req);
}

int MPI_Finalize(void) {
  const char *dir = getenv("PMPI_COUNT_DIR");
  int rank = 0;
  PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/rank.%d.json", dir, rank);
    FILE *f = fopen(path, "w");
    if (f) {
      fprintf(f, "{\"rank\": %d, \"size\": %d", rank, comm_size(MPI_COMM_WORLD));
      for (int r = 0; r < N_ROUTINES; r++)
        if (calls[r])
          fprintf(f, ", \"%s\": {\"calls\": %lld, \"bytes\": %lld, \"large_calls\": %lld, \"large_bytes\": %lld}",
                  names[r], calls[r], bytes[r], large_calls[r], large_bytes[r]);
      fprintf(f, "}\n");
      fclose(f);
    }
  }
  return PMPI_Finalize();
}
