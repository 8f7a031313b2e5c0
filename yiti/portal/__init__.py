"""网上营业厅 / 掌上营业厅: the customer's own self-service portal."""
