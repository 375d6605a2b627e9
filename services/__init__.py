"""Use cases of Interview Follow-up: plain functions over a SQLModel Session (no streamlit here)."""
