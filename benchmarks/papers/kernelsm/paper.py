"""KernelSM (Zhang, Duan, Zhang, ICLR 2026): the cells we run (the claims: ``checks.py``).

Claims (REPLICATION.md): C1, linear-surrogate coefficients and influence functions agree with
leave-one-out (pooled Pearson over (unit, target) pairs, as in the authors' notebook); C2,
KernelSM correlates better with ground truth (LDS) than the linear surrogate; C3, its residual is
1/4-1/3 of the linear one. C2 and C3 are checked against both the authors' linear baseline
(min-norm, no intercept) and the strong one (ridge + intercept), on every task cell, from
``results.csv`` rows only, and only on benchmarks the paper reports (``kernelsm_c23``): C2
uses the authors' filtered LDS and C3 their normalised error (targets with held-out variance
>= 0.1; methods/METHODS.md §3.3), the definitions behind the paper's numbers.

Imported ground truth runs the recipe of its recorded kind (``IMPORT_METHODS``): surrogates
only (an import has no model), the authors' fixed KernelSM setting of that kind, and no
label-budget variants (they duplicate the full fit when the file has few fitting rows).
"""

from __future__ import annotations

from dataclasses import replace

from benchmarks.api.method import make_method
from benchmarks.api.paper import ANY, Entry
from benchmarks.stages.ablation import AblationDesign, HessianTrace
from benchmarks.stages.agreement import Agreement
from benchmarks.stages.gradex_budget import BUDGETS
from benchmarks.stages.interactions import Interactions
from benchmarks.stages.label_cost import LabelCost
from benchmarks.stages.label_curve import KERNEL as CURVE_KERNEL
from benchmarks.stages.label_curve import MINNORM, RIDGE, LabelCurve
from benchmarks.stages.other_output import OtherOutput
from benchmarks.stages.selection import SelectionDesign
from benchmarks.stages.selection_run import Selection

TASKS = ("modular-addition", "modular-quad")
DIVISION = ("modular-division",)  # x·y⁻¹ mod p: where the paper's summary puts the largest gain
# the paper's unit design at p = 31: blocks of 7 -> K = 25 units, subsets of 22 of 25 (alpha 0.88)
PAPER_DESIGN = {"params.block": 7, "design.alpha": 0.88}
PAPER_DESIGN_TASKS = ("modular-addition", "modular-addition-ft")
# the fine-tuning regime (subset models fine-tuned from a shared pretrained W0, issue 14)
FINETUNED_MODULAR = ("modular-addition-ft", "modular-quad-ft")
FINETUNED_SAMPLE = ("digits-mlp-ft",)
FINETUNED = FINETUNED_MODULAR + FINETUNED_SAMPLE
# image classification on real images (Fashion-MNIST; units = groups of 100 images), both unit
# designs in both regimes (datasets/fashion_mnist.md)
IMAGES = ("fmnist-random", "fmnist-class", "fmnist-random-ft", "fmnist-class-ft")
# multi-objective RL: Meta-World MT10 by behaviour cloning fine-tuned from a multi-task W0
# (datasets/metaworld_mt10.md); squared-error loss, so the softmax-only methods do not apply
RL = ("mt10",)
RL_SAC = ("mt10-sac",)  # the paper's SAC setting: a paper-profile cell (GPU or cluster hours)

