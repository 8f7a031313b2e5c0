"""Satisfaction and problem-customer reports: scheduled snapshots, their pages and exports."""
