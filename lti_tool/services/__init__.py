"""Use cases. Each opens one transaction (``Database.transaction()``) and does one job."""
