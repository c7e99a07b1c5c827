"""shirtsim's web page: ``streamlit run app.py`` (the bundled demo catalog, or ``$SHIRTSIM_CATALOG``).

The page lives in the package (:mod:`shirtsim.web`): this file runs its router, the same one
``shirtsim app`` runs from an installed wheel. Settings: docs/settings.md.
"""

from shirtsim.web.app import main
from shirtsim.web.widgets import shielded

shielded(main)
