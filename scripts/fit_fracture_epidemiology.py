"""Refit the hazards of the fracture component and write them into
src/neurobone/data/fracture_epidemiology.csv (the coefficient rows).

    PYTHONPATH=src python scripts/fit_fracture_epidemiology.py
"""

from neurobone.model.components import fracture

if __name__ == "__main__":
    coefs = fracture.fit_epidemiology()
    fracture.write_coefficients(coefs)
    for k, v in sorted(coefs.items()):
        print(f"{k:18s} {v: .6f}")
