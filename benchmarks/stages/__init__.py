"""Stages beyond the method cells: C1 agreement, the Hessian-trace ablation, downstream
selection by retraining, the parameter-weight grid. Each reads saved outputs."""
