"""HTTP routes beside the Streamlit app (st.App): session cookie, health check, background work."""
