"""Operating the numbers: the decision log (and, next, alerts and the reporting pack)."""
