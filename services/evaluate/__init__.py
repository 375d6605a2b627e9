"""Evaluate (面试评价): interview rounds and criteria, scheduling and invitations, scorecards, the debrief and the
decision."""
