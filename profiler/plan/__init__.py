"""Planning a run before it measures anything: how a run's budget is spent across comparison
groups, worker processes and rounds (torch-free)."""
