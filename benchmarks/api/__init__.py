"""What a plug-in implements and imports: the registry (``registry``), the task contract
(``task``), the method contract and its context (``method``, ``context``), the metric contract
(``evaluation``) and the stage contract (``stage``); papers build on ``benchmarks.api.paper``.
A method, task, metric, stage or paper file imports from here and from ``benchmarks.common``."""
