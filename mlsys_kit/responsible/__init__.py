"""Chapter 11, "The Human Side of Machine Learning".

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022):

============  =========================================================================
``fairness``  "Responsible AI" (discover sources for biases, the limits of the
              data-driven approach, trade-offs between desiderata): a model's rates by
              group with paired bootstrap intervals (demographic parity and equalized
              odds differences), calibration within groups (the impossibility result),
              and fairlearn's ThresholdOptimizer as a fairness–accuracy trade-off
============  =========================================================================
"""
