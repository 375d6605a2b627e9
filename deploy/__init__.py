"""What an operator deploys: the nginx site (rendered here), systemd units, Dockerfile and compose file."""
