"""Chapter 5, "Feature Engineering".

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022):

==============  ======================================================================
``operations``  "Common Feature Engineering Operations": missing values, hashing,
                crosses, cyclical encodings; an AUC against the simulator's known
                fraud probability (free of label noise)
``leakage``     "Data Leakage": its causes, measured, and a leakage checker
``importance``  "Feature Importance" and "Feature Generalization"
==============  ======================================================================
"""
