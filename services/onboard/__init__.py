"""Onboard (协助入职): offers and their approval, the offer letter and the candidate's answer, onboarding plans from
templates, training sessions, the new hire's page, probation check-ins and the probation outcome."""