# the methods that read only retrained labels: LOO, the three linear surrogates, KernelSM (CV and
# the authors' fixed setting)
LABEL_METHODS: tuple[tuple[str, dict], ...] = (
    ("loo", {}),
    ("linear_surrogate", {}),
    ("linear_surrogate", {"fit_type": "ridge"}),
    ("linear_surrogate", {"fit_type": "minnorm"}),
    ("kernel_sm", {}),
    ("kernel_sm", {"gamma": "auto", "lam": 0.01, "center": False}),
)
METHODS: tuple[tuple[str, dict], ...] = LABEL_METHODS + (
    ("influence", {}),
    ("influence", {"solver": "cg"}),
    ("influence", {"solver": "ekfac"}),
    ("grad_dot", {}),
    ("grad_cos", {}),
    ("trak", {}),
    ("influence_dual", {}),
    ("tracin", {}),
)
# sample-level extras (the field's MNIST-LR table): ensembles, the authors' mean flag, LiSSA
SAMPLE_EXTRAS: tuple[tuple[str, dict], ...] = (
    ("trak", {"n_models": 10}),
    ("influence", {"solver": "lissa"}),
    ("grad_dot", {"aggregate": "mean"}),
)
TASK_EXTRAS: tuple[tuple[str, dict], ...] = (
    ("trak", {"aggregate": "mean"}),
    ("grad_dot", {"aggregate": "mean"}),
    ("gradex", {}),  # C4: first-order estimates of F(s) themselves
    ("linear_surrogate", {"fit_type": "ridge", "labels": "gradex"}),
    ("kernel_sm", {"labels": "gradex"}),
) + tuple(("kernel_sm", {"max_labels": m}) for m in (16, 32, 64)) + tuple(
    ("kernel_sm", {"labels": "gradex", "max_labels": m}) for m in (64, 256, 1024))
# flipped-label variants exist for mislabel_auc: methods with a self-influence, plus surrogates
FLIP_METHODS: tuple[tuple[str, dict], ...] = (
    ("linear_surrogate", {"fit_type": "ridge"}),
    ("influence", {}),
    ("grad_dot", {}),
    ("trak", {}),
    ("trak", {"n_models": 10}),
    ("tracin", {}),
)
PREDICTION_METHODS = (("linear_surrogate", {"fit_type": "ridge"}), ("kernel_sm", {}),
                      ("gradex", {}))

C1_ROLES = {"loo": ("loo", {}), "linear": ("linear_surrogate", {"fit_type": "ridge"}),
            "influence": ("influence", {})}

# the methods the claims read, by key (never by display label)
KERNEL = make_method("kernel_sm", {}).key
STRONG_LINEAR = make_method(*C1_ROLES["linear"]).key
REPO_LINEAR = make_method("linear_surrogate", {"fit_type": "minnorm"}).key
INFLUENCE = make_method(*C1_ROLES["influence"]).key
GRADEX = make_method("gradex", {}).key


# image cells: every method family, the solvers that pay at d = 6.6k with 5,000 examples (exact
# and EK-FAC; CG's 100 iterations over 200 target columns cost more than the exact solve, the
# dual kernel is skipped at n·c = 50,000), and GradEx with KernelSM / linear on its labels
IMAGE_METHODS: tuple[tuple[str, dict], ...] = tuple(
    m for m in METHODS if m != ("influence", {"solver": "cg"})) + (
    ("gradex", {}), ("linear_surrogate", {"fit_type": "ridge", "labels": "gradex"}),
    ("kernel_sm", {"labels": "gradex"}))

SAMPLE_LEVEL = ("digits-logreg", "digits-mlp")  # the field's standard sample-level benchmark
FLIPPED = ("digits-logreg-flip", "digits-mlp-flip")  # mislabel detection (methods/METHODS.md §3.7)
ICL = ("icl-coin-flip", "icl-sentiment")  # demonstrations of a packaged LM (issue 5)
ICL_METHODS: tuple[tuple[str, dict], ...] = (
    ("linear_surrogate", {}),
    ("linear_surrogate", {"fit_type": "ridge"}),
    ("linear_surrogate", {"fit_type": "minnorm"}),
    ("kernel_sm", {}),
    ("kernel_sm", {"gamma": "auto", "lam": 0.1, "center": False}),  # the authors' ICL setting
)
ICL_SELECTION = SelectionDesign(groups=4, max_drop=0, random_draws=20)
SURROGATES: tuple[tuple[str, dict], ...] = ICL_METHODS[:4]  # linear OLS/ridge/min-norm, CV KRR
IMPORT_METHODS: dict[str, tuple[tuple[str, dict], ...]] = {
    "icl": ICL_METHODS,
    "modular": SURROGATES + (("kernel_sm", {"gamma": "auto", "lam": 0.01, "center": False}),),
    "generic": SURROGATES,
}


