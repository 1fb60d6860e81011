/* The cost of a run, said once: what prsvd_svd_estimate() plans, as the plans of svd, pca and
 * eig and `prsvd info` print it and as --json gives it, and what the run measured of it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "options.h"

void prsvd_cli_print_cost(FILE *f, const struct prsvd_cli *cli, const struct prsvd_svd_params *prm,
                          const struct prsvd_svd_estimate *est, int csr) {
  char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], b7[32], b8[32], b9[32], threads[80] = "";
  const struct prsvd_svd_memory *mem = &est->memory;
  const char *kind = csr ? "CSR" : prsvd_precision_name(est->plan.single);
  const int n = est->passes;
  if (prm->power_iters < 0 && (prm->method == PRSVD_METHOD_SUBSPACE || prm->method == PRSVD_METHOD_REVD))
    fprintf(f, "  reads: at most %d passes over %s of %s panels, %s in all (-q auto: fewer when the top-%lld "
            "values settle sooner)\n",
            n, prsvd_format_bytes(est->pass_bytes, b1, sizeof b1), kind,
            prsvd_format_bytes(n * est->pass_bytes, b2, sizeof b2), (long long)prm->rank);
  else if (prm->method == PRSVD_METHOD_QB_EI)
    fprintf(f, "  reads: at most %d passes over %s of %s panels, %s in all (blocks of %lld up to rank %lld, "
            "q + 1 passes a block and one more: fewer when the tolerance is met sooner)\n",
            n, prsvd_format_bytes(est->pass_bytes, b1, sizeof b1), kind,
            prsvd_format_bytes(n * est->pass_bytes, b2, sizeof b2), (long long)prm->block, (long long)est->width);
  else
    fprintf(f, "  reads: %d pass%s over %s of %s panels, %s in all%s%s\n", n, n > 1 ? "es" : "",
            prsvd_format_bytes(est->pass_bytes, b1, sizeof b1), kind,
            prsvd_format_bytes(n * est->pass_bytes, b2, sizeof b2),
            est->passes_max > n ? " (the first again if A needs scaling by 2^e" : "",
            est->passes_max > n + 1 ? ", one more if the sketch is ill-conditioned)" : est->passes_max > n ? ")" : "");
  fprintf(f, "  flops: %.3g in the panel products (%.3g a rank)\n", est->flops, est->flops / cli->nprocs);
  const int64_t buffers = est->plan.panel_bytes ? mem->panels / est->plan.panel_bytes : 0;
  if (mem->threads > 0) /* each compute thread's own accumulators and scratch */
    snprintf(threads, sizeof threads, ", the %d threads' own sums %s", est->plan.threads,
             prsvd_format_bytes((double)mem->threads, b9, sizeof b9));
  fprintf(f, "  memory per rank: panels %lld x %s (%lld rows), sketches %s m-row + %s n-row whole + %s n-row "
          "distributed, pass scratch %s%s, small %s, chunk cache %s; total ~%s\n",
          (long long)buffers, prsvd_format_bytes((double)est->plan.panel_bytes, b1, sizeof b1),
          (long long)est->plan.panel_rows, prsvd_format_bytes((double)mem->m_rows, b2, sizeof b2),
          prsvd_format_bytes((double)mem->n_replicated, b3, sizeof b3),
          prsvd_format_bytes((double)mem->n_distributed, b4, sizeof b4),
          prsvd_format_bytes((double)mem->pass_scratch, b5, sizeof b5), threads,
          prsvd_format_bytes((double)mem->small, b6, sizeof b6),
          prsvd_format_bytes((double)mem->source, b7, sizeof b7), prsvd_format_bytes((double)mem->total, b8, sizeof b8));
}

