"""Reports people read: the evaluation report, the dataset report (explore) and the figures."""
