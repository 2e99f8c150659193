"""Chapter 11, "The Human Side of Machine Learning".

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022):

==============  =========================================================================
``experience``  "User Experience" (consistency, "mostly correct" predictions, smooth
                failing): a hysteresis rule that keeps a user's answer across retrains
                (flips per user against accuracy), top-k candidates when the model is
                unsure (coverage against how often users must choose), and a timeout
                with a fast fallback on simulated heavy-tailed latencies (p99 and quality)
``fairness``    "Responsible AI" (discover sources for biases, the limits of the
                data-driven approach, trade-offs between desiderata): a model's rates by
                group with paired bootstrap intervals (demographic parity and equalized
                odds differences), calibration within groups (the impossibility result),
                fairlearn's ThresholdOptimizer and ExponentiatedGradient as two
                fairness–accuracy trade-offs, and skewed sampling measured on its own
                (a representative and a skewed sample of equal size, an interval over
                repeated draws)
``cards``       "Responsible AI", "Create model cards": a model card (skops) generated
                from the run: evaluation overall and by slice and group with paired
                bootstrap intervals, limitations computed from them, the training data's
                license, the artifact's hash; its tables read back from the Markdown
==============  =========================================================================
"""
