"""Seeing a run and a net: learning curves (`plot`), the statistics table (`stats`) and
drawings of a net (`draw`). Nothing here is imported by training."""
