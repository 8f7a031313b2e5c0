"""Yiti (一体): marketing and customer service as one system."""

__version__ = "0.1.0"
