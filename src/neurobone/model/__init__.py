"""Models: the one form they are written in, the published models and the brain-bone
model, their subjects' rules, and the code generated from their formulas."""
