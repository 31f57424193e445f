"""Personalised exercise prescriptions: the best weekly plan for one person, searched on
the batched engine across the person's uncertainty, within safety rules (docs/prescribe.md).
"""
