"""Wangge cases: the cases of a grid, their mediation, and care plans (提人知事, 提事知情)."""
