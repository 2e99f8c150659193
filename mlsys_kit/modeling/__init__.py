"""Chapter 6, "Model Development and Offline Evaluation".

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022):

===============  ======================================================================
``baselines``    "Model Development and Training" and "Ensembles": baselines, model
                 footprints, ensemble diversity
``tracking``     "Experiment Tracking and Versioning" and "AutoML": MLflow, searches at
                 an equal budget
``evaluation``   "Model Offline Evaluation": learning curves (also Ch. 2, "Mind Versus
                 Data"), calibration, confidence, slices
``behavioral``   "Model Offline Evaluation": perturbation, invariance and directional tests
``distributed``  "Distributed Training": data parallelism on worker processes, stale
                 gradients, batch size and learning rate, pipeline bubbles (simulated)
``debugging``    "Debugging ML Models" and "Four Phases of ML Model Development":
                 planted bugs vs cheap tests, each phase's gain and cost
===============  ======================================================================
"""
