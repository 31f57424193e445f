"""Data shipped with neurobone (modality table, target scenarios, studies)."""
