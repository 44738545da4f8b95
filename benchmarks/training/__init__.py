"""Training: the batched and loop engines, per-example gradients and projections, Hessian
products, and the shared pretrained model W0 of the fine-tuning regime."""
