"""The KernelSM paper (ICLR 2026) as a plug-in: its cells (``paper.py``), claim checks
(``checks.py``, ``c23.py``, ``c5.py``) and what we reproduce (``REPLICATION.md``)."""

from __future__ import annotations

import pandas as pd

from benchmarks.papers.base import Cell, Paper
from benchmarks.papers.claims import ClaimRow, Noise
from benchmarks.papers.kernelsm import checks
from benchmarks.papers.kernelsm import paper as design
from benchmarks.registry import register_paper
from benchmarks.stage import Stage
from benchmarks.stages.ablation import HessianTrace
from benchmarks.stages.agreement import Agreement
from benchmarks.stages.other_output import OtherOutput
from benchmarks.stages.selection_run import Selection
from benchmarks.stages.weight_sweep import LearnedWeights, WeightSweep
from benchmarks.task import Task


def _stages(task: str, overrides: dict, profile: str, flipped: bool) -> tuple[Stage, ...]:
    """The stages of a cell, in the order their rows are written."""
    out: list[Stage] = [LearnedWeights()]
    if not flipped:  # the weight-grid diagnostic, where learned weights exist
        out.append(WeightSweep())
    if design.has_c1(task, overrides):
        roles = design.C1_ROLES
        out.append(Agreement(roles["loo"], roles["linear"], roles["influence"]))
    if design.is_ablation(overrides):
        out.append(HessianTrace(design.ABLATION[profile].probes))
    if task in design.RL and not overrides:  # attribution of the real return, from the store
        out.append(OtherOutput("return", design.LABEL_METHODS))
    if design.has_selection(task, overrides):
        out.append(Selection(design.selection_methods(task), design.selection_design(task)))
    return tuple(out)


@register_paper("kernelsm")
class KernelSMPaper(Paper):
    """Efficient Estimation of Kernel Surrogate Models for Task Attribution (ICLR 2026)."""

    title = "Efficient Estimation of Kernel Surrogate Models for Task Attribution"

    def cells(self, profile: str) -> list[Cell]:
        return [Cell(task, overrides, design.methods_for(task, overrides),
                     _stages(task, overrides, profile, task in design.FLIPPED),
                     design.PREDICTION_METHODS)
                for task, overrides in design.cells(profile)]

    def cell_for(self, task: Task) -> Cell:
        name = task.spec.name
        overrides = {k: v for k, v in task.overrides.items() if not k.startswith("execution.")}
        return Cell(name, overrides, design.methods_for(name, overrides, task.kind),
                    _stages(name, overrides, task.spec.profile, task.flipped is not None),
                    design.PREDICTION_METHODS)

    def claims(self, results: pd.DataFrame, profile: str, noise: Noise) -> list[ClaimRow]:
        return checks.claims(results, profile, noise)
