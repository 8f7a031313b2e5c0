"""分析决策层: each role's home page and the management cockpit."""