# the MT10 cell: every method whose assumptions hold for a squared-error policy loss (the
# Gauss-Newton IF through CG: d = 23k is past a dense solve)
RL_METHODS: tuple[tuple[str, dict], ...] = LABEL_METHODS + (
    ("influence", {"solver": "cg"}),
    ("grad_dot", {}),
    ("grad_cos", {}),
    ("tracin", {}),
    ("gradex", {}),  # the squared loss's linearised fine-tuning: a ridge in closed form
    ("linear_surrogate", {"fit_type": "ridge", "labels": "gradex"}),
    ("kernel_sm", {"labels": "gradex"}),
)
# task selection on groups of MT10 tasks, proposals checked by real rollouts (return@k)
RL_SELECTION = SelectionDesign(groups=2, max_drop=0, random_draws=10, also=("return",))


SELECTION = SelectionDesign(groups=4, max_drop=4, random_draws=5)
SELECTION_METHODS: tuple[tuple[str, dict], ...] = (
    ("loo", {}),
    ("linear_surrogate", {"fit_type": "ridge"}),
    ("linear_surrogate", {"fit_type": "minnorm"}),
    ("kernel_sm", {}),
    ("kernel_sm", {"gamma": "auto", "lam": 0.01, "center": False}),
    ("influence", {}),
    ("trak", {}),
    ("tracin", {}),
    ("grad_dot", {}),
)
# MT10: the methods of its cell that select (the exact IF's dense solve is past d = 23k)
RL_SELECTION_METHODS: tuple[tuple[str, dict], ...] = tuple(
    m for m in SELECTION_METHODS if m[0] not in ("influence", "trak")) + (
    ("influence", {"solver": "cg"}),)


RECIPES = (("adamw", {}), ("sam", {"train.sharpness": "sam"}),
           ("nso", {"train.sharpness": "nso"}))
ABLATION = {
    "tiny": AblationDesign("modular-addition", RECIPES, (20, 40), (
        ("design.n_fit", 12), ("design.n_eval", 8), ("design.loo", False))),
    "quick": AblationDesign("modular-addition", RECIPES, (500, 1000, 2000), (
        ("design.n_fit", 48), ("design.n_eval", 32), ("design.loo", False))),
    "paper": AblationDesign("modular-addition", RECIPES, (9250, 18500, 27750, 37000), ()),
}
# C5's premise in the regime the paper trains in: minibatch AdamW (lr 1e-3, weight decay 1,
# batch 64), where the Hessian trace grows with training instead of collapsing at zero loss
MINIBATCH = (("design.n_fit", 48), ("design.n_eval", 32), ("design.loo", False),
             ("train.batch_size", 64), ("train.lr", 1e-3), ("train.weight_decay", 1.0))
MINIBATCH_ABLATION = {
    "tiny": AblationDesign("modular-addition", RECIPES, (20, 40), (
        ("design.n_fit", 12), ("design.n_eval", 8), ("design.loo", False),
        ("train.batch_size", 16), ("train.lr", 1e-3))),
    "quick": AblationDesign("modular-addition", RECIPES, (1000, 2000, 4000), MINIBATCH),
}
ABLATION_METHODS: tuple[tuple[str, dict], ...] = (
    ("linear_surrogate", {"fit_type": "ridge"}),
    ("kernel_sm", {}),
    ("influence", {}),
)


C1_TASKS = TASKS + DIVISION + FINETUNED + IMAGES  # C1 at task level: LOO, linear and IF agree
C1 = Agreement(C1_ROLES["loo"], C1_ROLES["linear"], C1_ROLES["influence"])
SELECT = Selection(SELECTION_METHODS, SELECTION)  # C6: proposals checked by retraining
PRED = PREDICTION_METHODS
INTERACTIONS = Interactions()  # noise / additive / pairwise / kernel R², interaction share


def _ablation(profile: str, designs: dict[str, AblationDesign] = ABLATION) -> Entry:
    """The Hessian-regularisation ablation (C5): recipes x lengths on one task."""
    design = designs[profile]
    return Entry((design.task,), ABLATION_METHODS, (HessianTrace(design.probes),),
                 tuple(v for _, v in design.cells()), (profile,), PRED)


