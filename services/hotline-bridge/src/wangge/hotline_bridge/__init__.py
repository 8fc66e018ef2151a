"""The hotline bridge (提事知情): tickets of the 12345 government hotline, in and back out.

A ticket the hotline pushes is checked, sealed where it is personal, given its deadline from
the dispatch catalogue (派单目录) on the working-day calendar, and recorded; the grid worker
solves it at source, and the reply goes back to the hotline before the deadline.
"""
