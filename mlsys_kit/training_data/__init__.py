"""Chapter 4, "Training Data".

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022):

====================  ================================================================
``sampling``          "Sampling": convenience, random, stratified, weighted, reservoir
                      and importance sampling
``labeling``          "Labeling": hand labels and their aggregation, lineage, natural
                      labels and their delay
``weak_supervision``  "Handling the Lack of Labels": labeling functions and a label model
``active_learning``   "Handling the Lack of Labels": uncertainty sampling
``imbalance``         "Class Imbalance": metrics, resampling, cost-sensitive losses
``augmentation``      "Data Augmentation": label-preserving and label-changing transforms
====================  ================================================================
"""
