"""分部门分产品核算: campaign economics, unit × product accounting and scorecards."""