json_object *prsvd_cli_estimate_json(const struct prsvd_svd_estimate *est) {
  const struct prsvd_svd_memory *mem = &est->memory;
  json_object *j = json_object_new_object(), *m = json_object_new_object();
  json_object_object_add(j, "passes", json_object_new_int(est->passes));
  json_object_object_add(j, "passes_max", json_object_new_int(est->passes_max));
  json_object_object_add(j, "bytes_per_pass", json_object_new_double(est->pass_bytes));
  json_object_object_add(j, "flops_first_pass", json_object_new_double(est->pass_flops));
  json_object_object_add(j, "flops", json_object_new_double(est->flops));
  json_object_object_add(j, "width", json_object_new_int64(est->width));
  json_object_object_add(j, "probes", json_object_new_int(est->probes));
  json_object_object_add(j, "panel_rows", json_object_new_int64(est->plan.panel_rows));
  json_object_object_add(j, "panel_bytes", json_object_new_int64(est->plan.panel_bytes));
  json_object_object_add(j, "buffers", json_object_new_int(est->plan.buffers));
  json_object_object_add(j, "precision", json_object_new_string(prsvd_precision_name(est->plan.single)));
  json_object_object_add(j, "grid_rows", json_object_new_int(est->plan.grid_rows));
  json_object_object_add(j, "grid_cols", json_object_new_int(est->plan.grid_cols));
  json_object_object_add(m, "panels", json_object_new_int64(mem->panels));
  json_object_object_add(m, "source", json_object_new_int64(mem->source));
  json_object_object_add(m, "pass_scratch", json_object_new_int64(mem->pass_scratch));
  json_object_object_add(m, "threads", json_object_new_int64(mem->threads));
  json_object_object_add(m, "m_rows", json_object_new_int64(mem->m_rows));
  json_object_object_add(m, "n_replicated", json_object_new_int64(mem->n_replicated));
  json_object_object_add(m, "n_distributed", json_object_new_int64(mem->n_distributed));
  json_object_object_add(m, "small", json_object_new_int64(mem->small));
  json_object_object_add(m, "total", json_object_new_int64(mem->total));
  json_object_object_add(j, "memory_per_rank", m);
  return j;
}

/* A line "Key:   N kB" of /proc/self/status, in bytes; -1 if there is none. */
static int64_t status_kb(const char *key) {
  char line[256];
  int64_t v = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  const size_t len = strlen(key);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, key, len) && line[len] == ':') {
      long long kb;
      if (sscanf(line + len + 1, "%lld", &kb) == 1) v = (int64_t)kb * 1024;
      break;
    }
  fclose(f);
  return v;
}

void prsvd_cli_rss_start(struct prsvd_cli_rss *r) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  /* "5": the peak RSS (VmHWM) starts again from the current RSS (Linux 4.0 on) */
  r->reset = f && fputs("5", f) >= 0;
  if (f && fclose(f)) r->reset = 0;
  r->before = status_kb("VmRSS");
  r->peak = -1;
}

void prsvd_cli_rss_stop(struct prsvd_cli_rss *r) { r->peak = status_kb("VmHWM"); }

json_object *prsvd_cli_rss_json(const struct prsvd_cli *cli, const struct prsvd_cli_rss *r) {
  long long v[4] = {r->before, r->peak, r->before >= 0 && r->peak >= 0 ? r->peak - r->before : -1,
                    r->reset ? 0 : 1};
  long long lo[4] = {v[0], v[1], v[2], v[3]};
  MPI_Allreduce(MPI_IN_PLACE, v, 4, MPI_LONG_LONG, MPI_MAX, cli->comm);
  MPI_Allreduce(MPI_IN_PLACE, lo, 4, MPI_LONG_LONG, MPI_MIN, cli->comm);
  json_object *j = json_object_new_object();
  if (lo[0] < 0 || lo[1] < 0) return j; /* not Linux: nothing measured */
  json_object_object_add(j, "rss_before_solve", json_object_new_int64(v[0]));
  json_object_object_add(j, "rss_peak", json_object_new_int64(v[1]));
  json_object_object_add(j, "growth", json_object_new_int64(v[2]));
  json_object_object_add(j, "peak_since", json_object_new_string(v[3] ? "start" : "solve"));
  return j;
}
