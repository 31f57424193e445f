"""The brain-bone model's components, one biological module each.

exercise   exercise input -> afferent (interoceptive) and central neural drive
brain      circuit connectivity: labile and consolidated synaptic pools
autonomic  sympathetic tone to bone, beta-adrenergic receptors and blockers
mechanics  osteocyte mechanostat with an adapting set point -> sclerostin
systemic   estrogen and ageing
coupling   how the above modify the Pivonka bone-cell core (the mod_* hooks)
outcomes   bone volume, BV/TV, aBMD, T-score, turnover markers, fracture risk
"""
