"""Batch matching for program officers: many queries in one job, optional constrained assignment."""