# What ``replicate`` runs, top to bottom (``benchmarks/api/paper.py``): tasks, methods, stages
ENTRIES: tuple[Entry, ...] = (
    Entry(TASKS + FINETUNED_MODULAR, METHODS + TASK_EXTRAS, (C1, SELECT), predictions=PRED),
    Entry(PAPER_DESIGN_TASKS, METHODS + TASK_EXTRAS, (C1, SELECT), (PAPER_DESIGN,),
          ("quick",), predictions=PRED),  # the paper's K = 25, 22-of-25 design at p = 31
    Entry(DIVISION, METHODS + TASK_EXTRAS, (C1, SELECT), predictions=PRED),
    Entry(FINETUNED_SAMPLE, METHODS + SAMPLE_EXTRAS + (("gradex", {}),), (C1,),
          predictions=PRED),  # GradEx where W0 is the start (C4)
    Entry(FINETUNED_MODULAR, stages=(LabelCost(),)),  # the headline: LDS against label cost
    *(Entry(FINETUNED, stages=(budget,), profiles=(profile,))
      for profile, budget in BUDGETS.items()),  # GradEx's RE against the fine-tuning budget
    Entry(IMAGES, IMAGE_METHODS, (C1, SELECT), predictions=PRED),
    Entry(RL, RL_METHODS, (OtherOutput("return", LABEL_METHODS),
                           Selection(RL_SELECTION_METHODS, RL_SELECTION)), predictions=PRED),
    Entry(RL_SAC, RL_METHODS, (Selection(RL_SELECTION_METHODS, RL_SELECTION),),
          profiles=("paper",), predictions=PRED),
    Entry(SAMPLE_LEVEL, METHODS + SAMPLE_EXTRAS, predictions=PRED),
    Entry(FLIPPED, FLIP_METHODS, predictions=PRED),
    Entry(ICL, ICL_METHODS, (Selection(ICL_METHODS, ICL_SELECTION),), predictions=PRED),
    *(_ablation(profile) for profile in ABLATION),
    *(_ablation(profile, MINIBATCH_ABLATION) for profile in MINIBATCH_ABLATION),
    Entry((ANY,), METHODS + TASK_EXTRAS, predictions=PRED),
    *(Entry(methods=methods, kinds=(kind,), predictions=PRED)
      for kind, methods in IMPORT_METHODS.items()),
)
# the label curves (LDS and NE against the number of fitting subsets, and how often one
# paper-sized experiment shows C2/C3) on every cell with retrained labels; the fine-tuned
# modular cells get a fitting pool of 20K (its held-out subsets are the cell's own)
CURVE = LabelCurve()
GROWN_CURVE = {"tiny": CURVE, "quick": LabelCurve(pool=320), "paper": LabelCurve(pool=500)}
ICL_CURVE = LabelCurve(surrogates=(CURVE_KERNEL, ICL_METHODS[4], RIDGE, MINNORM))  # λ = 0.1
GENERIC_CURVE = LabelCurve(surrogates=(CURVE_KERNEL, RIDGE, MINNORM))  # no fixed KernelSM
ENTRIES += (
    Entry(TASKS + DIVISION + IMAGES + RL, stages=(CURVE,)),
    *(Entry(FINETUNED_MODULAR, stages=(c,), profiles=(p,)) for p, c in GROWN_CURVE.items()),
    Entry(PAPER_DESIGN_TASKS[:1], stages=(CURVE,), variants=(PAPER_DESIGN,),
          profiles=("quick",)),
    Entry(PAPER_DESIGN_TASKS[1:], stages=(LabelCurve(pool=500),), variants=(PAPER_DESIGN,),
          profiles=("quick",)),  # K = 25 as in the paper: 20K = 500
    Entry(FINETUNED_SAMPLE, stages=(LabelCurve(paper_draws=20),), profiles=("tiny", "quick")),
    Entry(ICL, stages=(ICL_CURVE,)),
    Entry(kinds=("modular",), stages=(CURVE,)),
    Entry(kinds=("icl",), stages=(ICL_CURVE,)),
    Entry(kinds=("generic",), stages=(GENERIC_CURVE,)),
)
# the interaction map on every cell above (same tasks, variants and profiles; ANY and the
# imports' kinds too): each row again, with the stage alone
ENTRIES += tuple(replace(e, methods=(), stages=(INTERACTIONS,), predictions=()) for e in ENTRIES)
