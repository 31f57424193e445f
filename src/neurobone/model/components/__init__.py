"""The brain-bone model's components, one biological module each.

exercise       exercise input -> regional loads (axial, appendicular) and central drive
interoception  PGE2/EP4 skeletal afferent signal, at rest and with loading
brain          the plastic circuit: activity, connectivity (labile, consolidated), output
autonomic      sympathetic tone to bone; beta1 and beta2 receptors and blockers
mechanics      osteocyte mechanostat per region with an adapting set point -> sclerostin
systemic       sex steroids (women's menopause, men's decline, ovariectomy) and age
coupling       how the above modify each region's Pivonka bone-cell core (mod_* hooks)
skeleton       trabecular and cortical compartments per region: volume, mineralisation
outcomes       micro-CT, DXA aBMD, T-scores, turnover markers, fracture risk
"""
