"""The platform every screen stands on: database and transactions, settings, sign-in and users, the one policy of
who may do what, the audit trail, domain errors, texts and list helpers."""
