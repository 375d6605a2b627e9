"""Interview Follow-up (面试后跟进): the frame around every page.

`streamlit run app.py` finds the `st.App` below and serves it (with the session-cookie routes);
each browser session then runs this file as `__main__`, which draws the frame and the chosen page.
"""

import streamlit as st

if __name__ == "__main__":
    from ui.frame import main

    main()
else:  # imported by the ASGI server that `streamlit run` starts
    from starlette.middleware import Middleware

    from server.lifespan import lifespan
    from server.middleware import ServerNameMiddleware
    from server.routes import ROUTES

    app = st.App(__file__, routes=ROUTES, lifespan=lifespan, middleware=[Middleware(ServerNameMiddleware)])
