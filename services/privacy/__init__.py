"""Candidate privacy (PIPL / GDPR): notice and consent, retention and anonymisation, export, erasure and requests,
records of who looked at whose data."""
