"""Label oracles: where a surrogate's fitting labels come from (retraining, or GradEx's
first-order estimates from the full-set model)."""
