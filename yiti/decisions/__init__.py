"""Decisions: the customer value model (BG/NBD + Gamma-Gamma, CLV) and, later, tiers and the
next best action."""
