/* The run every solving command shares (svd, pca, eig): open the input, make the params,
 * estimate and print the plan, check the files, set up progress and the checkpointer, solve,
 * write, report; the command's hooks do what differs (cli.h, struct prsvd_cli_run). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "fields.h"

int prsvd_cli_run(struct prsvd_cli *cli, struct prsvd_cli_run *run) {
  int status = PRSVD_OK, spare = 0;
  const struct prsvd_cli_run_hooks *hooks = run->hooks;
  struct prsvd_profile_passes passes;
  struct prsvd_checkpointer checkpointer = {0};
  struct prsvd_cli_rss rss;
  run->cli = cli;
  run->prm = prsvd_svd_params_default();
  if (run->mpiio_hints)
    PRSVD_TRY(prsvd_h5_set_mpiio_hints(run->mpiio_hints->n, run->mpiio_hints->items));
  PRSVD_TRY(prsvd_h5_parse_spec(run->spec, &run->file, &run->dataset));
  PRSVD_TRY(
      prsvd_h5_open_input(cli->comm, run->file, run->dataset, &run->how, &run->info, &run->src));
  prsvd_cli_warn_missing_sources(cli, run->spec, &run->info);
  PRSVD_TRY(hooks->params(run));
  if (run->how.features && run->how.features->dropped) { /* --missing drop: agreed after pass 1 */
    run->prm.zeroed_columns = prsvd_cli_features_zeroed;
    run->prm.zeroed_arg = run;
  }
  PRSVD_TRY(prsvd_threads_choose(cli->comm, run->threads, &run->tc));
  run->prm.threads = run->tc.threads; /* the same on every rank: the plan is the solve's */
  PRSVD_TRY(prsvd_svd_estimate(&run->prm, run->src, cli->nprocs, &run->est));
  /* pca --anndata writes into its input, the one deliberate exception to "an output is never
   * an input": its params hook checked the file (prsvd_h5_anndata_check), and its write hook
   * closes the input before it writes a new version of the file */
  PRSVD_TRY(prsvd_cli_check_files(cli, run->file, run->updates_input ? NULL : run->output, run->force,
                                  run->checkpoint));
  if (hooks->uses_cpus) run->cpus = prsvd_cli_cpus(cli, &spare);
  if (!run->quiet && !run->json && cli->rank == 0) {
    hooks->plan(run);
    prsvd_cli_print_threads(cli, &run->tc, &run->est.plan, run->prm.prefetch);
    prsvd_cli_print_cost(stdout, cli, &run->prm, &run->est, run->info.sparse);
    fflush(stdout);
  }
  if (hooks->uses_cpus && !run->quiet && run->prm.prefetch)
    prsvd_cli_warn_cpus(cli, run->cpus, spare);

  prsvd_progress_init(&run->prog, cli, !run->quiet && (run->progress || isatty(2)),
                      run->est.pass_bytes / (double)run->info.rows);
  if (run->values) run->prog.values = run->values;
  run->prm.progress = prsvd_progress_report;
  run->prm.progress_arg = &run->prog;
  run->prm.estimate = prsvd_progress_estimate;
  if (run->checkpoint) { /* the identity a resume must match: input, every option that shapes
                          * the state or the result (the command's), ranks */
    char opts[512];
    struct prsvd_h5_checkpoint_spec spec = {
        run->checkpoint, run->file, run->dataset,          run->info.type, run->info.rows,
        run->info.cols,  opts,      run->checkpoint_every, &prsvd_cli_stop};
    hooks->identity(run, opts, sizeof opts);
    PRSVD_TRY(prsvd_cli_checkpointer(cli, &spec, &checkpointer));
    run->prm.checkpoint = &checkpointer;
  }
  prsvd_profile_reset();
  PRSVD_TRY(prsvd_svd_create(cli->comm, &run->svd));
  PRSVD_TRY(prsvd_svd_set_params(run->svd, &run->prm));
  prsvd_cli_rss_start(&rss);
  status = prsvd_cli_solve(run->svd, run->src, run->checkpoint);
  if (run->how.features) { /* --missing drop: the features left out, agreed (cli/fields.c) */
    int again = 0, settled = prsvd_cli_features_settle(cli, run->spec, run->how.features, &again);
    if (settled == PRSVD_ERR_INPUT) status = settled; /* every feature missing: that is the cause */
    PRSVD_TRY(status);
    PRSVD_TRY(settled);
    if (again) { /* a panel was read before a feature found missing elsewhere, and the method
                  * made its result in its first pass (one pass, q = 0; zeroed_columns in
                  * prsvd.h): solve again */
      if (!run->quiet)
        prsvd_cli_warn(cli, "%lld features of '%s' were found missing after some panels had used them: solving again "
                       "without them", (long long)run->how.features->n_dropped, run->spec);
      prsvd_svd_destroy(&run->svd);
      PRSVD_TRY(prsvd_svd_create(cli->comm, &run->svd));
      PRSVD_TRY(prsvd_svd_set_params(run->svd, &run->prm));
      PRSVD_TRY(prsvd_cli_solve(run->svd, run->src, NULL));
      PRSVD_TRY(prsvd_cli_features_settle(cli, run->spec, run->how.features, &again));
      if (again) PRSVD_FAIL(PRSVD_ERR_INTERNAL, "the features left out of '%s' changed in a second solve", run->spec);
    }
  }
  PRSVD_TRY(status);
  prsvd_cli_rss_stop(&rss);
  PRSVD_TRY(prsvd_svd_get_stats(run->svd, &run->st));
  PRSVD_TRY(hooks->write(run));
  if (run->checkpoint) PRSVD_TRY(prsvd_h5_checkpoint_remove(cli->comm, run->checkpoint));

  run->elapsed = MPI_Wtime() - cli->t_start;
  prsvd_profile_reduce(cli->comm, run->rows);
  prsvd_profile_reduce_passes(cli->comm, &passes);
  if (run->json) {
    json_object *j = json_object_new_object();
    status = hooks->report(run, j);
    json_object_object_add(j, "phases", prsvd_profile_json(run->rows));
    json_object_object_add(j, "pass_times", prsvd_profile_passes_json(&passes));
    json_object_object_add(j, "plan", prsvd_cli_estimate_json(&run->est));
    json_object_object_add(j, "memory", prsvd_cli_rss_json(cli, &rss));
    if (hooks->uses_cpus) json_object_object_add(j, "cpus", json_object_new_int(run->cpus));
    json_object *tj = prsvd_threads_json(cli, &run->tc, &run->est.plan);
    json_object_object_add(tj, "blas_threads", json_object_new_int(run->st.blas_threads));
    json_object_object_add(j, "threads", tj);
    prsvd_cli_print_json(cli, j);
    json_object_put(j);
  } else {
    status = hooks->report(run, NULL);
  }
done:
  prsvd_h5_checkpointer_free(&checkpointer);
  prsvd_svd_destroy(&run->svd);
  prsvd_source_destroy(&run->src);
  free(run->file);
  free(run->dataset);
  run->file = run->dataset = NULL;
  return status;
}
