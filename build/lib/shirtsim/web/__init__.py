"""The web page (Streamlit): a router (:mod:`shirtsim.web.app`), one file per page in ``pages/``,
and the parts they share. The only place besides the top-level ``app.py`` that imports streamlit."""
