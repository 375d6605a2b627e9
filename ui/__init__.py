"""Streamlit helpers shared by the frame and the pages (the only package besides pages/ that imports streamlit)."""
