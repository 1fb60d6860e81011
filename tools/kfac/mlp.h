/*
 * The network of prsvd-kfac-train: a fully connected ReLU network with a softmax
 * cross-entropy loss, on one rank's share of a minibatch, with BLAS for the layers; and the
 * optimizers that update it (sgd with momentum, adam, and K-FAC through include/prsvd_kfac.h).
 *
 * Layer l maps a_l (d_in) to s_l = W_l [a_l; 1] (d_out); a_{l+1} = max(0, s_l) except after
 * the last layer, whose s are the logits.  W_l is d_out x (d_in + 1), row-major, the bias in
 * the last column: the layout prsvd_kfac_precondition takes.  Not collective: the trainer
 * sums the gradients over the ranks.
 */
#ifndef PRSVD_KFAC_MLP_H
#define PRSVD_KFAC_MLP_H

#include <stdint.h>

#include "prsvd_kfac.h"

#define MLP_MAX_LAYERS 16

struct mlp {
  int n_layers;
  int64_t d_in[MLP_MAX_LAYERS], d_out[MLP_MAX_LAYERS];
  double *w[MLP_MAX_LAYERS];     /* d_out x (d_in + 1) */
  double *grad[MLP_MAX_LAYERS];  /* the same shape: scale * sum over samples of dloss/dW */
  double *grads;                 /* every grad[l], one after the other, then 2 spare doubles
                                  * (n_params + 2): one buffer for one allreduce */
  double *act[MLP_MAX_LAYERS + 1];   /* act[l]: inputs of layer l (batch x d_in); act[L]: logits */
  double *delta[MLP_MAX_LAYERS]; /* per-sample dloss/ds_l (batch x d_out) */
  int64_t capacity;              /* rows of the work arrays */
  int64_t n_params;
};

/* widths[0] inputs, widths[n_layers] classes; He-normal weights from seed, zero biases. */
int mlp_create(int n_layers, const int64_t *widths, uint64_t seed, int64_t capacity, struct mlp **m);
void mlp_destroy(struct mlp **m);
/* Forward n samples x (n x widths[0]): the sum of their losses and how many are classified
 * right. */
int mlp_forward(struct mlp *m, int64_t n, const double *x, const uint8_t *labels, double *loss_sum,
                int64_t *correct);
/* After mlp_forward on the same samples: the per-sample output gradients (delta) and
 * grad = scale * sum of the per-sample weight gradients. */
int mlp_backward(struct mlp *m, int64_t n, const uint8_t *labels, double scale);

enum mlp_method { MLP_SGD, MLP_ADAM, MLP_KFAC };

struct mlp_opt_params {
  enum mlp_method method;
  double lr, momentum, beta1, beta2, eps;
};

struct mlp_opt;
int mlp_opt_create(const struct mlp *m, const struct mlp_opt_params *p, prsvd_kfac *kfac,
                   struct mlp_opt **opt);
/* W <- W - lr * step(grad); grad is the minibatch mean (the same on every rank).  K-FAC:
 * prsvd_kfac_step must have run for this minibatch. */
int mlp_opt_update(struct mlp_opt *opt, struct mlp *m);
void mlp_opt_destroy(struct mlp_opt **opt);

#endif
