"""Model definitions: the one form (definition), its parsing and code generation."""
