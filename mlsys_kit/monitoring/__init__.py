"""Chapter 8, "Data Distribution Shifts and Monitoring".

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022):

==================  ==================================================================
``feedback_loops``  "Causes of ML System Failures": degenerate feedback loops
``shifts``          "Types of Data Distribution Shifts" and "Addressing Data
                    Distribution Shifts" (importance weighting)
``drift``           "Detecting Data Distribution Shifts": per-feature two-sample tests
                    and distances
``drift_tests``     "Detecting Data Distribution Shifts": multivariate tests (MMD,
                    domain classifier)
``detectors``       "Detecting Data Distribution Shifts": drift detectors on streams
``expectations``    "Monitoring and Observability": raw-input schema checks
``dashboards``      "Monitoring and Observability": metrics with delayed labels, alerts
``addressing``      "General Data Distribution Shifts" (unit change, label schema change)
                    and "Addressing Data Distribution Shifts" (recent, all or weighted data)
==================  ==================================================================
"""
