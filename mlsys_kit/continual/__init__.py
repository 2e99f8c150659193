"""Chapter 9, "Continual Learning and Test in Production".

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022):

================  =====================================================================
``rollout``       "Test in Production": "Shadow Deployment" and "Canary Release":
                  canary releases on a share of the traffic, guarded by a sequential
                  two-proportion test that rolls a worse model back (time to rollback,
                  harm, false rollbacks against the share)
``bandits``       "Test in Production": "Bandits" and "Contextual bandits as an
                  exploration strategy": an A/B split, epsilon-greedy, UCB1, Thompson
                  sampling and LinUCB (river's rules, vectorized over experiments) and
                  the conversions each loses (cumulative regret)
================  =====================================================================
"""
