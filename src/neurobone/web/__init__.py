"""The local web app (``neurobone serve``): a prescription form and a study page over the
library's API (docs/web.md)."""
