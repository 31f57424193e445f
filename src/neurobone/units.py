"""Time units shared by every layer (one home for each constant)."""

#: days per year (Julian year: ages, rates per year, trajectories)
DAYS_PER_YEAR = 365.25
#: days per week (exercise weekdays, mouse ages in weeks)
DAYS_PER_WEEK = 7.0
