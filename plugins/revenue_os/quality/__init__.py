"""The data-quality gate: Soda Core v4 contracts run on the built mart before it is published."""
