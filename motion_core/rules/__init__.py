"""Cultural and physiological rules: packs, joint angles, taboo interception, limits, IK, priors, the audit."""
