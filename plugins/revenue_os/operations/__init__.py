"""Operating the numbers: the decision log of what forums decided about KPI breaches."""
