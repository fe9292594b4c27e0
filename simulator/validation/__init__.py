"""The published targets, their observation models, and the validation report."""
