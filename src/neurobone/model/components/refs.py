"""Citations used by the parameter tables (one place, so sources read the same everywhere)."""

KINDEL2026 = "Kindel et al. 2026, Neuron (VMH SF1 neurons, treadmill training)"
BERCHTOLD2010 = "Berchtold et al. 2010, Neuroscience 167:588"
VANPRAAG2005 = "van Praag et al. 2005, J Neurosci 25:8680"
CHEN2019 = "Chen et al. 2019, Nat Commun 10:181"
GAO2024 = "Gao et al. 2024, Bone Res, doi:10.1038/s41413-024-00316-w"
TAKEDA2002 = "Takeda et al. 2002, Cell 111:305"
ELEFTERIOU2005 = "Elefteriou et al. 2005, Nature 434:514"
KHOSLA2018 = "Khosla et al. 2018, J Clin Invest 128:4832"
TURNER1998 = "Turner 1998, Bone 23:399"
TURNER_ROBLING2003 = "Turner & Robling 2003, Exerc Sport Sci Rev 31:45"
ROBLING2002 = "Robling et al. 2002, J Bone Miner Res 17:1545"
ROBLING2008 = "Robling et al. 2008, J Biol Chem 283:5866"
SCHRIEFER2005 = "Schriefer et al. 2005, J Biomech 38:1838"
FROST1987 = "Frost 1987, Bone Miner 2:73 (mechanostat)"
SCHEINER2013 = "Scheiner, Pivonka & Hellmich 2013, Comput Methods Appl Mech Eng 254:181"
SUGIYAMA2010 = "Sugiyama et al. 2010, Bone 46:314"
LOOKER1998 = "Looker et al. 1998, Osteoporos Int 8:468 (NHANES III)"
MARSHALL1996 = "Marshall, Johnell & Wedel 1996, BMJ 312:1254"
GREENDALE2012 = "Greendale et al. 2012, J Bone Miner Res 27:111 (SWAN)"
NG1993 = "Ng et al. 1993, Hypertension 21:498 (MSNA rises with age)"
PARFITT = "Parfitt 1983 / Eriksen 1986 (trabecular turnover ~25 %/year in adult humans)"
GLATT2007 = "Glatt et al. 2007, J Bone Miner Res 22:1197 (age-related bone loss in C57BL/6J)"
BOUXSEIN2010 = "Bouxsein et al. 2010, J Bone Miner Res 25:1468"
RIGGS2002 = "Riggs, Khosla & Melton 2002, Endocr Rev 23:279 (estrogen and bone)"
NAKAMURA2007 = "Nakamura et al. 2007, Cell 130:811 (estrogen shortens osteoclast lifespan)"
HOFBAUER1999 = "Hofbauer et al. 1999, Endocrinology 140:4367 (estrogen raises OPG)"
EGHBALI2003 = ("Eghbali-Fatourechi et al. 2003, J Clin Invest 111:1221 "
               "(RANKL on marrow cells after menopause)")
WIJENAYAKA2011 = "Wijenayaka et al. 2011, PLoS One 6:e25900 (sclerostin raises osteocyte RANKL)"
LI2008 = "Li et al. 2008, J Bone Miner Res 23:860 (sclerostin knockout: high bone mass)"
HEALTHY_TURNOVER = ("Recker et al. 2004, J Bone Miner Res 19:1628 "
                    "(activation frequency, iliac biopsies)")
BTM_REF = ("Glover et al. 2009 / Eastell et al., IOF-IFCC reference intervals: "
           "P1NP ~45 ug/L, CTX ~0.3 ug/L in premenopausal women")
ASSUMED = "model assumption, documented in docs/model.md"
LEE2003 = "Lee et al. 2003, Nature 424:389 (bone adaptation requires oestrogen receptor-alpha)"

# --- added for the site-and-compartment model (issue 14); DOIs/PMIDs as verified in
# docs/evidence.md
SOWERS2008 = ("Sowers et al. 2008, J Clin Endocrinol Metab 93:3847, doi:10.1210/jc.2008-1056, "
              "PMID 18647803 (estradiol around the final menstrual period)")
RANDOLPH2011 = ("Randolph et al. 2011, J Clin Endocrinol Metab 96:746 (SWAN: estradiol falls "
                "from 2 years before to 2 years after the final menstrual period)")
KHOSLA1998 = ("Khosla et al. 1998, J Clin Endocrinol Metab 83:2266 (bioavailable estradiol "
              "falls with age in men)")
HOLGUIN2014 = ("Holguin et al. 2014, Bone 65:83, doi:10.1016/j.bone.2014.05.006, PMID 24836737 "
               "(ageing and loading in female C57BL/6)")
HALLORAN2002 = ("Halloran et al. 2002, J Bone Miner Res 17:1044, "
                "doi:10.1359/jbmr.2002.17.6.1044 (ageing in male C57BL/6J)")
BOUXSEIN2009 = ("Bouxsein et al. 2009, Endocrinology 150:144, doi:10.1210/en.2008-0843 "
                "(mice lacking beta1-3 adrenergic receptors)")
PIERROZ2012 = ("Pierroz et al. 2012, J Bone Miner Res 27:1252, doi:10.1002/jbmr.1594 "
               "(beta1 and beta2 adrenergic receptors in bone mass and loading)")
BONNET2007 = ("Bonnet et al. 2007, J Bone Miner Res 22:578, doi:10.1359/jbmr.070117 "
              "(treadmill running and propranolol in ovariectomised rats: not additive)")
ERIKSEN1986 = ("Eriksen 1986, Endocr Rev 7:379, doi:10.1210/edrv-7-4-379 (remodelling "
               "periods of human trabecular bone)")
RUFFONI2007 = ("Ruffoni et al. 2007, Bone 40:1308, doi:10.1016/j.bone.2007.01.012 "
               "(primary and secondary mineralisation)")
BOIVIN2003 = ("Boivin & Meunier 2003, Osteoporos Int 14 Suppl 3:S19 (mineralisation of "
              "bone; DOI/PMID not verified)")
LEREBOURS2020 = ("Lerebours et al. 2020, Bone (mineral density of cortical vs trabecular "
                 "bone; DOI/PMID not verified)")
SUN2021 = ("Sun et al. 2021, J Clin Invest 131:e138107, doi:10.1172/JCI138107, PMID 33021968 "
           "(VMH SF1 neurons sustain sympathetic, catabolic tone to bone)")
HU2020 = ("Hu et al. 2020, J Clin Invest 130:3483, doi:10.1172/JCI131554 (sensory nerves "
          "tune sympathetic tone to bone; inducible sensory denervation)")
WATSON2018 = ("Watson et al. 2018, J Bone Miner Res 33:211, doi:10.1002/jbmr.3284, "
              "PMID 28975661 (LIFTMOR)")
LEBLANC1990 = "LeBlanc et al. 1990, J Bone Miner Res 5:843 (17 weeks of bed rest)"
JOHNELL2005 = ("Johnell et al. 2005, J Bone Miner Res 20:1185, doi:10.1359/JBMR.050304 "
               "(gradients of fracture risk by BMD, age and sex)")
MANOLAGAS2000 = ("Manolagas 2000, Endocr Rev 21:115, doi:10.1210/er.21.2.115 (birth and "
                 "death of bone cells; osteoblast and osteoclast lifespans)")
STYNER2017 = ("Styner et al. 2017, J Bone Miner Res 32:1692, doi:10.1002/jbmr.3159, "
              "PMID 28436105 (wheel running: tibial BV/TV +19 %)")
