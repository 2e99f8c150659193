"""Chapter 9, "Continual Learning and Test in Production".

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022):

================  =====================================================================
``retraining``    "Stateless Retraining Versus Stateful Training", "Four Stages of
                  Continual Learning" and "Continual Learning Challenges" (evaluation):
                  one scheduled loop (data, training, an evaluation gate) on the
                  marketplace with a concept drift; rows processed, AUC served,
                  corrupted updates refused or shipped
``freshness``     "How Often to Update Your Models": "Value of data freshness" and
                  "Model iteration versus data iteration": AUC against the age of the
                  training data (only labels that had arrived), retraining cadence
                  against compute (rows x fits), a gradual concept drift
``rollout``       "Test in Production": "Shadow Deployment" and "Canary Release":
                  canary releases on a share of the traffic, guarded by a sequential
                  two-proportion test that rolls a worse model back (time to rollback,
                  harm, false rollbacks against the share)
``experiments``   "Test in Production": "A/B Testing" and "Interleaving Experiments":
                  the sample size by power analysis, peeking against a fixed horizon,
                  Bonferroni and O'Brien-Fleming boundaries, and the users team-draft
                  interleaving needs against an A/B test
``bandits``       "Test in Production": "Bandits" and "Contextual bandits as an
                  exploration strategy": an A/B split, epsilon-greedy, UCB1, Thompson
                  sampling and LinUCB (river's rules, vectorized over experiments) and
                  the conversions each loses (cumulative regret)
================  =====================================================================
"""
