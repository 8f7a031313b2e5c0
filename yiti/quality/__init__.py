"""质量管理层: service quality indicators ranked by unit, and hot issues."""
