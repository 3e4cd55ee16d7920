"""Screening: eligibility, sanctions and export control, effort, host-government concurrence."""
